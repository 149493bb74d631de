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
    let sample: [Task.Input]
    let workers: Int
    let configuration: ProcessPool.Configuration
    /// Target length of one group of calls in one worker.
    let groupSeconds: Double
    let rounds: Int

    /// What the test found: N workers' speed-up over one, or why there is none.
    enum Outcome {
        case measured(Estimate)
        case skipped(String)
    }

    /// Measures, stopping at `deadline` (monotonic nanoseconds) after the first complete round.
    func measure(callSeconds: Double, deadline: Int64) -> Outcome {
        guard workers >= 2, !sample.isEmpty else { return .skipped("process scaling: nothing to compare") }
        var pool: ProcessPool?
        defer { pool?.shutdown(wait: false, cancelPending: true) }
        do {
            var configuration = self.configuration
            configuration.workers = workers
            let started = try ProcessPool(configuration: configuration)
            pool = started
            // Two calls per worker, one at a time each: every worker pays its start and its
            // cold first call (a table built once per process) before anything is timed.
            try run(started, calls: 2 * workers, chunk: 1)
            let calls = max(1, min(100_000, Int((groupSeconds / max(callSeconds, 1e-9)).rounded(.up))))
            var speedups: [Double] = []
            for _ in 0..<max(1, rounds) {
                let single = try run(started, calls: calls, chunk: calls)
                let concurrent = try run(started, calls: workers * calls, chunk: calls)
                speedups.append(Double(workers) * Double(single) / Double(max(concurrent, 1)))
                if Clocks.monotonic() >= deadline { break }
            }
            return .measured(Statistics.estimate(Statistics.mean(speedups), spreadOf: speedups))
        } catch {
            return .skipped(
                "process scaling not measured: \(error) (the program must call WorkerEntry.runIfWorker with this task for workers to run it)"
            )
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
