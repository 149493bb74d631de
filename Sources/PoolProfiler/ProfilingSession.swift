import PoolExecutors

/// One profile being made: runs the phases in order inside the budget and assembles the
/// ``TaskProfile``.
struct ProfilingSession<Task: PoolTask> {
    let task: String
    let runner: CallRunner<Task>
    let profiler: Profiler
    /// Calls measured before the profile, on this thread: the serial phase's first records.
    var prior = PriorCalls()
    /// The machine's counters when the profile began, read before any helper thread started;
    /// nil: read when ``run(beforeScaling:payload:)`` starts.
    var hostBefore: HostCPUSnapshot?

    private var options: ProfilerOptions { profiler.options }

    /// Runs the phases; `payload` measures the shipping cost given the task's CPU per call and
    /// the payload phase's budget in seconds.
    /// `beforeScaling` runs once, just before the scaling test (when there is one): work that
    /// used the idle cores during the serial phase must end before copies of the task take them.
    func run(
        beforeScaling: () -> Void = {},
        payload: (CallRunner<Task>, _ cpuSecondsPerCall: Double, _ budgetSeconds: Double) -> PayloadProfile
    ) throws -> TaskProfile {
        let origin = Clocks.monotonic()
        // Other programs' CPU is read up to the end of the thread phases: the process-scaling
        // test's workers are children not yet reaped, whose CPU would count as others'. Steal
        // is left out: on a VM it grows with this task's own wake-ups (a call that waits on a
        // pipe read 0.4 cores of it), and more threads cannot take it back.
        let hostBefore = self.hostBefore ?? HostCPUSnapshot.now()
        /// Other programs' busy cores from `start` (the profile's start by default) to now.
        func othersSoFar(since start: HostCPUSnapshot? = hostBefore, leastOnly: Bool = false) -> Double? {
            start.flatMap { before in
                HostCPUSnapshot.now().flatMap {
                    HostLoad.othersCores(from: before, to: $0, countingSteal: false, leastOnly: leastOnly)
                }
            }
        }
        var othersBusyCores: Double?
        var notes: [String] = []
        let sampler = ThreadSampler(hertz: options.samplingHertz)
        if sampler == nil {
            notes.append(
                ProcFS.isAvailable
                    ? "sampling is off: waits are not classified"
                    : "no /proc on this system: per-call accounting only, waits are not classified")
        }
        try sampler?.start()
        var samplerCost: SamplerCost?
        defer { if samplerCost == nil { _ = sampler?.stop() } }

        // Serial phase: half the minimum time (the scaling test takes the other half, or the
        // serial phase resumes when there is no scaling test).
        let threadID = Int32(truncatingIfNeeded: PlatformThread.currentThreadID)
        sampler?.watch(threadID)
        let serial = SerialPhase(callGroup: runner.callGroup)
        // The cold first call is not measured; with a sample of one input that calls once
        // each, it is the only call there is, so it is measured instead.
        if let warm = prior.fastestCallSeconds ?? options.warmCallSeconds, warm.isFinite, warm >= 1e-9 {
            serial.prepare(callSeconds: warm)
            for record in prior.records { serial.add(record) }
        } else if !runner.callsEachInputOnce || runner.remaining > 1 {
            // After calls made before the profile, this call is warm: not a first call's time.
            serial.warmUp(recordsFirstCall: !prior.madeCalls)
        }
        // The sampler's CPU during the serial phase, which per-call accounting must not count
        // as the task's helper threads (its counter is refreshed every 64 ticks).
        let samplerStart = sampler?.cpuSoFar ?? 0
        // Calls made before the profile (``PriorCalls``) are serial calls already: their time
        // counts against this half.
        let serialLimit = max(0, options.maximumSeconds / 2 - prior.recordedSeconds)
        // Whether the host is busy enough to test more copies is read over the serial phase
        // after its first 0.1 s: the workers of a pool that just finished (a process-scaling
        // test's, dismissed without waiting) may still be computing their last chunk then, and
        // must not read as a busy neighbour. A reading over less than 0.1 s (ticks of 10 ms on
        // two cores) is too coarse to act on, and the test then runs its usual copies.
        let serialStart = (Clocks.monotonic() - origin).seconds
        var settled: (snapshot: HostCPUSnapshot, at: Int64)?
        // Whether waiting for the reading can pay: it changes the copies only where
        // ``ProfilerOptions/scalingCopies(cores:othersDuringSerial:measuresRunQueue:inputsLeft:)``
        // reads it, it can be made (/proc/stat, read already for the profile's start), and it
        // fits the budget's half.
        let readingMatters =
            options.scalingThreads == nil && Machine.usableCores >= 2 && !runsCommand
            && serialStart + 0.2 < serialLimit && hostBefore != nil
        serial.run(origin: origin) { elapsed, ratio in
            if settled == nil, elapsed - serialStart >= 0.1, let now = HostCPUSnapshot.now() {
                settled = (now, Clocks.monotonic())
            }
            let done = isSerialDone(
                serial.records.count, elapsed, ratio, minimumSeconds: options.minimumSeconds / 2, limit: serialLimit,
                next: serial.nextGroupSeconds)
            // Short calls reach the phase's most measurements in a tenth of a second or two
            // (memory-scan's 280 µs calls: 0.14 s), before the host's reading has its 0.1 s.
            // Without it the test runs its usual copies beside a busy program, whose rounds are
            // then too disturbed to read, and the advice hedges: memory-scan went to processes
            // at 1.3x the threads' time in busy demos, in the runs whose serial phase ended
            // early. While the budget's half has room, the phase goes on until the reading is
            // made (0.3 s of calls at most).
            guard done, readingMatters, serial.measuresRunQueue, ratio.value >= options.scalingMinimumCPURatio,
                runner.failedCalls == 0, !runner.isExhausted, serial.records.count / 4 < options.maximumCalls,
                elapsed + max(0, serial.nextGroupSeconds) - serialStart < 0.3,
                elapsed + max(0, serial.nextGroupSeconds) < serialLimit
            else { return done }
            return settled.map { Clocks.monotonic() - $0.at >= Clocks.nanoseconds(0.1) } ?? false
        }
        let othersDuringSerial = settled.flatMap { from -> Double? in
            guard Clocks.monotonic() - from.at >= Clocks.nanoseconds(0.1) else { return nil }
            return othersSoFar(since: from.snapshot)
        }
        try checkFailures()
        let cpuRatio = serial.cpuRatio
        var scaling: ScalingProfile?
        var skipped: String?
        var computeStage: ComputeStageProbe?
        /// When the budget holds one round of copies and no more: the serial phase's last
        /// measurement, that round's single-thread run, and each copy's calls.
        var oneRound: (single: ScalingProbe<Task>.Run, callsPerCopy: Int)?
        /// Calls per run that fit the minimum rounds in the budget (nil: the probe's own sizing).
        var callsPerRun: Int?
        let threads = options.scalingCopies(
            cores: Machine.usableCores, othersDuringSerial: othersDuringSerial,
            measuresRunQueue: serial.measuresRunQueue,
            inputsLeft: runner.callsEachInputOnce ? runner.remaining : nil)
        if runner.isStopped {
            skipped = "a call failed, and the profile stops at the first failure"
        } else if runsCommand {
            // The work is in the command, a process of its own whatever starts it: copies on
            // threads would time this thread's spawning and waiting, which decides nothing.
            // The reason quotes the final figures, once the serial phase is over.
            skipped = ""
        } else if cpuRatio.value < options.scalingMinimumCPURatio {
            // A staged task's advice turns on its computing part: measured alone when it can be,
            // and when it can matter (below the lowest CPU-ratio threshold waits decide).
            let matters = cpuRatio.high >= (options.thresholds["cpu_ratio"]?.min() ?? 0.3)
            computeStage =
                threads >= 2 && matters
                ? ComputeStageProbe.make(
                    for: Task.self, sample: runner.sample, repeats: !runner.callsEachInputOnce, options: options)
                : nil
            if computeStage == nil {
                skipped = "the task computes for \(percent(cpuRatio.value)) of its time: waits overlap on threads"
            }
        } else if threads < 2 {
            skipped = "one usable core: nothing to scale onto"
        } else {
            // The inputs' coding (on another core) ends before the test is sized: joining it can
            // take tens of milliseconds for a large argument, time the rounds no longer have.
            beforeScaling()
            let deadline = origin + Clocks.nanoseconds(options.maximumSeconds * scalingShare(computeStage: false))
            let last = serial.records.last
            switch ScalingFit(
                threads: threads, cores: Machine.usableCores, callSeconds: serial.meanCallSeconds,
                lastCalls: last?.calls, left: (deadline - Clocks.monotonic()).seconds,
                inputsLeft: runner.callsEachInputOnce ? runner.remaining : nil, options: options)
            {
            case .rounds(let calls): callsPerRun = calls
            case .oneRound(let calls):
                oneRound = last.map {
                    let single = ScalingProbe<Task>.Run(
                        calls: $0.calls, wall: $0.wall, cpu: $0.threadCPU, runQueue: $0.runQueue, threadTime: $0.wall)
                    return (single, calls)
                }
            case .none(let reason): skipped = reason
            }
        }
        var serialCounts = sampler?.takeCounts() ?? ActivityCounts()
        var samplerCPU = Int64(0)
        if skipped == nil {
            sampler?.unwatch(threadID)
            samplerCPU = (sampler?.cpuSoFar ?? 0) - samplerStart
            let perCall = serial.meanCallSeconds
            // With a process-scaling test to come, the thread test leaves it the last quarter.
            let deadline =
                origin + Clocks.nanoseconds(options.maximumSeconds * scalingShare(computeStage: computeStage != nil))
            beforeScaling()
            let earliestEnd = origin + Clocks.nanoseconds(options.minimumSeconds)
            if let computeStage {
                scaling = try computeStage.measure(
                    threads: threads, sampler: sampler, earliestEnd: earliestEnd, deadline: deadline)
                notes.append(
                    scaling == nil
                        ? "the compute stage's thread scaling was not measured: no fetch fitted the budget or succeeded, or the stage threw on what was fetched"
                        : "thread scaling measured on the compute stage alone (the task computes for \(percent(cpuRatio.value)) of its time; its waits overlap on threads)"
                )
                if scaling == nil { skipped = "the compute stage could not be measured alone" }
            } else {
                let probe = ScalingProbe(runner: runner, threads: threads, options: options, sampler: sampler)
                if let (single, calls) = oneRound {
                    scaling = try probe.measureOneRound(single: single, callsPerCopy: calls, deadline: deadline)
                    let waits = sampler == nil ? "" : " and the copies' waits"
                    let speedup = options.minimumScalingRounds > 1 ? ", no speed-up" : ""
                    notes.append(
                        "one scaling round fitted the budget, its single-thread run the serial phase's last measurement: a CPU efficiency\(waits)\(speedup)"
                    )
                } else {
                    scaling = try probe.measure(
                        callSeconds: perCall, earliestEnd: earliestEnd, deadline: deadline, callsPerRun: callsPerRun)
                }
            }
            try checkFailures()
            if oneRound == nil, let scaling, !scaling.noisyHost, scaling.speedup == nil {
                notes.append(
                    "\(scaling.cleanRounds) scaling round(s) fit the budget: speed-up and serial fraction need three")
            }
            if scaling?.noisyHost == true {
                notes.append(
                    "noisy host: other programs held the cores in most scaling rounds; speedup not reported, work per CPU-second unreliable"
                )
            }
            othersBusyCores = othersSoFar(leastOnly: true)
            // Workers would run the whole task, not the stage the threads' figure is of.
            if computeStage == nil, let note = measureProcesses(&scaling, callSeconds: perCall, origin: origin) {
                notes.append(note)
            }
            if Machine.usableCores < 4 {
                notes.append(
                    "no USL fit: it needs ≥ 4 cores and ≥ 5 thread counts; this host has \(Machine.usableCores)")
            }
        } else {
            serial.run(origin: origin) { elapsed, ratio in
                isSerialDone(
                    serial.records.count, elapsed, ratio, minimumSeconds: options.minimumSeconds, limit: serialLimit,
                    next: serial.nextGroupSeconds)
            }
            serialCounts.add(sampler?.takeCounts() ?? ActivityCounts())
            sampler?.unwatch(threadID)
            samplerCPU = (sampler?.cpuSoFar ?? 0) - samplerStart
            othersBusyCores = othersSoFar(leastOnly: true)
            try checkFailures()
        }
        samplerCost = sampler?.stop()
        let calls = serial.summary(samplerCPU: samplerCPU, runsCommand: runsCommand)
        if skipped == "", let caller = calls.callerCPURatio {
            skipped =
                "the command computes for \(percent(calls.cpuRatio.value)) of each call (its own CPU; this process \(percent(caller.value))): commands run as processes of their own, so copies on threads are not measured"
        }
        // No sample at all (a profile made of calls measured before it) is not a breakdown of
        // nothing but waits unknown.
        if samplerCost != nil, serialCounts.total == 0 {
            notes.append(
                "waits are not classified: the sampler took no sample of the serial calls (made before it started, or too short)"
            )
        }
        let waits = samplerCost.flatMap { cost -> WaitBreakdown? in
            guard serialCounts.total > 0 else { return nil }
            return
                WaitBreakdown(
                    threads: 1, samples: serialCounts.total, samplesPerSecond: cost.achievedHertz, counts: serialCounts,
                    samplerCoreShare: cost.coreShare)
        }
        if waits != nil, let cost = samplerCost, cost.achievedHertz < options.samplingHertz * 0.5 {
            notes.append(
                "the sampler reached \(whole(cost.achievedHertz)) Hz of \(whole(options.samplingHertz)): the host is busy"
            )
        }
        // A command's CPU is its own (reaped children), which shipping is compared with.
        let children = runsCommand ? calls.childrenCPURatio * calls.wallSecondsPerCall.value : 0
        let shipping = payload(
            runner, calls.threadCPUSecondsPerCall + children,
            PayloadProbe.budget(maximumSeconds: options.maximumSeconds, origin: origin, now: Clocks.monotonic()))
        notes += PayloadProbe.budgetNotes(shipping)
        if runner.callsEachInputOnce, runner.isExhausted, !runner.isStopped {
            notes.append(
                "the sample ran out after \(runner.calls) calls (each input is called once: the task is not idempotent, or repeats were turned off); the figures rest on those calls"
            )
        }
        let figures = DecidingFigure.deciding(
            cpuRatio: calls.cpuRatio, cpuRatioThresholds: cpuRatioThresholds, scaling: scaling,
            thresholds: options.thresholds)
        let borderline = figures.filter(\.isBorderline).map(\.name)
        if !borderline.isEmpty {
            notes.append(
                "borderline: \(borderline.joined(separator: ", ")) still straddles a threshold after the budget")
        }
        return TaskProfile(
            task: task,
            host: HostFacts(
                usableCores: Machine.usableCores, hasProcFS: ProcFS.isAvailable,
                hasSchedulerStatistics: serial.measuresRunQueue,
                othersBusyCores: othersBusyCores),
            profilingSeconds: (Clocks.monotonic() - origin).seconds, calls: calls, waits: waits, scaling: scaling,
            scalingSkippedReason: skipped, payload: shipping, figures: figures, failures: runner.recordedFailures,
            notes: notes)
    }

