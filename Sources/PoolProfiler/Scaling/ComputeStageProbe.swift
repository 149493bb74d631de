import PoolExecutors

/// The thread-scaling test run on a staged task's compute stage alone.
///
/// A task that mostly waits is not scaling-tested: its waits overlap on threads whatever its
/// computing part does. But for a task that declares two stages (``StagedTask``) the advice
/// turns on that part: a split pipeline computes on processes because the computing part might
/// queue on something copies on threads share. Measured, the question is settled: the fetch
/// stage runs once per sample input (a few), and the compute stage runs on what they returned,
/// on one thread against N, as for any task.
///
/// It runs only where calls may repeat: the whole task's profile cycles through its sample
/// (idempotent, ``ProfilerOptions/repeatsIdempotentInputs``), and both stages are declared
/// idempotent too. ``AutoExecutor`` profiles each input once, so it does not run there. And only
/// where it can change the advice: a task computing under 30 % of its time goes to threads
/// whatever its computing part does.
struct ComputeStageProbe {
    private let measureStage:
        (_ threads: Int, _ sampler: ThreadSampler?, _ earliestEnd: Int64, _ deadline: Int64) throws ->
            ScalingProfile?

    /// Fetch stages run for the compute stage's sample: each may wait (a download), so few.
    static let fetches = 8

    /// A probe for `task`'s compute stage, or nil when `task` declares no stages or a stage may
    /// not be called again on an input (`repeats` false: the profile calls each input once).
    static func make<Task: PoolTask>(
        for task: Task.Type, sample: [Task.Input], repeats: Bool, options: ProfilerOptions
    ) -> ComputeStageProbe? {
        guard options.scalesComputeStage, repeats, let staged = task as? any StagedTask.Type else { return nil }
        return open(staged, sample: sample, options: options)
    }

    private static func open<Staged: StagedTask>(
        _ staged: Staged.Type, sample: [some Sendable], options: ProfilerOptions
    ) -> ComputeStageProbe? {
        guard Staged.Fetch.isIdempotent, Staged.Compute.isIdempotent, let inputs = sample as? [Staged.Input] else {
            return nil
        }
        return ComputeStageProbe { threads, sampler, earliestEnd, deadline in
            // Fetched here, after the serial phase (whose waits and sampler CPU they must not
            // join), and only while a fetch as long as the slowest so far still fits the budget.
            var fetched: [Staged.Fetch.Output] = []
            var longest: Int64 = 0
            for input in inputs.prefix(fetches) where Clocks.monotonic() + 2 * longest < deadline {
                let start = Clocks.monotonic()
                // A fetch that throws gives no input to compute on; the profile proper counted it.
                if let value = try? Staged.Fetch.run(input) { fetched.append(value) }
                longest = max(longest, Clocks.monotonic() - start)
            }
            guard !fetched.isEmpty else { return nil }
            let runner = CallRunner<Staged.Compute>(sample: fetched, options: options)
            // The stage's own call time sizes the rounds: a warm call, then one timed.
            _ = runner.callGroup(1)
            let start = Clocks.monotonic()
            guard runner.callGroup(1) == 1, runner.failedCalls == 0 else { return nil }
            let callSeconds = max(Clocks.monotonic() - start, 1).seconds
            let probe = ScalingProbe(runner: runner, threads: threads, options: options, sampler: sampler)
            let measured = try probe.measure(callSeconds: callSeconds, earliestEnd: earliestEnd, deadline: deadline)
            // A compute stage that threw is not a figure to decide on.
            return runner.failedCalls == 0 ? measured : nil
        }
    }

    private init(
        measureStage:
            @escaping (_ threads: Int, _ sampler: ThreadSampler?, _ earliestEnd: Int64, _ deadline: Int64)
            throws -> ScalingProfile?
    ) {
        self.measureStage = measureStage
    }

    /// Runs the test on `threads` copies within `deadline` (not stopping before `earliestEnd`
    /// unless the figures are clear); nil when the stage failed.
    func measure(threads: Int, sampler: ThreadSampler?, earliestEnd: Int64, deadline: Int64) throws
        -> ScalingProfile?
    {
        try measureStage(threads, sampler, earliestEnd, deadline)
    }
}
