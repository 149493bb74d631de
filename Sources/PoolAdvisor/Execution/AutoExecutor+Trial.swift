internal import PoolExecutors
internal import PoolProfiler

// A process plan chosen because copies on threads sped up only part-way (1.2× or more, short of
// the cores) stands on a guess: that the copies queued on something of this process's own (a
// lock, an allocator), which separate processes escape. When the cause is the machine's instead
// (the memory bus, a shared cache), processes queue on it too and pay start-up and copies on top.
// Unless the profile ran the task in processes too (`ProfilerOptions.processScaling`, which auto
// mode cannot: it calls each input once), it cannot tell the two apart, and the scaling test's
// short runs understate threads.
// A pipeline chosen on a short profile stands on another: that its computing part may not scale
// on threads (the safe reading, unmeasured). So the run measures: one window on threads, then
// the plan, and the rest runs on the faster.

extension AutoExecutor {
    /// The thread plan to try for one window before the process plan or pipeline in force, or
    /// nil when no trial is due: the plan stands on no guess (``checksAgainstThreads(_:_:)``),
    /// a trial already ran, or too little of the job is left to use what it finds.
    func trialOfThreads<Task: PoolTask>(_ task: Task.Type, _ state: AutoRunState, remaining: Int) -> ExecutionPlan? {
        // Threads that already fell short in this run (idle cores, a stand-in's wall clock) were
        // the trial: phase-change's 1 s job, its threads caught queuing on a lock in a window
        // that straddled the change (1.25–1.31×, part-way), went on to a trial window of those
        // same threads, 80 items at half speed, before processes.
        guard state.threadsTrialPerItem == nil, state.trialReturnsTo == nil, !state.threadsFellShort,
            checksAgainstThreads(task, state)
        else {
            return nil
        }
        let machine = advisor.costMachine(cores: Machine.usableCores)
        let model = CostModel(profile: state.profile, machine: machine)
        let plan = state.plan
        // The trial (two batches on threads) and the process windows that follow it (start-up,
        // a first window that pays each worker's cold start, a judged one) take about five
        // windows: they must leave most of the job to run on the faster plan. Shorter jobs keep
        // the advice as it is.
        let left = model.seconds(for: plan, items: remaining)
        guard left >= 10 * max(options.driftMinimumSeconds, options.minimumBatchSeconds) else { return nil }
        return threadPlan(state, items: remaining)
    }

    /// Switches to the trial plan when ``trialOfThreads(_:_:remaining:)`` has one due, from
    /// input `index` on; returns whether it did.
    func startTrialIfDue<Task: PoolTask>(
        _ task: Task.Type, _ state: inout AutoRunState, remaining: Int, at index: Int
    ) -> Bool {
        guard let trial = trialOfThreads(task, state, remaining: remaining) else { return false }
        state.trialReturnsTo = state.plan
        state.switchPlan(to: trial, at: index, reason: trialReason(state))
        return true
    }

