internal import Foundation
internal import PoolExecutors
internal import PoolProfiler
internal import PoolRules

/// The state of one auto run as it moves through the job: the plan in force, what it was
/// chosen on, and what the run has learnt since.
struct AutoRunState {
    var profile: TaskProfile
    var recommendation: Recommendation
    var plan: ExecutionPlan
    /// Whether the plan is the advice's, and that runs on the other hosts.
    var runsOnHosts: Bool { recommendation.runsOnHosts && plan == ExecutionPlan(recommendation) }
    var switches: [ModeSwitch] = []
    /// Re-profiles after a drift that kept the plan (``AutoReport/keptPlans``).
    var keptPlans: [KeptPlan] = []
    var reprofiles = 0
    var profilingSeconds: Double
    var profiledItems: Int
    /// Whether the running thread plan's use of the cores no longer needs checking (a check
    /// found it short, and the advice stood).
    var scalingChecked = false
    /// Whether a process plan has been compared with the threads' measured speed-up (once a run).
    var processesChecked = false
    /// The profile in force when a process plan ran no faster than threads in this run, or a
    /// trial's threads came near the cores: a drift's new profile does not try processes again
    /// on a task that still behaves as it did then (``AutoExecutor/repeatsLostComparison(_:lostOn:after:)``).
    var processesLostOn: TaskProfile?
    /// Threads' time per item in a live trial window, once measured (see ``AutoExecutor/trialOfThreads(_:_:remaining:)``).
    var threadsTrialPerItem: Double?
    /// While a trial window of threads runs: the process plan the run returns to.
    var trialReturnsTo: ExecutionPlan?
    /// Whether threads have fallen short in this run (cores left idle, or a stand-in's speed-up
    /// short of the cores): a new profile after a drift, which forgets the rest, then no longer
    /// starts on threads (``AutoExecutor/threadsFirst(_:_:items:)``).
    var threadsFellShort = false
    /// Whether threads run in place of a process plan chosen on an unmeasured speed-up, and
    /// their wall-clock speed-up is still to be checked (``ObservedScaling/standInFallsShort(speedup:threads:cores:)``).
    var threadsStandIn = false
    /// The shortest judged window for this job (``AutoExecutor/Options/watchFloor(jobSeconds:)``),
    /// set once the first plan is known.
    var watchFloor = AutoExecutor.Options().driftMinimumSeconds

    /// Moves the run to `plan` from input `index` on and records why; with a `recommendation`,
    /// that advice is the one in force from now on.
    mutating func switchPlan(
        to plan: ExecutionPlan, at index: Int, reason: String, recommendation: Recommendation? = nil
    ) {
        switches.append(ModeSwitch(atIndex: index, from: self.plan, to: plan, reason: reason))
        self.plan = plan
        if let recommendation { self.recommendation = recommendation }
    }
}

