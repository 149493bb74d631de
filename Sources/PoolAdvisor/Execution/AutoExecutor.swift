internal import Foundation
public import PoolExecutors
public import PoolProfiler
internal import PoolRules

/// Decides and runs in one call: profiles the task on the first inputs, asks the ``Advisor``,
/// then runs the rest as recommended. The profiling calls' outputs are kept, never recomputed.
///
/// ```swift
/// let run = try AutoExecutor().run(Checksum.self, paths)
/// print(run.recommendation?.summary ?? "serial")   // what it chose, and `explanation` for why
/// let sums = run.outputs                           // in input order
/// ```
///
/// On long runs it keeps watching: the rest is run in batches of about
/// ``Options/watchSeconds`` each, and when a batch's time per item exceeds
/// ``Options/driftFactor`` times the best batch so far, the task is profiled again on the next inputs (their outputs kept as
/// well) and the executor switches if the new recommendation differs. ``AutoRun/switches``
/// records each switch and why.
public final class AutoExecutor: Sendable {
    /// How much to profile and how closely to watch.
    public struct Options: Sendable {
        /// Inputs to profile on (the first ones), at least.
        public var sampleSize = 32
        /// The most inputs to profile on: for tiny calls the sample grows up to the calls the
        /// profiler's serial phase can make, so their outputs are kept, not recomputed.
        public var maximumSampleSize = 200_000
        /// The profiler's settings; shorter than ``ProfilerOptions``' defaults, since the
        /// profiling time is part of the job.
        public var profiler: ProfilerOptions
        /// Worker settings for process pools (executable, environment, timeouts). With a
        /// `taskTimeout`, every call (profiling included) runs in worker processes, since only
        /// a worker can be stopped when a call runs too long.
        public var processes = ProcessPool.Configuration()
        /// Predicted seconds of work per watched batch.
        public var watchSeconds = 1.0
        /// A batch whose time per item exceeds this many times the best batch so far (same plan)
        /// counts as drift.
        public var driftFactor = 2.0
        /// Most re-profilings per run.
        public var maximumSwitches = 2
        /// Batches shorter than this are never judged (too short to measure reliably).
        public var driftMinimumSeconds = 0.2
        /// Profiling may take at most this share of the job's likely parallel time, estimated
        /// from the first input (run alone, its output kept), within ``minimumProfileSeconds``
        /// and the profiler's own `maximumSeconds`. A short job is profiled briefly; a long one fully.
        public var profileShare = 0.05
        /// The least time spent profiling, however short the job.
        public var minimumProfileSeconds = 0.05

        /// The defaults: 32 profiled inputs, a profiling budget of 5 % of the job, 1 s watched batches, 2× drift.
        public init() {
            var profiler = ProfilerOptions()
            profiler.minimumCalls = 10
            profiler.minimumSeconds = 0.3
            profiler.maximumSeconds = 1.5
            self.profiler = profiler
        }
    }

    /// The advisor asked for the plan (its rules and machine).
    public let advisor: Advisor
    /// How much to profile and how closely to watch.
    public let options: Options

    /// An executor that asks `advisor` (the default rules and this machine's cached calibration
    /// by default).
    public init(advisor: Advisor = Advisor(), options: Options = Options()) {
        self.advisor = advisor
        self.options = options
    }

    /// Profiles, decides and runs; returns the outputs in input order with the decision.
    /// - Throws: ``MapError`` with the first failing input index (a failure among the profiled
    ///   inputs stops the job before the rest runs); ``PoolError`` if a pool cannot start.
    /// - Parameter progress: counts finished items, profiled ones included, as they finish.
    public func run<Task: PoolTask>(
        _ task: Task.Type, _ inputs: some Collection<Task.Input>, progress: ProgressCounter? = nil
    ) throws -> AutoRun<Task.Output> {
        var outputs: [Task.Output] = []
        outputs.reserveCapacity(inputs.count)
        let report = try run(task, Array(inputs), progress: progress) { outputs.append(contentsOf: $0) }
        return AutoRun(outputs: outputs, report: report)
    }