    /// The thread plan to start on instead of the advice, or nil when the advice stands: a
    /// process plan or split pipeline chosen only because the profile could not measure the
    /// speed-up on threads (a budget too short for three clean scaling rounds; a staged task's
    /// computing part, which auto cannot test alone since it calls each input once).
    ///
    /// Such a plan is insurance against copies that queue on something threads share; when
    /// they do not, it pays start-up and shipping for nothing (on `mixed`, 11–29 % over threads;
    /// on 0.3 s CPU-bound jobs, 5–14 %). What the profile did see rules out most of the risk:
    /// a scaling round whose copies burnt little extra CPU (E_cpu 0.75 or more: no spinning, no
    /// cache line bounced between cores; a task bound by the memory bus reads about 0.8, and one
    /// short round reads ±0.1) and were not seen waiting on a lock. What is left,
    /// copies that sleep on something, leaves cores idle, which the idle-thread check
    /// (``ObservedScaling``) sees within a window: the run then moves to the advice, on the
    /// speed-up it showed. With no scaling round at all (a budget too short for one), the run's
    /// first window decides alone: idle cores, or copies that spin and so fall short of the
    /// cores on the wall clock (``ObservedScaling/standInFallsShort(speedup:threads:cores:)``).
    func threadsFirst<Task: PoolTask>(_ task: Task.Type, _ state: AutoRunState, items: Int) -> ExecutionPlan? {
        let plan = state.plan
        let profile = state.profile
        let scaling = profile.scaling
        let cores = Machine.usableCores
        let model = CostModel(profile: profile, machine: advisor.costMachine(cores: cores))
        guard cores >= 2, !state.processesChecked, !state.threadsFellShort, !runsInWorkers(task),
            profile.declared?.notThreadSafe != true, profile.declared?.runsCommand != true,
            let rule = state.recommendation.decidingRule?.rule, Self.insuranceRules.contains(rule),
            scaling?.speedup == nil, model.busyOthersCores == nil
        else { return nil }
        switch plan.mode {
        case .pipeline:
            guard plan.computeStage == .processes, scaling?.noisyHost != true else { return nil }
        case .processes:
            // A clean scaling round at least, and a few samples of the copies, almost all of
            // them running: a lock, a semaphore or anything else they waited on a tenth of the
            // time or more would most likely show. What a short profile missed (copies that
            // sleep, or spin in a round whose rival was descheduled) the run's first judged
            // window shows: idle cores, or a wall-clock speed-up short of the cores
            // (``ObservedScaling/standInFallsShort(speedup:threads:cores:)``).
            // With no scaling round at all (a short job's budget held none), the run's first
            // judged window is the only check, and it is made before much of the job has run.
            guard let scaling else { break }
            // A clean round whose copies came within a tenth of the cores on the wall clock
            // shows no lock either, whatever the sampler caught: text-words' 0.3 s jobs read
            // 1.91× in their one round, two samples of the copies, and stayed on processes at
            // 1.13× the threads' time.
            // So does a clean round whose copies kept the cores busy, never waiting, though each
            // burnt more CPU a call (``ObservedScaling/keptCoresBusy(_:threads:cores:)``).
            let nearTheCores = scaling.rounds.contains {
                $0.isClean
                    && (ObservedScaling.nearTheCores(
                        speedup: $0.speedup(threads: scaling.threads), threads: scaling.threads, cores: cores)
                        || ObservedScaling.keptCoresBusy($0, threads: scaling.threads, cores: cores))
            }
            // nil: too few samples of the copies to tell.
            let running = scaling.waits.flatMap { waits -> Bool? in
                guard waits.counts.total >= 3 else { return nil }
                return Double(waits.counts[.running] + waits.counts[.transition])
                    >= 0.95 * Double(waits.counts.total)
            }
            guard scaling.cleanRounds >= 1, scaling.cpuEfficiency.value >= Self.standInEfficiency,
                running ?? nearTheCores
            else { return nil }
            // A clean round whose copies made no progress on the wall clock (under 1.2×) already
            // shows what the run's check would find (copies that sleep on a lock burn no extra
            // CPU, so E_cpu stays near 1 while two run no faster than one): the advice stands.
            // A round part-way (1.2× or more, short of the cores) decides nothing: one short
            // round of a task that scales read 1.25–1.65 on two cores, and the run's first
            // window, many calls long, measures the same speed-up better.
            let madeNoProgress = scaling.rounds.contains {
                $0.isClean && $0.speedup(threads: scaling.threads) < 1.2
            }
            guard !madeNoProgress else { return nil }
        case .serial, .threads:
            return nil
        }
        let threads = threadPlan(state, items: items)
        guard
            ObservedScaling.isChecked(
                cpuRatio: profile.calls.cpuRatio.value, threads: threads.workers, cores: cores)
        else { return nil }
        // Room for the check: a few windows of the job must be left to run on threads, or the
        // plan would go unwatched.
        let left = model.seconds(for: threads, items: items)
        return left >= 4 * max(options.driftMinimumSeconds, options.minimumBatchSeconds) ? threads : nil
    }

    /// The least CPU efficiency of the profile's copies for threads to stand in for processes:
    /// spinners read 0.5 or less, a cache line bounced between cores less still, while
    /// memory-scan (bound by the memory bus, where threads beat processes that each rebuild its
    /// table) read 0.73–0.96 in one short round. What passes is judged on the run's wall clock.
    static let standInEfficiency = 0.65

    /// The rules whose plan is insurance against an unmeasured speed-up (see
    /// ``threadsFirst(_:_:items:)``): any other rule's plan stands, in the default rules or a
    /// file of the user's own.
    static let insuranceRules: Set<String> = ["cpu-scaling-unmeasured-processes", "mixed-split-pipeline"]