    /// Runs the process-scaling test into `scaling` when it is asked for and can decide
    /// something (``ProcessScalingProbe/canDecide(after:callSeconds:)``). Returns a note when it was asked
    /// for and did not run.
    private func measureProcesses(_ scaling: inout ScalingProfile?, callSeconds: Double, origin: Int64) -> String? {
        guard let configuration = options.processScaling, var measured = scaling,
            ProcessScalingProbe<Task>.canDecide(after: measured, callSeconds: callSeconds)
        else { return nil }
        guard !runner.callsEachInputOnce else {
            return "process scaling not measured: each input is called once, and the test calls inputs again"
        }
        var probe = ProcessScalingProbe<Task>(
            sample: runner.sample, workers: measured.threads, configuration: configuration,
            groupSeconds: max(0.02, options.scalingRunSeconds / 2), rounds: options.minimumScalingRounds,
            maximumRounds: options.maximumScalingRounds)
        // Paired on a quiet host only, where the host's phases are what moves the figures. Beside
        // a busy program the load is steady and large, each round's ratio swings with it, and
        // three paired rounds (all a 3 s budget held there) could not tell phase-change's
        // processes from its threads: it went to threads at 1.35x the best, where unpaired
        // rounds, compared with the threads' under the same load by the rules' wider margin
        // (a quarter), chose processes.
        let reference = measured.noisyHost ? nil : measured.speedup?.value
        if let reference, reference.isFinite, reference > 0 {
            let threads = ScalingProbe(runner: runner, threads: measured.threads, options: options, sampler: nil)
            probe.threadRound = { calls in
                let single = try threads.run(copies: 1, calls: calls)
                let concurrent = try threads.run(
                    copies: threads.threads, calls: calls,
                    deadline: Clocks.monotonic() + 3 * max(single.wall, 1_000_000))
                let alone = Double(single.calls) / Double(max(single.wall, 1))
                return Double(concurrent.calls) / Double(max(concurrent.wall, 1)) / max(alone, 1e-18)
            }
        }
        switch probe.measure(callSeconds: callSeconds, deadline: origin + Clocks.nanoseconds(options.maximumSeconds)) {
        case .measured(let estimate, let overThreads):
            measured.processSpeedup = estimate
            // Paired: the processes' advantage measured side by side, carried to the threads'
            // figure from the scaling test (what the rules and the cost model read).
            if let overThreads, let reference, reference.isFinite, reference > 0 {
                measured.processOverThreads = overThreads
                measured.processSpeedup = ScalingProfile.processSpeedup(threads: reference, overThreads: overThreads)
            }
            scaling = measured
            return nil
        case .skipped(let reason):
            return reason
        }
    }