extension AutoExecutor {
    /// The engine of both `run` forms: outputs leave in input order, a batch at a time, through
    /// `deliver`, so collecting them costs one append per batch, not a call per item.
    ///
    /// Every input runs exactly once: the first calls, the profiler's calls (each on a fresh
    /// input, its output kept) and the batches partition the job. On a failure, every output
    /// before the lowest failing index is delivered before the ``MapError`` is thrown.
    func runEngine<Task: PoolTask>(
        _ task: Task.Type, _ inputs: [Task.Input], progress: ProgressCounter?, stopping: JobStop? = nil,
        deliver: ([Task.Output]) throws -> Void
    ) throws -> AutoReport {
        let clock = ContinuousClock()
        let started = clock.now
        // Up front, whatever mode follows: a task no worker could run fails here, the same way
        // on every machine, not only when processes happen to be chosen.
        var outputs = try checkRegistered(task, inputs, progress)
        let isolated = runsInWorkers(task)
        guard inputs.count - outputs.count >= 2 || (isolated && inputs.count > outputs.count) else {
            try runAlone(task, inputs, &outputs, isolated: isolated, progress, deliver)
            return AutoReport(
                profile: nil, recommendation: nil, profiledItems: inputs.count, switches: [],
                profilingSeconds: 0, totalSeconds: (clock.now - started).seconds)
        }
        let first: Sampled<Task.Output>
        if isolated {
            // A crash-prone task is never called in this process: no first calls timed here,
            // a sample profiled in a worker.
            let count = min(inputs.count - outputs.count, max(1, options.sampleSize))
            first = try profile(
                task, inputs, outputs.count..<(outputs.count + count), exactOnce(options.profiler), isolated: true)
        } else {
            let firstCallsStarted = clock.now
            let (timing, firstCall, prior) = try timeFirstCalls(task, inputs, &outputs, progress, deliver)
            // The first calls are the profile's first measurements, and their time is the
            // budget's: a short job's profile may be those calls alone.
            let profilerOptions = budget.options(
                exactOnce(options.profiler), firstCall: timing, items: inputs.count, cores: Machine.usableCores,
                spent: (clock.now - firstCallsStarted).seconds)
            let count = ProfilingBudget.sampleSize(
                profilerOptions, firstCall: timing, remaining: inputs.count - outputs.count,
                maximum: options.maximumSampleSize)
            var sampled = try profile(
                task, inputs, outputs.count..<(outputs.count + count), profilerOptions, isolated: false, after: prior,
                priorOutputs: Array(outputs.suffix(8)))
            // The profiler made no first call of its own (it counted the warm ones): the job's
            // first call is the one that shows what a fresh worker process pays before its first
            // output.
            if let firstCall { sampled.profile.calls.firstCallSeconds = firstCall }
            first = sampled
        }
        let recommendation = advisor.recommend(first.profile, items: inputs.count)
        var state = AutoRunState(
            profile: first.profile, recommendation: recommendation, plan: plan(recommendation, for: task),
            profilingSeconds: (clock.now - started).seconds, profiledItems: outputs.count + first.keptCount)
        progress?.add(first.keptCount)
        if state.runsOnHosts {
            // The hosts were chosen on their predicted time: no trial of this machine's threads
            // stands in for them.
            state.processesChecked = true
        } else if let threads = threadsFirst(task, state, items: inputs.count - first.range.lowerBound) {
            state.threadsStandIn = state.plan.mode == .processes
            state.switchPlan(to: threads, at: first.firstUnreached, reason: threadsFirstReason(state))
            // Threads are the plan now, watched for idle cores (and, standing in for processes,
            // their speed-up): no trial against them.
            state.processesChecked = true
        }
        var done = first.range.upperBound
        // A trial of threads due now starts before any process pool does, on the profile's
        // unreached inputs: a pool started, then stopped for the trial and started again, would
        // pay its start and each worker's cold start twice.
        _ = startTrialIfDue(task, &state, remaining: inputs.count - done, at: first.firstUnreached)
        options.onDecision?(state.recommendation, state.plan)
        var executor = makeExecutor(for: state)
        defer { executor.shutdown() }
        state.watchFloor = options.watchFloor(
            jobSeconds: CostModel(profile: state.profile, machine: advisor.costMachine(cores: Machine.usableCores))
                .seconds(for: state.plan, items: inputs.count))
        var watch = DriftWatch(factor: options.driftFactor, minimumWindowSeconds: state.watchFloor)
        /// Moves the run as `event` asks; returns whether the plan changed.
        func respond(to event: WatchEvent) throws -> Bool {
            switch event {
            case .drifted(let perItem, let reference, let batch):
                let changed = try reprofile(
                    task, inputs, &done, &state, executor, progress, deliver,
                    why:
                        "a window of batches took \(NumberText.seconds(perItem)) an item, \(NumberText.fixed(perItem / reference, decimals: 1))× the best so far (batches of \(batch))"
                )
                if !changed { watch.accept(perItem: perItem) }
                return changed
            case .idleThreads(let utilisation, let others):
                state.threadsFellShort = true
                let changed = reconsider(
                    task, &state, items: inputs.count - done, utilisation: utilisation, othersCores: others, at: done)
                // The advice stands even on the run's own figures: stop asking for this plan.
                if !changed { state.scalingChecked = true }
                return changed
            case .slowStandIn(let speedup, let perItem):
                state.threadsFellShort = true
                // The stand-in was a trial window in all but name: a process plan the advice
                // now picks must beat threads' time per item (a slowdown that is the machine's,
                // the memory bus, slows processes as much).
                state.threadsTrialPerItem = perItem
                state.processesChecked = false
                let changed = reconsider(task, &state, items: inputs.count - done, speedup: speedup, at: done)
                if !changed { state.scalingChecked = true }
                return changed
            case .threadsFaster(let perItem, let threadsPerItem):
                return preferThreads(
                    &state, items: inputs.count - done, perItem: perItem, threadsPerItem: threadsPerItem, at: done)
            case .trialMeasured(let perItem):
                return endTrial(&state, perItem: perItem, at: done)
            }
        }
        let hostBefore = state.threadsStandIn && options.countsOtherPrograms ? HostCPUSnapshot.now() : nil
        let ran = try complete(first, task, inputs, executor, progress, before: outputs, deliver)
        // Threads standing in for processes are judged at once on the profile's unreached
        // inputs, when there were enough of them: a lock the short profile missed then costs
        // those inputs, not the job's first windows too.
        if state.threadsStandIn, done < inputs.count, ran.items >= 4 * min(state.plan.workers, Machine.usableCores),
            ran.seconds >= state.watchFloor / 2
        {
            state.threadsStandIn = false
            if let event = standInVerdict(
                state, items: ran.items, seconds: ran.seconds, cpuSeconds: ran.cpuSeconds,
                othersCores: Self.othersCores(since: hostBefore)),
                try respond(to: event)
            {
                executor.shutdown()
                executor = makeExecutor(for: state)
            }
        }
        // A stop ends the job at the end of what runs now: no new batch, profile or trial.
        while done < inputs.count, stopping?.isStopped != true {
            if startTrialIfDue(task, &state, remaining: inputs.count - done, at: done) {
                executor.shutdown()
                executor = makeExecutor(for: state)
                watch.restart()
            }
            let (next, event) = try runWatched(
                task, inputs, from: done, executor, &state, &watch, progress, stopping: stopping, deliver)
            done = next
            guard let event, done < inputs.count, stopping?.isStopped != true else { continue }
            if try respond(to: event) {
                executor.shutdown()
                executor = makeExecutor(for: state)
                watch.restart()
            }
        }
        return AutoReport(
            profile: first.profile, recommendation: state.recommendation, profiledItems: state.profiledItems,
            switches: state.switches, profilingSeconds: state.profilingSeconds,
            totalSeconds: (clock.now - started).seconds, endingPlan: state.trialReturnsTo ?? state.plan,
            endingPlanRunsOnHosts: state.trialReturnsTo == nil && state.runsOnHosts, keptPlans: state.keptPlans)
    }