    /// Profiles, decides and runs, handing each output to `body` in input order instead of
    /// collecting them: the profiled inputs' outputs first, then each watched batch's as the
    /// batch ends (about ``Options/watchSeconds`` apart), so a long job's outputs can be written
    /// as it goes.
    ///
    /// ```swift
    /// let report = try AutoExecutor().run(Checksum.self, paths) { index, sum in
    ///     print(paths[index], sum)
    /// }
    /// print(report.recommendation?.summary ?? "serial")
    /// ```
    /// - Throws: as ``run(_:_:progress:)``; an error thrown by `body` stops the job and is
    ///   rethrown as it is.
    public func run<Task: PoolTask>(
        _ task: Task.Type, _ inputs: some Collection<Task.Input>, progress: ProgressCounter? = nil,
        forEachOutput body: (_ index: Int, _ output: Task.Output) throws -> Void
    ) throws -> AutoReport {
        var index = 0
        return try run(task, Array(inputs), progress: progress) { batch in
            for output in batch {
                try body(index, output)
                index += 1
            }
        }
    }

    /// The engine of both forms: outputs leave in input order, a batch at a time, through
    /// `deliver`, so collecting them costs one append per batch, not a call per item (tasks of a
    /// microsecond would feel that).
    ///
    /// Every input runs exactly once: the first calls, the profiler's calls (each on a fresh
    /// input, its output kept) and the batches partition the job. On a failure, every output
    /// before the lowest failing index is delivered before the ``MapError`` is thrown.
    private func run<Task: PoolTask>(
        _ task: Task.Type, _ inputs: [Task.Input], progress: ProgressCounter?,
        deliver: ([Task.Output]) throws -> Void
    ) throws -> AutoReport {
        let started = Date()
        // Up front, whatever mode follows: a task no worker could run fails here, the same way
        // on every machine, not only when processes happen to be chosen.
        var outputs = try checkRegistered(task, inputs, progress)
        let isolated = runsInWorkers(task)
        guard inputs.count - outputs.count >= 2 || (isolated && inputs.count > outputs.count) else {
            // Too few to profile: the rest runs serially (a crash-prone call in a worker).
            while outputs.count < inputs.count {
                let index = outputs.count
                do {
                    outputs.append(isolated ? try inWorker(task, inputs[index]) : try Task.run(inputs[index]))
                } catch {
                    try deliver(outputs)
                    throw MapError(index: index, error: error)
                }
                progress?.add(1)
            }
            try deliver(outputs)
            return AutoReport(
                profile: nil, recommendation: nil, profiledItems: inputs.count, switches: [],
                profilingSeconds: 0, totalSeconds: Date().timeIntervalSince(started))
        }
        let first: Sampled<Task.Output>
        var profilerOptions = exactOnce(options.profiler)
        if isolated {
            // A crash-prone task is never called in this process: no first calls timed here,
            // a sample profiled in a worker.
            let count = min(inputs.count - outputs.count, max(1, options.sampleSize))
            first = try profile(task, inputs, outputs.count..<(outputs.count + count), profilerOptions, isolated: true)
        } else {
            let timing = try timeFirstCalls(task, inputs, &outputs, progress, deliver)
            profilerOptions = budgeted(profilerOptions, timing: timing, items: inputs.count)
            // The profiler takes a fresh input for every call (serial phase and each scaling
            // thread) and keeps every output: a sample as long as the budget can get through,
            // whose unreached rest simply runs with the executor.
            let reachable = Int(min(1e9, 2 * profilerOptions.maximumSeconds / max(timing.wallSeconds, 1e-9)))
            let count = min(
                max(1, options.sampleSize, min(reachable, options.maximumSampleSize)), inputs.count - outputs.count)
            first = try profile(task, inputs, outputs.count..<(outputs.count + count), profilerOptions, isolated: false)
        }
        let timed = outputs.count
        var recommendation = advisor.recommend(first.profile, items: inputs.count)
        var profilingSeconds = first.seconds
        var profiledItems = timed + first.keptCount
        progress?.add(first.keptCount)
        var plan = self.plan(recommendation, for: task)
        var executor = Executor(plan: plan, processes: options.processes)
        defer { executor.shutdown() }
        try complete(first, task, inputs, executor, progress, before: outputs, deliver)
        var done = first.range.upperBound
        var model = CostModel(profile: first.profile, machine: advisor.machine ?? .typical(cores: Machine.usableCores))
        var switches: [ModeSwitch] = []
        // The best time per item measured so far with the current plan: drift is judged against
        // what this machine actually did, which a loaded host slows as much as the batch itself.
        var reference = Double.infinity
        while done < inputs.count {
            let start = done
            let end = min(inputs.count, start + batchSize(plan: plan, model: model))
            let clock = Date()
            let batch = try runBatch(task, inputs, start..<end, executor, progress, deliver)
            // Timed before delivery: the caller's handling of the outputs is not the task's speed.
            let elapsed = Date().timeIntervalSince(clock)
            try deliver(batch)
            done = end
            let perItem = elapsed / Double(end - start)
            // The first batch of a plan only sets the reference (it also pays the pools' start).
            guard reference.isFinite, switches.count < options.maximumSwitches,
                inputs.count - done >= 2 * first.range.count, elapsed > options.driftMinimumSeconds,
                perItem > options.driftFactor * reference
            else {
                reference = min(reference, perItem)
                continue
            }
            let again = try profile(
                task, inputs, done..<(done + first.range.count), exactOnce(options.profiler), isolated: isolated)
            profilingSeconds += again.seconds
            profiledItems += again.keptCount
            progress?.add(again.keptCount)
            let next = advisor.recommend(again.profile, items: inputs.count - done)
            let nextPlan = self.plan(next, for: task)
            model = CostModel(profile: again.profile, machine: advisor.machine ?? .typical(cores: Machine.usableCores))
            if nextPlan != plan {
                switches.append(
                    ModeSwitch(
                        atIndex: again.range.upperBound, from: plan, to: nextPlan,
                        reason:
                            "a batch of \(end - start) took \(NumberText.seconds(perItem)) an item, \(NumberText.fixed(perItem / reference, decimals: 1))× the best batch so far; profiled again: \(next.summary)"
                    ))
                executor.shutdown()
                plan = nextPlan
                recommendation = next
                executor = Executor(plan: plan, processes: options.processes)
                reference = .infinity
            } else {
                reference = perItem  // same advice: the slower rate is the new normal
            }
            try complete(again, task, inputs, executor, progress, before: [], deliver)
            done = again.range.upperBound
        }
        return AutoReport(
            profile: first.profile, recommendation: recommendation, profiledItems: profiledItems,
            switches: switches, profilingSeconds: profilingSeconds, totalSeconds: Date().timeIntervalSince(started))
    }