    /// The share of the budget the thread-scaling test may run to: all of it, or three quarters
    /// with a process-scaling test to come (which the whole task's calls, repeated, allow).
    private func scalingShare(computeStage: Bool) -> Double {
        options.processScaling == nil || runner.callsEachInputOnce || computeStage ? 1.0 : 0.75
    }

    /// Whether the serial phase stops: at its maximum calls or its `limit`, or once its figures
    /// are clear after the minimum. A group expected to take `next` seconds that would end past
    /// the limit is not started: on a short budget one call of a few milliseconds past it is
    /// the run of copies the scaling test no longer has room for.
    private func isSerialDone(
        _ measurements: Int, _ elapsed: Double, _ ratio: Estimate, minimumSeconds: Double, limit: Double,
        next: Double
    ) -> Bool {
        if measurements >= options.maximumCalls || elapsed + max(0, next) >= limit || runner.isExhausted {
            return true
        }
        if runner.calls > 0, runner.failedCalls >= options.minimumCalls, runner.failedCalls == runner.calls {
            return true
        }
        guard measurements >= options.minimumCalls, elapsed >= minimumSeconds else { return false }
        return cpuRatioThresholds.allSatisfy(ratio.isClear)
    }

    /// Whether each call runs an external command (``PoolExecutors/TaskTraits/runsCommand``).
    private var runsCommand: Bool { Task.traits.contains(.runsCommand) }

