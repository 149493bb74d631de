public import PoolExecutors

extension Profiler {
    /// Profiles `task` with every call made in `pool`'s worker processes, never in this one:
    /// the form for a task declared ``TaskTraits/crashProne``, whose crash must cost an input,
    /// not the program.
    ///
    /// Each input is called once (whatever the task's idempotence), in groups sent to the pool
    /// one at a time. A group's time is measured here, from sending it to its last result, and
    /// its CPU time is the worker's own (`/proc/PID/schedstat`), so the CPU ratio is the
    /// task's as it runs in a worker, round trips included (groups last at least 2 ms so that
    /// they weigh little). There is no thread-scaling test (copies on threads would run in this
    /// process) and no wait classification; the notes say so. A crash fails its input with the
    /// pool's error, kept in ``ProfiledRun/outputs`` at that input's index.
    ///
    /// ```swift
    /// let pool = try ProcessPool(workers: 1)
    /// let run = try Profiler().measure(Decoder.self, sample: files, in: pool)
    /// ```
    /// - Throws: ``ProfilerError`` for an empty sample, or when every call failed (unless
    ///   ``ProfilerOptions/stopsAtFirstFailure``, where the failure is in the outputs).
    public func measure<Task: PoolTask>(_ task: Task.Type, sample: [Task.Input], in pool: ProcessPool) throws
        -> ProfiledRun<Task.Output>
    {
        try measure(task, sample: sample, in: pool, reportingIndexes: nil)
    }

    /// ``measure(_:sample:in:)`` for a sample the caller knows by `reportingIndexes` (one per
    /// input) in a larger job: a crash's error names those indexes.
    package func measure<Task: PoolTask>(
        _ task: Task.Type, sample: [Task.Input], in pool: ProcessPool, reportingIndexes: [Int]?
    ) throws -> ProfiledRun<Task.Output> {
        guard !sample.isEmpty else { throw ProfilerError.emptySample(task: Task.name) }
        let origin = Clocks.monotonic()
        let runner = WorkerCallRunner<Task>(
            sample: sample, pool: pool, options: options, reportingIndexes: reportingIndexes ?? Array(sample.indices))
        let serial = SerialPhase(
            callGroup: runner.callGroup, read: runner.read, measuresRunQueue: ProcFS.hasSchedulerStatistics,
            minimumGroupNanoseconds: 2_000_000)
        // The first call starts the worker and pays its cold start: not measured (kept), and
        // not a warm-up either, since the worker's start is in it.
        if sample.count > 1 { serial.warmUp(recordsFirstCall: false) }
        serial.run(origin: origin) { elapsed, ratio in
            if serial.records.count >= options.maximumCalls || elapsed >= options.maximumSeconds { return true }
            if runner.isExhausted { return true }
            guard serial.records.count >= options.minimumCalls, elapsed >= options.minimumSeconds else { return false }
            return (options.thresholds["cpu_ratio"] ?? []).allSatisfy(ratio.isClear)
        }
        let failures = runner.failures
        if !options.stopsAtFirstFailure, runner.calls > 0, runner.failedCalls == runner.calls,
            let first = failures.first
        {
            throw ProfilerError.everyCallFailed(task: Task.name, calls: runner.calls, first: first)
        }
        let calls = serial.summary(samplerCPU: 0)
        let outputs = runner.outputs.compactMap { try? $0?.get() }
        let shipping = PayloadProbe.measure(
            task, inputs: sample, outputs: outputs, cpuSecondsPerCall: calls.threadCPUSecondsPerCall, machine: machine,
            budgetSeconds: PayloadProbe.budget(
                maximumSeconds: options.maximumSeconds, origin: origin, now: Clocks.monotonic()))
        var notes = [
            "profiled in a worker process (the task is crash-prone): times include the round trips, the CPU is the worker's; no thread-scaling test and no wait classification"
        ]
        if runner.isExhausted, !runner.isStopped {
            notes.append("the sample ran out after \(runner.calls) calls (each input is called once)")
        }
        notes += PayloadProbe.budgetNotes(shipping)
        if !ProcFS.hasSchedulerStatistics {
            notes.append("no /proc/PID/schedstat on this system: the worker's CPU time is not measured")
        }
        let figures = [
            DecidingFigure(
                name: "cpu_ratio", estimate: calls.cpuRatio, thresholds: options.thresholds["cpu_ratio"] ?? [])
        ]
        if figures.contains(where: \.isBorderline) {
            notes.append("borderline: cpu_ratio still straddles a threshold after the budget")
        }
        var profile = TaskProfile(
            task: Task.name,
            host: HostFacts(
                usableCores: Machine.usableCores, hasProcFS: ProcFS.isAvailable,
                hasSchedulerStatistics: ProcFS.hasSchedulerStatistics),
            profilingSeconds: (Clocks.monotonic() - origin).seconds, calls: calls, waits: nil, scaling: nil,
            scalingSkippedReason:
                "the task is crash-prone: its calls run only in worker processes, not on threads here",
            payload: shipping, figures: figures, failures: failures, notes: notes)
        profile.declared = TaskDeclaration(of: task)
        return ProfiledRun(profile: profile, outputs: runner.outputs)
    }
}

