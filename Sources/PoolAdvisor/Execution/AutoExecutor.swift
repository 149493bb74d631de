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
/// It keeps watching while it runs. The rest of the job runs in batches of a few percent of
/// its predicted time (``Options/batchRiskShare``, between ``Options/minimumBatchSeconds`` and
/// ``Options/watchSeconds``), the next always queued behind the current so the pool never idles
/// at a boundary. Two things are checked as batches end:
/// - **drift**: when a window of batches takes more than ``Options/driftFactor`` times the best
///   time per item so far, the task is profiled again on the next inputs (their outputs kept)
///   and the executor switches if the new recommendation differs;
/// - **idle threads**: on a thread plan for a task that computes, when the process keeps far
///   fewer cores busy than its threads should (copies queue on a lock whose waiters sleep), the
///   wall clock's speed-up replaces the profile's and the advice is asked again.
///
/// ``AutoRun/switches`` records each switch and why. Every input runs exactly once, profiling
/// included.
public final class AutoExecutor: Sendable {
    /// How much to profile and how closely to watch.
    public struct Options: Sendable {
        /// Inputs a crash-prone task (or any, with a task timeout) is first profiled on, in a
        /// worker (the first ones); a drift is profiled again only with four times this many
        /// inputs left. A first profile in this process, and every re-profile, gets as many
        /// inputs as its budget reaches (about twice the calls it holds).
        public var sampleSize = 32
        /// The most inputs to profile on: for tiny calls the sample grows to about twice the calls
        /// the profile's budget holds, so their outputs are kept, not recomputed.
        public var maximumSampleSize = 200_000
        /// The profiler's settings; shorter than ``ProfilerOptions``' defaults, since the
        /// profiling time is part of the job.
        public var profiler: ProfilerOptions
        /// Worker settings for process pools (executable, environment, timeouts). With a
        /// `taskTimeout`, every call (profiling included) runs in worker processes, since only
        /// a worker can be stopped when a call runs too long.
        public var processes = ProcessPool.Configuration()
        /// The longest watched batch, in predicted seconds of work.
        public var watchSeconds = 1.0
        /// The shortest watched batch, in predicted seconds of work. A job predicted under twenty
        /// ``driftMinimumSeconds`` (a second, by default) is watched in shorter windows, a
        /// twentieth of the job down to a fifth of the option, and its batch floor shrinks in
        /// the same proportion.
        public var minimumBatchSeconds = 0.05
        /// A watched batch holds at most this share of the remaining job's predicted time: so
        /// little of the job runs on a plan before a change in the workload is seen.
        public var batchRiskShare = 0.05
        /// A window whose time per item exceeds this many times the best window so far (same
        /// plan) counts as drift.
        public var driftFactor = 1.6
        /// Most re-profilings per run.
        public var maximumSwitches = 2
        /// Batches are judged in windows of at least this long (shorter ones add up); on a job
        /// predicted under twenty of these, of a twentieth of the job, down to a fifth of this.
        public var driftMinimumSeconds = 0.05
        /// Profiling may take at most this share of the job's likely parallel time, estimated
        /// from the first calls (run alone, their outputs kept, counted as the profile's first
        /// measurements and in its time), within ``minimumProfileSeconds`` and the profiler's
        /// own `maximumSeconds`. Every phase of the profile fits in it.
        public var profileShare = 0.04
        /// Whether the run's idle-threads and stand-in checks count other programs' busy cores
        /// (from `/proc/stat`, less this process's CPU) as theirs, expecting the threads to keep
        /// only their even share of the cores busy beside them. Off: the threads are judged
        /// against all the cores, as if the host were quiet (for a harness whose own child
        /// processes, running beside the job, would read as other programs).
        public var countsOtherPrograms = true
        /// The least time spent profiling, first calls included, however short the job: a few
        /// calls' CPU ratio, the decision's least evidence (what threads' speed-up is, the run
        /// measures as it goes).
        public var minimumProfileSeconds = 0.015
        /// At most this many threads or worker processes in any plan the run takes (a
        /// pipeline's fetch threads included), whatever the advice, and at most this many copies
        /// at once in the profile's scaling test (none at 1): a limit the caller sets, such as
        /// `run --workers N`. Nil: as many as the advice says.
        public var maximumWorkers: Int?
        /// Called once on the calling thread as soon as the first profile is decided, before the
        /// rest of the job runs: the advice, and the plan the run starts on (threads first, or a
        /// trial window, can differ from the advice; later switches are in the report). For a
        /// progress display that should say what was decided while the job still runs.
        public var onDecision: (@Sendable (_ advice: Recommendation, _ startingPlan: ExecutionPlan) -> Void)?

