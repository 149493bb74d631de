public import PoolExecutors

/// Measures where a task's time goes and how it behaves on threads and across processes.
///
/// ```swift
/// let run = try Profiler().measure(Checksum.self, sample: Array(paths.prefix(16)))
/// print(run.profile.calls.cpuRatio)          // 0.97 [0.95, 0.99] n=40
/// let first = try run.output(at: 0)          // computed while profiling, never twice
/// ```
///
/// A profile runs in three phases, all with real calls of the task on the sample inputs
/// (cycled when there are fewer inputs than calls):
/// 1. **serial**: calls one at a time on the calling thread, each bracketed by the thread's CPU
///    clock, schedstat run and run-queue time, context switches, process and children CPU time,
///    while a sampler thread classifies what the thread blocks on;
/// 2. **scaling** (tasks that compute for at least half their time, or a staged task's compute
///    stage alone): the same calls on 1 and on N threads, repeated, giving speedup, serial
///    fraction and work per CPU-second;
/// 3. **payload**: the inputs and outputs through the wire codec, within 5 % of
///    ``ProfilerOptions/maximumSeconds`` (a large value is coded twice at most; with a machine
///    profile, a large `[UInt8]`, `[Double]` or `Data` is sized, not coded).
///
/// It stops once every deciding figure's interval is clear of the thresholds in
/// ``ProfilerOptions/thresholds`` (after the minimum calls and seconds), or at the maximum,
/// marking unclear figures borderline.
public struct Profiler: Sendable {
    public var options: ProfilerOptions
    /// The machine's costs; when given, shipping includes each value's transfer by the path the
    /// pool takes for its size (shared memory or the pipe), and large block values are priced
    /// by size.
    public var machine: MachineProfile?

    public init(options: ProfilerOptions = ProfilerOptions(), machine: MachineProfile? = nil) {
        self.options = options
        self.machine = machine
    }

    /// Profiles `task` on `sample` on the calling thread (which blocks for the profile's
    /// duration) and returns the profile.
    /// - Throws: ``ProfilerError`` for an empty sample or a task that throws on every call.
    public func profile<Task: PoolTask>(_ task: Task.Type, sample: [Task.Input]) throws -> TaskProfile {
        try measure(task, sample: sample).profile
    }

    /// Profiles `task` on `sample` and also returns the outputs the profiling calls computed.
    ///
    /// With `prior`, calls already made and measured on this thread count as the serial
    /// phase's first records (``PriorCalls``), and a profile after warm calls makes no warm-up
    /// call of its own; `priorOutputs`, what those calls returned, are sized with the profile's
    /// own outputs (a profile whose budget the prior calls used up makes none).
    public func measure<Task: PoolTask>(
        _ task: Task.Type, sample: [Task.Input], after prior: PriorCalls = PriorCalls(),
        priorOutputs: [Task.Output] = []
    ) throws -> ProfiledRun<Task.Output> {
        guard !sample.isEmpty else { throw ProfilerError.emptySample(task: Task.name) }
        let runner = CallRunner<Task>(sample: sample, options: options)
        // Read before the coding thread below starts: while it ran, this first reading of the
        // process's CPU clock took 2–3.5 ms in profiles of 0.3 s jobs (a sixth of the profile).
        let hostBefore = HostCPUSnapshot.now()
        // The inputs' coding runs on another core while the serial phase keeps one busy: that
        // core would idle anyway, and a 16 MB argument takes tens of milliseconds to code.
        let inputs = PayloadProbe.BackgroundCoding(
            sample, budgetSeconds: options.maximumSeconds / 2, inBackground: Machine.usableCores >= 2,
            pricesBlocks: machine != nil)
        // Joined on every way out: a profile that throws (every call failed, no sampler thread)
        // must not leave the thread coding behind it.
        defer { inputs.finish() }
        let profile = try ProfilingSession(
            task: Task.name, runner: runner, profiler: self, prior: prior, hostBefore: hostBefore
        ).run(
            beforeScaling: { inputs.finish() }
        ) { runner, cpuPerCall, budget in
            // The probe codes the first few outputs: gathered by a loop that stops there, not a
            // pass over every kept output (80 000 of them for a tiny task took 14 ms).
            var outputs = Array(priorOutputs.prefix(PayloadProbe.sampledValues))
            for kept in runner.keptOutputs {
                guard outputs.count < PayloadProbe.sampledValues else { break }
                if case .success(let output)? = kept { outputs.append(output) }
            }
            let coded = inputs.finish()
            return PayloadProbe.measure(
                task, coded: coded, outputs: outputs, cpuSecondsPerCall: cpuPerCall, machine: machine,
                budgetSeconds: budget)
        }
        var declared = profile
        declared.declared = TaskDeclaration(of: task)
        return ProfiledRun(profile: declared, outputs: runner.keptOutputs)
    }

    /// The `async` form of ``measure(_:sample:)``: the profile runs on a thread of its own,
    /// never on Swift's cooperative pool.
    public func measure<Task: PoolTask>(_ task: Task.Type, sample: [Task.Input]) async throws -> ProfiledRun<
        Task.Output
    > {
        try await PlatformThread.result(name: "pa-profiler") { try measure(task, sample: sample) }
    }

    /// The `async` form of ``profile(_:sample:)``.
    public func profile<Task: PoolTask>(_ task: Task.Type, sample: [Task.Input]) async throws -> TaskProfile {
        try await measure(task, sample: sample).profile
    }
}

/// A profile together with the outputs of the calls made while profiling.
public struct ProfiledRun<Output: Sendable>: Sendable {
    public let profile: TaskProfile
    /// By sample index: the first call's output or error, nil for inputs never reached.
    public let outputs: [Result<Output, any Error>?]

    /// The output computed for sample input `index`, nil when it was not reached.
    /// - Throws: the error the task threw for that input.
    public func output(at index: Int) throws -> Output? {
        try outputs[index]?.get()
    }
}

/// Why a profile could not be made.
public enum ProfilerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No inputs to call the task with.
    case emptySample(task: String)
    /// Every call threw; the first error is quoted.
    case everyCallFailed(task: String, calls: Int, first: ProfiledFailure)

    public var description: String {
        switch self {
        case .emptySample(let task):
            "cannot profile \(task): the sample has no inputs"
        case .everyCallFailed(let task, let calls, let first):
            "cannot profile \(task): all \(calls) calls threw; input \(first.inputIndex) threw \(first.errorType): \(first.message)"
        }
    }
}