    /// The thresholds the CPU ratio is tested against: none for a command, whose mode the
    /// rules choose by its declaration (`external-command`), not by `cpu_ratio`.
    private var cpuRatioThresholds: [Double] { runsCommand ? [] : options.thresholds["cpu_ratio"] ?? [] }

    /// Every call so far threw: there is nothing to profile.
    private func checkFailures() throws {
        // Stopping at a failure is asked for by a caller that reads the failure from the outputs.
        if runner.stopsAtFirstFailure { return }
        let failed = runner.failedCalls
        let calls = runner.calls
        guard calls > 0, failed == calls, let first = runner.recordedFailures.first else { return }
        throw ProfilerError.everyCallFailed(task: task, calls: calls, first: first)
    }
}

func percent(_ value: Double) -> String {
    // One decimal below 10 % ("0.3 %"), whole percents above.
    let scaled = value * 100
    if scaled != 0 && abs(scaled) < 10 { return "\((scaled * 10).rounded() / 10) %" }
    return "\(Int(scaled.rounded())) %"
}

/// `value` as a whole number for a note; a rate set in code may be infinite or beyond `Int`.
private func whole(_ value: Double) -> String {
    value.isFinite && abs(value) < 1e15 ? String(Int(value.rounded())) : "\(value)"
}