    /// Runs the first inputs alone, timed (up to 16 calls or 5 ms), keeping their outputs in
    /// `outputs`; returns the time of one call. The fastest call, since a first call is cold.
    /// A failure delivers the outputs before it and throws its ``MapError``.
    private func timeFirstCalls<Task: PoolTask>(
        _ task: Task.Type, _ inputs: [Task.Input], _ outputs: inout [Task.Output], _ progress: ProgressCounter?,
        _ deliver: ([Task.Output]) throws -> Void
    ) throws -> CallTiming {
        var timing = CallTiming(wallSeconds: .infinity, cpuSeconds: 0)
        var spent = 0.0
        let firstTimed = outputs.count
        while outputs.count < min(firstTimed + 16, inputs.count - 1)
            && (outputs.count == firstTimed || spent < 0.005)
        {
            let index = outputs.count
            do {
                let (output, measured) = try CallTiming.measure { try Task.run(inputs[index]) }
                outputs.append(output)
                if measured.wallSeconds < timing.wallSeconds { timing = measured }
                spent += measured.wallSeconds
            } catch {
                try deliver(outputs)
                throw MapError(index: index, error: error)
            }
            progress?.add(1)
        }
        // A call of a few microseconds is timed badly on its own: reading the clocks costs about
        // as much, and an estimate twice too long doubles the profiling budget. About 2 ms of
        // such calls more, timed as one group, give the time per call (their outputs are kept).
        guard timing.wallSeconds < 20e-6 else { return timing }
        let group = outputs.count..<min(inputs.count - 1, outputs.count + Int(0.002 / timing.wallSeconds))
        guard group.count >= 16 else { return timing }
        var index = group.lowerBound
        do {
            let (_, measured) = try CallTiming.measure {
                while index < group.upperBound {
                    outputs.append(try Task.run(inputs[index]))
                    index += 1
                }
            }
            timing = CallTiming(
                wallSeconds: measured.wallSeconds / Double(group.count),
                cpuSeconds: measured.cpuSeconds / Double(group.count))
        } catch {
            progress?.add(index - group.lowerBound)
            try deliver(outputs)
            throw MapError(index: index, error: error)
        }
        progress?.add(group.count)
        return timing
    }

    /// The profiling budget from the first calls: a share of the job's likely parallel length
    /// (waits overlap widely, computation on the cores).
    private func budgeted(_ base: ProfilerOptions, timing: CallTiming, items: Int) -> ProfilerOptions {
        let cores = Double(max(1, Machine.usableCores))
        let parallelism = timing.cpuShare >= 0.5 ? cores : min(64, cores / max(timing.cpuShare, 1.0 / 64))
        let parallelEstimate = timing.wallSeconds * Double(items) / parallelism
        var budgeted = base
        budgeted.maximumSeconds = min(
            base.maximumSeconds, max(options.minimumProfileSeconds, options.profileShare * parallelEstimate))
        budgeted.minimumSeconds = min(budgeted.minimumSeconds, budgeted.maximumSeconds / 2)
        budgeted.scalingRunSeconds = min(budgeted.scalingRunSeconds, budgeted.maximumSeconds / 10)
        return budgeted
    }

