import PoolExecutors

/// Runs the process-scaling test: rounds of one group of calls in one worker process, then one
/// group in each of N workers at once, and reports N workers' throughput over one's.
///
/// Copies on threads that speed up only part-way may be queuing on something of this process's
/// own (a lock, the allocator: processes escape it) or on the machine's (the memory bus, a
/// shared cache: processes queue on it too, and pay start-up and copies on top). Only running
/// the task in processes tells the two apart. Groups are timed from sending to the last result,
/// so a round trip and the coding weigh in as they do in a real run (groups are long enough for
/// that to be a few per cent at most); each worker's cold start is paid before the rounds.
struct ProcessScalingProbe<Task: PoolTask> {
    /// Whether the test can decide something after the thread-scaling test measured `scaling`
    /// on calls of `callSeconds`: on a quiet host, copies on threads short of the
    /// cores by more than 5 % (a serial fraction above 0.05 on two). Even copies that count as
    /// scaling (the rules' serial fraction of 0.15 or less) may lose a tenth to something of this
    /// process's own, such as the allocator JSON coding keeps busy, which processes escape.
    /// Beside busy programs (a noisy host) the threads' speed-up under the same load
    /// (``ScalingProfile/speedupUnderLoad``) is what the processes are compared with, whatever
    /// its value: the neighbours take the same share from both, so only what the threads share
    /// in this process tells them apart. Only when the copies outnumbered the `cores`, as the
    /// rules that read the comparison require.
    /// Calls under ``shortestCall`` are not tested: coding and piping each item would weigh more
    /// than the call, so the figure would time the pipes, which the cost model already prices
    /// (with it, the demo's processes column for the 1 µs `tiny` task was predicted at 45–54 s
    /// in two runs where it ran in 0.3 s).
    static func canDecide(after scaling: ScalingProfile, callSeconds: Double, cores: Int = Machine.usableCores)
        -> Bool
    {
        guard callSeconds.isFinite, callSeconds >= shortestCall else { return false }
        if scaling.noisyHost { return scaling.threads > cores && scaling.speedupUnderLoad?.value.isFinite == true }
        guard let speedup = scaling.speedup?.value, speedup.isFinite else { return false }
        return speedup < 0.95 * Double(max(2, scaling.threads))
    }

    /// The shortest call the test runs on: about fifty times a worker's per-item cost.
    static var shortestCall: Double { 50e-6 }

    let sample: [Task.Input]
    let workers: Int
    let configuration: ProcessPool.Configuration
    /// Target length of one group of calls in one worker.
    let groupSeconds: Double
    let rounds: Int
    /// Paired rounds may go on to this many while they cannot tell processes from threads.
    var maximumRounds = 0

    /// A round of copies on threads with the given calls per run, returning their speed-up
    /// (``ScalingProbe/run(copies:calls:deadline:)`` once on one thread, then on N), or nil.
    /// When given, each process round is paired with one: see ``measure(callSeconds:deadline:)``.
    var threadRound: ((Int) throws -> Double)?

    /// What the test found: N workers' speed-up over one, or why there is none. `overThreads`
    /// is the processes' speed-up over the threads' in rounds run side by side, when paired.
    enum Outcome {
        case measured(Estimate, overThreads: Estimate?)
        case skipped(String)
    }