    /// The thread plan a process plan or pipeline is checked against: for a task that computes,
    /// the copies the rules run CPU-bound work on (one per core, twice that beside a busy
    /// program: ``CostModel/cpuWorkers(items:)``), chunked as the cost model sizes them; for one that also waits, as
    /// many threads as the rules give a one-stage mixed task (four times the count that keeps the
    /// cores busy), one item at a time.
    func threadPlan(_ state: AutoRunState, items: Int) -> ExecutionPlan {
        let cores = Machine.usableCores
        let ratio = state.profile.calls.cpuRatio.value
        if state.plan.mode == .pipeline, ratio.isFinite, ratio > 0 {
            let workers = min(64, max(cores, Int((4 * Double(cores) / max(ratio, 0.02)).rounded(.up))))
            return limited(ExecutionPlan(mode: .threads, workers: max(1, min(workers, items)), chunkSize: 1))
        }
        let machine = advisor.costMachine(cores: cores)
        let model = CostModel(profile: state.profile, machine: machine)
        let workers = model.cpuWorkers(items: items)
        let chunk = model.chunk(items: items, workers: workers, overhead: machine.threadDispatchSeconds)
        return limited(ExecutionPlan(mode: .threads, workers: workers, chunkSize: chunk))
    }

    /// How the switch records name a plan checked against threads.
    static func checkedPlan(_ plan: ExecutionPlan) -> String { plan.mode == .pipeline ? "the pipeline" : "processes" }

    /// Why the run tries threads first, for the switch record.
    func trialReason(_ state: AutoRunState) -> String {
        guard let speedup = state.profile.scaling?.speedup?.value else {
            return
                "a trial window on threads first: the profile did not measure whether the computing part scales on threads, and the pipeline is kept only if it beats them"
        }
        // Only a process plan is skipped when threads come near the cores (``endTrial``): a
        // pipeline's threads are sized for waits, and their speed-up can pass the cores.
        let tried =
            state.plan.mode == .processes ? "tried only if threads stay short of nine tenths of the cores, and " : ""
        return
            "a trial window on threads first: copies on threads sped up \(NumberText.fixed(speedup, decimals: 2))× in the scaling test, short of the cores, and \(Self.checkedPlan(state.plan)) will be \(tried)kept only if faster"
    }

    /// Why the run starts on threads rather than the advice (``threadsFirst(_:_:items:)``).
    func threadsFirstReason(_ state: AutoRunState) -> String {
        guard state.plan.mode == .processes else {
            return
                "threads first: the profile did not measure whether the computing part scales on threads, the pipeline's reason to compute on processes; the run moves there if the threads leave cores idle"
        }
        guard let scaling = state.profile.scaling else {
            return
                "threads first: the speed-up on threads was not measured (the profile ran no scaling round), processes' reason; the run moves to processes if the threads leave cores idle or fall short of the cores"
        }
        let efficiency = NumberText.fixed(scaling.cpuEfficiency.value, decimals: 2)
        return
            "threads first: the speed-up on threads was not measured, processes' reason; the copies waited on no lock (E_cpu \(efficiency)), and the run moves to processes if the threads leave cores idle or fall short of the cores"
    }

    /// Ends a trial window: records threads' time per item and returns to the process plan,
    /// unless the threads came within a tenth of the cores (``ObservedScaling/nearTheCores(speedup:threads:cores:)``
    /// on one call alone over the window's time per item): processes could then gain a tenth at
    /// most, and their window would pay the pool's start and each worker's cold start first
    /// (json-coding's 1 s jobs went threads → processes → threads, the trial's threads at
    /// 1.9×). Returns whether the plan changed.
    func endTrial(_ state: inout AutoRunState, perItem: Double, at index: Int) -> Bool {
        guard let back = state.trialReturnsTo else { return false }
        state.trialReturnsTo = nil
        state.threadsTrialPerItem = perItem
        let speedup = state.profile.calls.wallSecondsPerCall.value / max(perItem, 1e-12)
        if back.mode == .processes,
            ObservedScaling.nearTheCores(speedup: speedup, threads: state.plan.workers, cores: Machine.usableCores)
        {
            // Threads stay, the plan in force since the trial began (whose reason says so).
            state.processesChecked = true
            state.scalingChecked = true
            state.processesLostOn = state.profile
            return false
        }
        state.switchPlan(
            to: back, at: index,
            reason:
                "threads took \(NumberText.seconds(perItem)) an item in the trial window; \(Self.checkedPlan(back)) next, kept only if faster"
        )
        return true
    }