        /// The defaults: 32 profiled inputs, a profiling budget of 5 % of the job, batches of 5 %
        /// of the rest (0.05–1 s), 1.6× drift.
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
        let report = try runEngine(task, Array(inputs), progress: progress) { outputs.append(contentsOf: $0) }
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
    ///
    /// With `stopping`, a ``JobStop/stop()`` (from `body`, or another thread) ends the job
    /// early without losing work: no new batch, profile or trial starts, the batches under way
    /// finish (a thread plan's queued batch at what its threads claimed), and their outputs are
    /// handed to `body` before this returns. The outputs are always a prefix of the inputs.
    /// - Throws: as ``run(_:_:progress:)``; an error thrown by `body` stops the job and is
    ///   rethrown as it is.
    public func run<Task: PoolTask>(
        _ task: Task.Type, _ inputs: some Collection<Task.Input>, progress: ProgressCounter? = nil,
        stopping: JobStop? = nil, forEachOutput body: (_ index: Int, _ output: Task.Output) throws -> Void
    ) throws -> AutoReport {
        var index = 0
        return try runEngine(task, Array(inputs), progress: progress, stopping: stopping) { batch in
            for output in batch {
                try body(index, output)
                index += 1
            }
        }
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
}

/// What an ``AutoExecutor`` run decided and measured, without its outputs.
public struct AutoReport: Sendable {
    /// The first profile; nil for a job of fewer than two inputs (run serially).
    public var profile: TaskProfile?
    /// The advice in force at the end (after any re-profile or reconsideration). The plan the
    /// run ended on is the last switch's: a trial window or threads run first can differ from
    /// the advice, and ``switches`` say why.
    public var recommendation: Recommendation?
    /// Inputs whose outputs came from profiling calls.
    public var profiledItems: Int
    /// Mode changes made because the workload drifted from its profile.
    public var switches: [ModeSwitch]
    /// Time spent timing first calls and profiling (their outputs kept).
    public var profilingSeconds: Double
    /// The whole run, profiling included.
    public var totalSeconds: Double
    /// The plan in force when the run ended (the advice's, or the last switch's, within
    /// ``Options/maximumWorkers``): what more inputs of the same job would run on, such as the
    /// next block of a file read in blocks. Nil for a job too short to profile (run serially).
    public var endingPlan: ExecutionPlan? = nil
    /// Whether ``endingPlan`` runs its worker processes on the other hosts the advisor was
    /// given (``Advisor/hosts``) rather than on this machine.
    public var endingPlanRunsOnHosts = false
    /// Re-profiles after a drift whose advice was not followed, and why: the plan running then
    /// had already beaten that advice in this run on a task that behaved the same.
    public var keptPlans: [KeptPlan] = []
}

/// A re-profile that kept the running plan against its advice (see ``AutoReport/keptPlans``).
public struct KeptPlan: Codable, Sendable, Equatable {
    /// Inputs from this index on went on with the kept plan (those before it were profiled).
    public var atIndex: Int
    /// The plan kept.
    public var plan: ExecutionPlan
    /// What drifted, what the new profile advised, and why the plan stayed.
    public var reason: String
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