    /// Measures, stopping at `deadline` (monotonic nanoseconds) after the first complete round;
    /// workers that have not started by then make it give up.
    func measure(callSeconds: Double, deadline: Int64) -> Outcome {
        guard workers >= 2, !sample.isEmpty else { return .skipped("process scaling: nothing to compare") }
        let left = Double(deadline - Clocks.monotonic()) / 1e9
        guard left > 0 else { return .skipped("process scaling not measured: the budget was spent") }
        var pool: ProcessPool?
        do {
            var configuration = self.configuration.onThisMachine(workers: workers)
            // A worker that never answers must not hold the profile past its budget.
            configuration.startTimeout = min(configuration.startTimeout, .milliseconds(Int64(min(left, 3600) * 1000)))
            let started = try ProcessPool(configuration: configuration)
            pool = started
            // Every worker must be up and have paid its cold first call (a table built once per
            // process) before anything is timed: two calls per worker, one at a time each, then
            // again until every worker has answered.
            try run(started, calls: 2 * workers, chunk: 1)
            while started.workerProcessIDs.count < workers {
                guard Clocks.monotonic() < deadline else {
                    started.terminate()
                    return .skipped(
                        "process scaling not measured: \(workers) workers did not all start within the budget")
                }
                try run(started, calls: 2 * workers, chunk: 1)
            }
            try run(started, calls: 2 * workers, chunk: 1)
            let wanted = groupSeconds / max(callSeconds, 1e-9)
            let calls = wanted.isFinite ? Int(min(100_000, max(1, wanted)).rounded(.up)) : 1
            // The host's speed drifts in phases of a fraction of a second on a VM (a call's
            // CPU time swung 0.61 to 1.05 ms between text-words' rounds, its threads' E_cpu
            // 0.75 to 1.0 with them), and processes share what the host withholds. Rounds on
            // threads and in processes measured a second apart compare two phases, not two
            // modes; paired round by round (alternating which goes first, so a trend falls on
            // both alike) they compare the modes.
            // Paired rounds that cannot yet tell the modes apart after the minimum (the ratio's
            // interval still holds 1) go on to `maximumRounds` and are judged once at the end:
            // stopping at the first round whose interval left 1 would look up to six times and
            // let chance move a job to processes far more often than the interval's 5 %.
            var speedups: [Double] = []
            var overThreads: [Double] = []
            var lastRound: Int64 = 0
            for round in 0..<max(1, rounds, maximumRounds) {
                let roundStart = Clocks.monotonic()
                if round >= max(1, rounds) {
                    // An extra round must also end within the budget, if it lasts as the last one.
                    guard threadRound != nil, overThreads.count == speedups.count,
                        roundStart + lastRound < deadline
                    else { break }
                    if round == max(1, rounds) {
                        let ratio = Statistics.estimate(Statistics.mean(overThreads), spreadOf: overThreads)
                        if !(ratio.low <= 1 && ratio.high >= 1) { break }
                    }
                }
                defer { lastRound = Clocks.monotonic() - roundStart }
                let threadsFirst = round % 2 == 0
                var threads = try threadsFirst ? threadRound?(calls) : nil
                let single = try run(started, calls: calls, chunk: calls)
                let concurrent = try run(started, calls: workers * calls, chunk: calls)
                let speedup = Double(workers) * Double(single) / Double(max(concurrent, 1))
                speedups.append(speedup)
                if !threadsFirst { threads = try threadRound?(calls) }
                if let threads, threads.isFinite, threads > 0, (speedup / threads).isFinite {
                    overThreads.append(speedup / threads)
                }
                if Clocks.monotonic() >= deadline { break }
            }
            started.shutdown(wait: false, cancelPending: true)
            let paired = overThreads.count == speedups.count && !overThreads.isEmpty
            return .measured(
                Statistics.estimate(Statistics.mean(speedups), spreadOf: speedups),
                overThreads: paired ? Statistics.estimate(Statistics.mean(overThreads), spreadOf: overThreads) : nil)
        } catch {
            // Batches already in workers must not go on computing while the profile moves on.
            pool?.terminate()
            let hint =
                error is PoolError
                ? " (a program that sets ProfilerOptions.processScaling must call WorkerEntry.runIfWorker with this task first thing)"
                : ""
            return .skipped("process scaling not measured: \(error)\(hint)")
        }
    }

    /// Sends `calls` inputs (cycling through the sample) in chunks of `chunk` and waits for all
    /// of them; returns the wall time in nanoseconds. A failed call fails the test.
    @discardableResult
    private func run(_ pool: ProcessPool, calls: Int, chunk: Int) throws -> Int64 {
        let inputs = (0..<calls).map { sample[$0 % sample.count] }
        let start = Clocks.monotonic()
        let completions = try pool.mapUnordered(Task.self, inputs, chunkSize: chunk)
        for completion in completions.blocking { _ = try completion.result.get() }
        return Clocks.monotonic() - start
    }
}