    /// Whether the plan in force stands on a guess a window of threads can check: a process
    /// plan after copies on threads sped up 1.2× or more in the scaling test on a quiet host,
    /// with as many copies as the plan has workers (copies that made no progress at all, a
    /// lock, are what processes are for, and a process plan slower than that is the host's
    /// load); or a pipeline computing in processes, chosen without a measured speed-up (or a
    /// partial one). Only for a task that may run on threads here.
    func checksAgainstThreads<Task: PoolTask>(_ task: Task.Type, _ state: AutoRunState) -> Bool {
        let plan = state.plan
        guard !state.processesChecked, !runsInWorkers(task), state.profile.declared?.notThreadSafe != true else {
            return false
        }
        let scaling = state.profile.scaling
        let speedup = scaling?.speedup?.value
        // Processes the profile measured clearly faster than threads need no trial.
        if let speedup, let processes = scaling?.processSpeedup?.value, processes > 1.1 * speedup { return false }
        switch plan.mode {
        case .processes:
            guard let scaling, !scaling.noisyHost, let speedup, speedup.isFinite else { return false }
            return speedup >= 1.2 && scaling.threads >= min(plan.workers, Machine.usableCores)
        case .pipeline:
            guard scaling?.noisyHost != true else { return false }
            return plan.computeStage == .processes && (speedup.map { $0.isFinite && $0 >= 1.2 } ?? true)
        case .serial, .threads:
            return false
        }
    }

    /// Threads' time per item that the plan in force must beat: the trial window's when one
    /// ran, else, for a process plan, the scaling test's (the profile's call time over its
    /// speed-up); nil when the plan is not checked (see ``checksAgainstThreads(_:_:)``).
    func threadsReference<Task: PoolTask>(_ task: Task.Type, _ state: AutoRunState) -> Double? {
        guard checksAgainstThreads(task, state) else { return nil }
        if let trial = state.threadsTrialPerItem { return trial }
        guard state.plan.mode == .processes, let speedup = state.profile.scaling?.speedup?.value else { return nil }
        return state.profile.calls.wallSecondsPerCall.value / speedup
    }

    /// A process plan or pipeline ran no faster than threads did: the rest runs on threads
    /// (``threadPlan(_:items:)``). Checked once a run; the idle-thread check is off
    /// afterwards, so the plan cannot flip back and forth.
    func preferThreads(
        _ state: inout AutoRunState, items: Int, perItem: Double, threadsPerItem: Double, at index: Int
    ) -> Bool {
        state.processesChecked = true
        state.scalingChecked = true
        // A pipeline that lost says nothing of a process plan, which it never ran.
        if state.plan.mode == .processes { state.processesLostOn = state.profile }
        let threads = threadPlan(state, items: items)
        let measured = state.threadsTrialPerItem != nil ? "in the trial window" : "in the scaling test"
        state.switchPlan(
            to: threads, at: index,
            reason:
                "\(Self.checkedPlan(state.plan)) took \(NumberText.seconds(perItem)) an item, no better than the \(NumberText.seconds(threadsPerItem)) threads managed \(measured): \(state.plan.mode == .pipeline ? "its computing part scales on threads, which ship nothing between stages" : "the copies' slowdown is the machine's, which processes share"), so threads"
        )
        return true
    }

    /// Whether a new profile's process plan `next` would only repeat a comparison this run
    /// already made: processes lost to threads (or threads came near the cores) on `lostOn`,
    /// and the task, profiled again after a drift, still takes about the time a call took then
    /// (within half as much again either way) and still scales on threads part-way: 1.2× or
    /// more (the speed-up that made processes a guess worth a trial), and at least four fifths
    /// of the speed-up it had then. The drift was then the host's: memory-scan's 3 s job, a
    /// window slowed 1.7× by a busy neighbour, went threads → a second trial → processes →
    /// threads, paying the pool's start and a slow window again. A lock that appears later
    /// (phase-change: copies at 1.25–1.31× where they ran at 1.9×) falls below four fifths:
    /// processes' case is new, and the advice is followed.
    static func repeatsLostComparison(_ next: ExecutionPlan, lostOn: TaskProfile?, after: TaskProfile) -> Bool {
        guard let before = lostOn, next.mode == .processes, let speedup = after.scaling?.speedup?.value,
            speedup.isFinite, speedup >= 1.2
        else { return false }
        if let was = before.scaling?.speedup?.value, was.isFinite, speedup < 0.8 * was { return false }
        let was = before.calls.wallSecondsPerCall.value
        let now = after.calls.wallSecondsPerCall.value
        guard was > 0, now > 0 else { return false }
        return now <= 1.5 * was && was <= 1.5 * now
    }
}
