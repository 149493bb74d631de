internal import Foundation
internal import PoolExecutors
internal import PoolProfiler

/// A profile of a range of inputs and what its calls computed, by offset in the range: an
/// output, the error of the call that stopped the profile, or nil where no call was made.
struct Sampled<Output: Sendable> {
    var profile: TaskProfile
    let seconds: Double
    let range: Range<Int>
    let outputs: [Result<Output, any Error>?]

    /// Outputs the profiler computed (kept, never recomputed).
    var keptCount: Int {
        outputs.count {
            if case .success? = $0 { return true }
            return false
        }
    }

    /// The job index of the first input the profile left for the executor.
    var firstUnreached: Int { range.lowerBound + (outputs.firstIndex { $0 == nil } ?? outputs.count) }
}

extension AutoExecutor {
    /// The profiler's settings for a job: each input called once (a repeat would run an input
    /// twice), and the first failure ends the profile (the job stops there anyway).
    func exactOnce(_ base: ProfilerOptions) -> ProfilerOptions {
        var options = base
        options.repeatsIdempotentInputs = false
        options.stopsAtFirstFailure = true
        // A worker limit holds in the profile too: no more copies at once than it allows, and
        // none at all at one (a task limited to one at a time may not bear two).
        if let maximum = self.options.maximumWorkers {
            if maximum <= 1 {
                options.scalingMinimumCPURatio = .infinity
                options.scalesComputeStage = false
            } else if let copies = options.scalingThreads {
                options.scalingThreads = min(copies, maximum)
            } else if maximum < min(4, Machine.usableCores) {
                // Below the profiler's usual copies (the cores, at most 4; twice that beside a
                // busy program, which a limit also caps, at the limit's count).
                options.scalingThreads = maximum
            }
        }
        return options
    }

    /// Whether every call of `task` must happen in a worker process: it is crash-prone (its
    /// crash must cost an input, not the program), or a task timeout is set (only a worker can
    /// be stopped when a call runs too long).
    func runsInWorkers<Task: PoolTask>(_ task: Task.Type) -> Bool {
        Task.traits.contains(.crashProne) || options.processes.hasTaskTimeout
    }

    /// The executor's plan: the recommendation's, except that a task that must run in workers
    /// (``runsInWorkers(_:)``) always does, whatever the rules say.
    /// Within ``Options/maximumWorkers``.
    func plan<Task: PoolTask>(_ recommendation: Recommendation, for task: Task.Type) -> ExecutionPlan {
        let plan = ExecutionPlan(recommendation)
        guard runsInWorkers(task), plan.mode != .processes else { return limited(plan) }
        let workers = plan.mode == .serial ? 1 : max(1, plan.workers)
        // The advice's chunk (a pipeline plan has none of its own: its rule's `chunk` is the
        // recommendation's).
        return limited(ExecutionPlan(mode: .processes, workers: workers, chunkSize: recommendation.chunkSize))
    }

    /// `plan` within ``Options/maximumWorkers``.
    func limited(_ plan: ExecutionPlan) -> ExecutionPlan {
        options.maximumWorkers.map { plan.limited(toWorkers: $0) } ?? plan
    }

    /// Fails up front when no worker could run `task`, whatever mode the advice will pick.
    ///
    /// Workers of this executable serve the tasks this program passed to
    /// `WorkerEntry.runIfWorker(tasks:)`, which records them: a lookup, no process. Another
    /// executable's list is only known by asking one of its workers, so the first input runs
    /// there (its output is kept and returned, so it does not run again).
    func checkRegistered<Task: PoolTask>(_ task: Task.Type, _ inputs: [Task.Input], _ progress: ProgressCounter?)
        throws -> [Task.Output]
    {
        if options.processes.executable == .current {
            try WorkerEntry.checkRegistered(task)
            return []
        }
        guard let first = inputs.first else { return [] }
        do {
            let output = try inWorker(task, first)
            progress?.add(1)
            return [output]
        } catch let error as PoolError where error.code == .unknownTask {
            throw error
        } catch {
            throw MapError(index: 0, error: error)
        }
    }