    /// An executor for the state's plan: its worker processes on the hosts when the advice
    /// runs there, else on this machine alone.
    func makeExecutor(for state: AutoRunState) -> Executor {
        Executor(
            plan: state.plan,
            processes: state.runsOnHosts
                ? options.processes : options.processes.onThisMachine(workers: state.plan.workers))
    }

    /// The profiling budget from ``Options``.
    var budget: ProfilingBudget {
        ProfilingBudget(share: options.profileShare, minimumSeconds: options.minimumProfileSeconds)
    }

    /// Profiles the next inputs again after a drift (within the same budget as the first
    /// profile, their outputs kept and delivered) and switches when the advice changes.
    /// Returns whether the plan changed.
    func reprofile<Task: PoolTask>(
        _ task: Task.Type, _ inputs: [Task.Input], _ done: inout Int, _ state: inout AutoRunState,
        _ executor: Executor, _ progress: ProgressCounter?, _ deliver: ([Task.Output]) throws -> Void, why: String
    ) throws -> Bool {
        state.reprofiles += 1
        let remaining = inputs.count - done
        // The budget of a job the size of what is left, timed on the profile's own call time.
        let call = CallTiming(
            wallSeconds: state.profile.calls.wallSecondsPerCall.value,
            cpuSeconds: state.profile.calls.threadCPUSecondsPerCall)
        var profilerOptions = budget.options(
            exactOnce(options.profiler), firstCall: call, items: remaining, cores: Machine.usableCores)
        // The task has run all along: no warm-up call.
        profilerOptions.warmCallSeconds = call.wallSeconds
        let count = ProfilingBudget.sampleSize(
            profilerOptions, firstCall: call, remaining: remaining, maximum: options.maximumSampleSize)
        var again = try profile(
            task, inputs, done..<(done + count), profilerOptions, isolated: runsInWorkers(task))
        // The warm-up a fresh worker pays was seen on the job's first call; this profile ran
        // warm (no first call of its own in this process; a worker's was not the job's first).
        again.profile.calls.firstCallSeconds =
            again.profile.calls.wallSecondsPerCall.value + state.profile.calls.warmUpSeconds
        state.profilingSeconds += again.seconds
        state.profiledItems += again.keptCount
        progress?.add(again.keptCount)
        let next = advisor.recommend(again.profile, items: remaining)
        let changed = adopt(
            task, again.profile, advice: next, at: again.range.upperBound, remaining: remaining, why: why, &state)
        // The profiled range's unreached inputs run on the plan in force (the new one if it
        // changed: the caller makes its executor after this returns, so the old one runs them).
        try complete(again, task, inputs, executor, progress, before: [], deliver)
        done = again.range.upperBound
        return changed
    }