/// Makes the profiler's calls in a process pool, each input once, and reads the worker's CPU.
final class WorkerCallRunner<Task: PoolTask> {
    let sample: [Task.Input]
    let pool: ProcessPool
    let stopsAtFirstFailure: Bool
    /// The job's index of each sample input, for the pool's errors.
    let reportingIndexes: [Int]
    private(set) var outputs: [Result<Task.Output, any Error>?]
    private(set) var failures: [ProfiledFailure] = []
    private(set) var calls = 0
    private(set) var failedCalls = 0
    private(set) var isStopped = false
    private var nextFresh = 0
    /// The worker's schedstat file, reopened when the worker changes (after a crash).
    private var statistics: (pid: Int32, file: ProcFile)?
    /// The latest reading, added up over every worker this profile used: a replacement's
    /// counters start at zero, and a call read across the change came out negative ("a call
    /// computes only -1.0% of its time" after a timeout killed a worker mid-profile).
    private var latest: (run: Int64, waiting: Int64) = (0, 0)
    /// What the workers before the current one ran and waited, by their last readings.
    private var earlier: (run: Int64, waiting: Int64) = (0, 0)

    init(sample: [Task.Input], pool: ProcessPool, options: ProfilerOptions, reportingIndexes: [Int]) {
        self.reportingIndexes = reportingIndexes
        self.sample = sample
        self.pool = pool
        stopsAtFirstFailure = options.stopsAtFirstFailure
        outputs = Array(repeating: nil, count: sample.count)
    }

    var isExhausted: Bool { nextFresh == sample.count || isStopped }

    /// Sends the next `count` inputs as one group and waits for all of them; returns how many
    /// were sent.
    func callGroup(_ count: Int) -> Int {
        guard !isStopped else { return 0 }
        let group = nextFresh..<(nextFresh + min(count, sample.count - nextFresh))
        guard !group.isEmpty else { return 0 }
        nextFresh = group.upperBound
        calls += group.count
        do {
            let completions = try pool.mapUnordered(
                Task.self, sample[group], chunkSize: group.count, reportingIndexes: Array(reportingIndexes[group]))
            for completion in completions.blocking {
                let index = group.lowerBound + completion.index
                outputs[index] = completion.result
                if case .failure(let error) = completion.result { record(error, at: index) }
            }
        } catch {
            // The pool refused the group (it could not start a worker): every input of it fails.
            for index in group { outputs[index] = .failure(error) }
            record(error, at: group.lowerBound)
            failedCalls += group.count - 1
        }
        return group.count
    }

    private func record(_ error: any Error, at index: Int) {
        failedCalls += 1
        if stopsAtFirstFailure { isStopped = true }
        if failures.count < 16 {
            failures.append(
                ProfiledFailure(
                    inputIndex: index, errorType: String(reflecting: type(of: error)),
                    message: String(describing: error)))
        }
    }

    /// The wall clock here and the worker's run and run-queue time (zero until it started).
    func read() -> ProbeReading {
        let wall = Clocks.monotonic()
        if let pid = pool.workerProcessIDs.first {
            if statistics?.pid != pid, let file = ProcFile("/proc/\(pid)/schedstat") {
                if statistics != nil { earlier = latest }
                statistics = (pid, file)
            }
            let pair = statistics?.file.withContents { bytes -> (Int64, Int64)? in
                guard let first = parseNumber(bytes, from: 0), let second = parseNumber(bytes, from: first.end) else {
                    return nil
                }
                return (first.value, second.value)
            }
            if let (ran, waited) = pair ?? nil {
                // Never below the last reading: between a death and its replacement there is
                // no worker to read.
                latest = (max(latest.run, earlier.run + ran), max(latest.waiting, earlier.waiting + waited))
            }
        }
        return ProbeReading(
            wall: wall, threadCPU: latest.run, run: latest.run, runQueue: latest.waiting, processCPU: latest.run,
            childrenCPU: 0, voluntarySwitches: 0, involuntarySwitches: 0)
    }
}