    /// One call in a worker process of its own (started and stopped here).
    func inWorker<Task: PoolTask>(_ task: Task.Type, _ input: Task.Input) throws -> Task.Output {
        let pool = try ProcessPool(configuration: options.processes.onThisMachine(workers: 1))
        defer { pool.shutdown() }
        return try pool.submit(task, input).result()
    }

    /// Profiles `range` (each input once, outputs kept): in this process, counting `prior` calls
    /// made on this thread as its first, or, for a crash-prone task, in a worker process of its own.
    func profile<Task: PoolTask>(
        _ task: Task.Type, _ inputs: [Task.Input], _ range: Range<Int>, _ profilerOptions: ProfilerOptions,
        isolated: Bool, after prior: PriorCalls = PriorCalls(), priorOutputs: [Task.Output] = []
    ) throws -> Sampled<Task.Output> {
        let clock = ContinuousClock()
        let started = clock.now
        let profiler = Profiler(options: profilerOptions, machine: advisor.costMachine(cores: Machine.usableCores))
        let measured: ProfiledRun<Task.Output>
        if isolated {
            let pool = try ProcessPool(configuration: options.processes.onThisMachine(workers: 1))
            defer { pool.shutdown() }
            measured = try profiler.measure(
                task, sample: Array(inputs[range]), in: pool, reportingIndexes: Array(range))
            // No worker serves the task: the same error as a registration check, up front.
            if case .failure(let error as PoolError)? = measured.outputs.first, error.code == .unknownTask {
                throw error
            }
        } else {
            measured = try profiler.measure(
                task, sample: Array(inputs[range]), after: prior, priorOutputs: priorOutputs)
        }
        return Sampled(
            profile: measured.profile, seconds: (clock.now - started).seconds, range: range,
            outputs: Array(measured.outputs.prefix(range.count)))
    }

    /// Delivers `before` and a profiled range's outputs in input order, running the inputs the
    /// profiler did not reach with `executor`. At the lowest failing index (a profiled call's
    /// error, or an executor run's) every output before it is delivered, then its ``MapError``
    /// is thrown. Returns what the executor's share took: inputs, wall seconds and its thread
    /// workers' CPU seconds (zeros when the profile reached every input).
    @discardableResult
    func complete<Task: PoolTask>(
        _ sampled: Sampled<Task.Output>, _ task: Task.Type, _ inputs: [Task.Input], _ executor: Executor,
        _ progress: ProgressCounter?, before: [Task.Output], _ deliver: ([Task.Output]) throws -> Void
    ) throws -> (items: Int, seconds: Double, cpuSeconds: Double) {
        let base = sampled.range.lowerBound
        let failed = sampled.outputs.firstIndex {
            if case .failure? = $0 { return true }
            return false
        }
        let limit = failed ?? sampled.outputs.count
        let missing = (0..<limit).filter { sampled.outputs[$0] == nil }
        var computed: [Task.Output] = []
        var missingFailure: MapError?
        var ran = (items: 0, seconds: 0.0, cpuSeconds: 0.0)
        if !missing.isEmpty {
            let clock = ContinuousClock()
            let started = clock.now
            let cpu = executor.threadWorkersCPUSeconds
            // The batch path, not a stream: tiny calls leave thousands of inputs unreached, and
            // a completion per item would cost more than the calls.
            let gathered = missing.map { inputs[base + $0] }
            let (outputs, failure) = executor.startBatch(
                task, gathered, 0..<gathered.count, jobIndexes: missing.map { base + $0 }, progress: progress
            ).wait()
            computed = outputs
            missingFailure = failure
            ran = (missing.count, (clock.now - started).seconds, executor.threadWorkersCPUSeconds - cpu)
        }
        var batch = before
        batch.reserveCapacity(before.count + limit)
        var next = computed.makeIterator()
        for offset in 0..<limit {
            if case .success(let value)? = sampled.outputs[offset] {
                batch.append(value)
            } else if let value = next.next() {
                batch.append(value)
            } else {
                try deliver(batch)
                // Fewer outputs than inputs sent only when the executor stopped at a failure.
                guard let missingFailure else { preconditionFailure("BUG: the executor lost input \(base + offset)") }
                throw missingFailure
            }
        }
        try deliver(batch)
        if let failed, case .failure(let error)? = sampled.outputs[failed] {
            throw MapError(index: base + failed, error: error)
        }
        return ran
    }
}