    /// One watched batch through the executor, collected in order. A failure delivers the
    /// batch's outputs before it and throws with the job's input index.
    private func runBatch<Task: PoolTask>(
        _ task: Task.Type, _ inputs: [Task.Input], _ range: Range<Int>, _ executor: Executor,
        _ progress: ProgressCounter?, _ deliver: ([Task.Output]) throws -> Void
    ) throws -> [Task.Output] {
        var batch: [Task.Output] = []
        batch.reserveCapacity(range.count)
        do {
            try executor.forEachOutput(
                of: task, inputs[range], reportingIndexes: Array(range), progress: progress
            ) { batch.append($1) }
        } catch let error as MapError {
            try deliver(batch)
            throw MapError(index: range.lowerBound + error.index, error: error.error)
        } catch let error as PipelineError {
            try deliver(batch)
            throw MapError(index: range.lowerBound + error.index, error: error.error)
        }
        return batch
    }

    /// Profiles, decides and runs; returns only the outputs, in input order.
    public func map<Task: PoolTask>(_ task: Task.Type, _ inputs: some Collection<Task.Input>) throws -> [Task.Output] {
        try run(task, inputs).outputs
    }

    /// The `async` form of ``run(_:_:)``: the work happens on threads of its own.
    public func run<Task: PoolTask>(_ task: Task.Type, _ inputs: some Collection<Task.Input> & Sendable) async throws
        -> AutoRun<Task.Output>
    {
        try await PlatformThread.result(name: "auto-executor") { try self.run(task, inputs) }
    }

    /// Items per watched batch: about ``Options/watchSeconds`` of predicted work, and at least
    /// four chunks per worker so batch boundaries cost little.
    private func batchSize(plan: ExecutionPlan, model: CostModel) -> Int {
        let perItem = max(steadySeconds(plan, items: 1000, model: model) / 1000, 1e-9)
        let minimum = 4 * max(1, plan.workers) * max(1, plan.chunkSize ?? 1)
        return max(minimum, Int(options.watchSeconds / perItem))
    }

    private func steadySeconds(_ plan: ExecutionPlan, items: Int, model: CostModel) -> Double {
        model.seconds(
            plan.mode, items: items, workers: plan.workers, chunk: plan.chunkSize ?? 1, fetchWorkers: plan.fetchWorkers,
            computeStage: plan.computeStage)
    }
}

/// What an ``AutoExecutor`` run decided and measured, without its outputs.
public struct AutoReport: Sendable {
    /// The first profile; nil for a job of fewer than two inputs (run serially).
    public var profile: TaskProfile?
    /// The recommendation in force at the end (after any switch).
    public var recommendation: Recommendation?
    /// Inputs whose outputs came from profiling calls.
    public var profiledItems: Int
    /// Mode changes made because the workload drifted from its profile.
    public var switches: [ModeSwitch]
    /// Time spent timing first calls and profiling (their outputs kept).
    public var profilingSeconds: Double
    /// The whole run, profiling included.
    public var totalSeconds: Double
}

/// What ``AutoExecutor/run(_:_:progress:)`` did: the outputs and the ``AutoReport``.
@dynamicMemberLookup
public struct AutoRun<Output: Sendable>: Sendable {
    /// The outputs, in input order (the profiled inputs' included).
    public var outputs: [Output]
    /// The decision and the measurements: `run.recommendation`, `run.switches` and the rest
    /// read through to it.
    public var report: AutoReport

    /// A run's outputs with its report.
    public init(outputs: [Output], report: AutoReport) {
        self.outputs = outputs
        self.report = report
    }

    /// `run.recommendation`, `run.profiledItems` and the other report fields.
    public subscript<Value>(dynamicMember field: KeyPath<AutoReport, Value>) -> Value { report[keyPath: field] }
}

/// A change of plan in the middle of an ``AutoExecutor`` run.
public struct ModeSwitch: Codable, Sendable, Equatable {
    /// Inputs from this index on ran with the new plan.
    public var atIndex: Int
    /// The plan before the switch.
    public var from: ExecutionPlan
    /// The plan after it.
    public var to: ExecutionPlan
    /// What was measured, and what the new profile recommended.
    public var reason: String
}