    /// What a new profile after a drift does to the run, from input `index` on: the plan is
    /// kept (and recorded in ``AutoReport/keptPlans``) when threads run and processes already
    /// lost to them on a task like this one, else the advice is taken with the same opening as
    /// after the first profile. Returns whether the plan changed.
    func adopt<Task: PoolTask>(
        _ task: Task.Type, _ profile: TaskProfile, advice next: Recommendation, at index: Int, remaining: Int,
        why: String, _ state: inout AutoRunState
    ) -> Bool {
        var nextPlan = plan(next, for: task)
        if state.plan.mode == .threads,
            Self.repeatsLostComparison(nextPlan, lostOn: state.processesLostOn, after: profile)
        {
            // Threads keep what they won: the run goes on as it was, watched as before.
            state.keptPlans.append(
                KeptPlan(
                    atIndex: index, plan: state.plan,
                    reason:
                        "\(why); profiled again: \(next.summary); kept \(state.plan.summary): processes ran no faster than it on a profile like this one"
                ))
            return false
        }
        // The same opening as after the first profile: an unmeasured pipeline starts on threads.
        var fresh = state
        fresh.profile = profile
        fresh.recommendation = next
        fresh.plan = nextPlan
        fresh.processesChecked = false
        let threads = threadsFirst(task, fresh, items: remaining)
        var reason = "\(why); profiled again: \(next.summary)"
        if let threads {
            nextPlan = threads
            reason += "; threads first, \(Self.checkedPlan(fresh.plan)) if they leave cores idle"
        }
        let changed = nextPlan != state.plan
        if changed {
            state.switchPlan(to: nextPlan, at: index, reason: reason, recommendation: next)
        }
        // Threads first are watched, even when they were the plan already.
        if changed || threads != nil { state.scalingChecked = false }
        state.threadsStandIn = threads != nil && fresh.plan.mode == .processes
        state.profile = profile
        // The workload drifted: what threads and processes showed before no longer stands,
        // except that threads left cores idle (no trial brings them back unwatched).
        state.threadsTrialPerItem = nil
        state.processesChecked = threads != nil || state.threadsFellShort
        return changed
    }

}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) * 1e-18
    }
}
