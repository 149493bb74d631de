internal import Foundation
internal import PoolExecutors
internal import PoolProfiler

/// The watched loop of an auto run: batches queued one behind the other on the plan in force,
/// judged in windows as they end (and, on a thread plan, while they run) for drift, idle cores,
/// a trial's figure and processes that do no better than threads.
extension AutoExecutor {
    /// What made the watched loop stop queueing batches.
    enum WatchEvent {
        /// A window ran slower than the drift factor allows.
        case drifted(perItem: Double, reference: Double, batch: Int)
        /// A thread plan kept too few cores busy for a task that computes, beside other programs
        /// that kept `othersCores` busy (as ``ObservedScaling/countedOthers(_:cores:)`` counts them).
        case idleThreads(utilisation: Double, othersCores: Double)
        /// Threads standing in for a process plan sped up short of the cores (wall clock), at
        /// this time per item.
        case slowStandIn(speedup: Double, perItem: Double)
        /// A process plan ran no faster per item than threads did (in a trial window, or else
        /// in the scaling test).
        case threadsFaster(perItem: Double, threadsPerItem: Double)
        /// A trial window of threads ended: their time per item.
        case trialMeasured(perItem: Double)
    }

    /// Runs batches from `start` with the current plan, each queued behind the one before, and
    /// watches them. Returns where it stopped and why: the end of the job, or an event (the
    /// batches already queued then finish first, so little of the job rides on the old plan).
    func runWatched<Task: PoolTask>(
        _ task: Task.Type, _ inputs: [Task.Input], from start: Int, _ executor: Executor,
        _ state: inout AutoRunState, _ watch: inout DriftWatch, _ progress: ProgressCounter?, stopping: JobStop? = nil,
        _ deliver: ([Task.Output]) throws -> Void
    ) throws -> (next: Int, event: WatchEvent?) {
        let clock = ContinuousClock()
        let plan = state.plan
        let model = CostModel(profile: state.profile, machine: advisor.costMachine(cores: Machine.usableCores))
        // The cost of one more item: the pool's start and each worker's warm-up are paid once,
        // not by every item of every batch.
        let perItem = max(
            (model.seconds(for: plan, items: 2000) - model.seconds(for: plan, items: 1000)) / 1000, 1e-9)
        let sizing = BatchSizing(
            maximumSeconds: options.watchSeconds, minimumSeconds: options.batchFloor(watchFloor: state.watchFloor),
            riskShare: options.batchRiskShare)
        // Checked on every window of a thread plan whose copies should keep the cores busy,
        // until a check leaves the plan as it is; not in a trial, which only measures. A mixed
        // task counts: its profile can read a call that sleeps on a lock as one that waits.
        // Not for a task that runs a command: its CPU is the command's, outside the pool's threads.
        let checksCores =
            plan.mode == .threads && state.trialReturnsTo == nil && !state.scalingChecked
            && state.profile.declared?.runsCommand != true
            && ObservedScaling.isChecked(
                cpuRatio: state.profile.calls.cpuRatio.value, threads: plan.workers, cores: Machine.usableCores)
        var threadsPerItem = threadsReference(task, state)
        var next = start
        var queued: [(range: Range<Int>, batch: RunningBatch<Task.Output>)] = []
        var event: WatchEvent?
        func queueBatch() {
            guard event == nil, stopping?.isStopped != true, next < inputs.count else { return }
            let count = sizing.items(
                secondsPerItem: perItem, remaining: inputs.count - next, workers: plan.workers,
                chunk: plan.chunkSize ?? 1)
            let range = next..<(next + count)
            queued.append((range, executor.startBatch(task, inputs, range, progress: progress)))
            next = range.upperBound
        }
        // Whatever ends the loop early (a failure, a `deliver` that throws) stops the batches
        // still queued: their inputs are past the end of the job, and must not start.
        defer { for later in queued { later.batch.cancel() } }
        // The pool's own workers' CPU: other threads of this program (other jobs, a server's
        // requests, other test suites) must not fill the cores the check finds idle.
        let readsHost = options.countsOtherPrograms && (checksCores || state.threadsStandIn)
        var windowStart = WindowStart(
            time: clock.now, cpu: executor.threadWorkersCPUSeconds, host: readsHost ? HostCPUSnapshot.now() : nil)
        var lastEnd = windowStart.time
        queueBatch()
        queueBatch()
        while !queued.isEmpty {
            let (range, batch) = queued.removeFirst()
            // Not in the plan's first window, which pays the pool's start and fill.
            if checksCores, event == nil, watch.reference.isFinite,
                let idle = Self.idleWhileWaiting(
                    for: batch, queued.last?.batch, since: windowStart, floor: state.watchFloor, threads: plan.workers,
                    cpuRatio: state.profile.calls.cpuRatio.value, workersCPU: { executor.threadWorkersCPUSeconds })
            {
                event = .idleThreads(utilisation: idle.utilisation, othersCores: idle.othersCores)
                queued.last?.batch.truncate()
            }
            let (outputs, failure) = batch.wait()
            let now = clock.now
            if let failure {
                // Later batches stop (the deferred cancel): their inputs are past the failure,
                // which ends the job. Their running items finish before the executor's pools
                // shut down (not waited for here: a cancelled process stream never ends).
                try deliver(outputs)
                throw failure
            }
            try deliver(outputs)
            if outputs.count < range.count {
                // Cut when an event stopped the watch: only the last batch queued is ever cut,
                // and the job goes on from the first input it did not run. A short batch with
                // anything queued behind it would leave a gap: an error, not a guess.
                guard event != nil || stopping?.isStopped == true, queued.isEmpty else {
                    throw MapError(index: range.lowerBound + outputs.count, error: CancellationError())
                }
                next = range.lowerBound + outputs.count
                continue
            }
            let seconds = (now - lastEnd).seconds
            lastEnd = now
            guard event == nil else { continue }
            let verdict = watch.observe(items: range.count, seconds: seconds)
            switch verdict {
            case .measuring:
                break
            case .first(let perItem), .steady(let perItem), .drifted(let perItem, _):
                let cpu = executor.threadWorkersCPUSeconds
                let window = (now - windowStart.time).seconds
                let windowCPU = cpu - windowStart.cpu
                let judged = windowStart
                windowStart = WindowStart(time: now, cpu: cpu, host: readsHost ? HostCPUSnapshot.now() : nil)
                // Idle threads first: the run's own figures decide at once, with no new
                // profile (a window that drifted because copies began to queue shows it too).
                if state.trialReturnsTo != nil {
                    // The first window pays the pool's fill (no item in flight at its start),
                    // which the plan's own judged windows never include: a trial measures threads
                    // against processes on a margin of a few percent, where a stand-in's check
                    // (below) looks for a shortfall of a quarter.
                    if !verdict.isFirst { event = .trialMeasured(perItem: perItem) }
                    break
                }
                if checksCores,
                    let idle = Self.idleVerdict(
                        cpuSeconds: windowCPU, wallSeconds: window, since: judged, threads: plan.workers,
                        cpuRatio: state.profile.calls.cpuRatio.value)
                {
                    event = .idleThreads(utilisation: idle.utilisation, othersCores: idle.othersCores)
                    break
                }
                // Threads standing in for processes: once, on the first window, whose inputs
                // are the profile's neighbours (later inputs may be larger). A thread pool's
                // start is a few threads, microseconds against a window of milliseconds, and
                // each later window of a task that spins on a lock costs half of itself (a
                // 0.3 s job judged on its second window ran 21 of 180 inputs at 1.1×).
                if state.threadsStandIn, plan.mode == .threads {
                    state.threadsStandIn = false
                    let speedup = state.profile.calls.wallSecondsPerCall.value / max(perItem, 1e-12)
                    if ObservedScaling.standInFallsShort(
                        speedup: speedup, threads: plan.workers, cores: Machine.usableCores,
                        othersCores: Self.othersCores(since: judged.host))
                    {
                        event = .slowStandIn(speedup: speedup, perItem: perItem)
                        break
                    }
                }
                if case .drifted(_, let reference) = verdict {
                    // Worth a new profile only with room left to use it.
                    if state.reprofiles < options.maximumSwitches, inputs.count - next >= 4 * max(1, options.sampleSize)
                    {
                        event = .drifted(perItem: perItem, reference: reference, batch: range.count)
                    } else {
                        watch.accept(perItem: perItem)
                    }
                } else if case .steady = verdict, let reference = threadsPerItem {
                    if perItem > 1.05 * reference {
                        event = .threadsFaster(perItem: perItem, threadsPerItem: reference)
                    } else if state.threadsTrialPerItem != nil {
                        // Processes beat a live window of threads: settled for this run.
                        state.processesChecked = true
                        threadsPerItem = nil
                    }
                }
            }
            if event != nil || stopping?.isStopped == true, let last = queued.last {
                // The batch queued behind this one need not ride on a plan that may be about
                // to change (nor run at all, once the job is stopped): it ends at what its
                // workers have claimed (a thread pool cuts a batch at a prefix; other plans run
                // it whole, so what they started is delivered). Only the last batch is cut, so
                // the outputs stay in order with no gap.
                last.batch.truncate()
            }
            queueBatch()
        }
        return (next, event)
    }

    /// Waits for a thread plan's `batch` in steps of the watch floor and, while it runs, judges
    /// the window so far (from `since`, once it spans two steps) for idle cores: the utilisation, when the pool's
    /// threads kept too few cores busy though `next`, the batch queued behind, still had items
    /// none of them had taken; nil when the batch ended first.
    ///
    /// Judged only at batch ends, a lock caught a job late: its waiters starve (the holder takes
    /// the lock again, and then the next batch's items), so the batch holding a starved item
    /// ended only when the next one had run too: phase-change's 1 s job ran two batches, 60
    /// items, at half speed after the change. Work left unclaimed is what makes idle cores
    /// evidence: at a job's heavy-tailed end, threads idle because nothing is left to take.
    static func idleWhileWaiting<Output>(
        for batch: RunningBatch<Output>, _ next: RunningBatch<Output>?,
        since windowStart: WindowStart, floor: Double, threads: Int, cpuRatio: Double, workersCPU: () -> Double
    ) -> (utilisation: Double, othersCores: Double)? {
        guard let waitsBriefly = batch.waitsBriefly, let next else { return nil }
        let step = floor.isFinite ? max(floor, 1e-3) : 0.05
        while !waitsBriefly(step) {
            let window = (ContinuousClock.now - windowStart.time).seconds
            // Twice the floor a judged window at a batch's end needs: a window still open is
            // read at every step, and a few milliseconds of stolen cores must not pass for a lock.
            guard window >= 2 * step, next.hasUnclaimedItems() else { continue }
            if let idle = idleVerdict(
                cpuSeconds: workersCPU() - windowStart.cpu, wallSeconds: window, since: windowStart, threads: threads,
                cpuRatio: cpuRatio)
            {
                return idle
            }
        }
        return nil
    }

    /// Where a judged window began: the time, the pool's workers' CPU, and the machine's
    /// counters when the window's checks read other programs' load (nil otherwise).
    struct WindowStart {
        var time: ContinuousClock.Instant
        var cpu: Double
        var host: HostCPUSnapshot?
    }

    /// Other programs' busy cores since `start`, as the checks count them: 0 on a quiet host
    /// or when not measured (``ObservedScaling/countedOthers(_:cores:)``).
    /// The machine's counters cover every CPU; on a host where this process may use fewer
    /// (an affinity mask, a cgroup quota), others' load is taken to spread evenly, and only the
    /// usable cores' share of it counts.
    static func othersCores(since start: HostCPUSnapshot?) -> Double {
        guard let start, let now = HostCPUSnapshot.now(),
            let others = HostLoad.othersCores(from: start, to: now, countingSteal: false)
        else { return 0 }
        let usable = Machine.usableCores
        let share = min(1, Double(usable) / Double(max(1, now.cpus)))
        return ObservedScaling.countedOthers(others * share, cores: usable)
    }

    /// Whether threads that kept their workers busy `cpuSeconds` over `wallSeconds` fell short,
    /// even after other programs' share of the cores since the window began: the utilisation
    /// and the others counted, or nil. The machine's counters at the window's end are read
    /// only when the threads fell short without them (a read each step of a window still open
    /// is not free; the window's start reads them once). Beside
    /// a busy loop, two threads of large-payload kept 1.27 of 2 cores busy, their even share,
    /// and read as copies on a lock: the 0.3 s job moved to serial, at 1.45–3× the best.
    static func idleVerdict(
        cpuSeconds: Double, wallSeconds: Double, since start: WindowStart, threads: Int, cpuRatio: Double
    ) -> (utilisation: Double, othersCores: Double)? {
        let cores = Machine.usableCores
        let utilisation = ObservedScaling.utilisation(
            cpuSeconds: cpuSeconds, wallSeconds: wallSeconds, threads: threads, cores: cores)
        guard ObservedScaling.fallsShort(utilisation: utilisation, cpuRatio: cpuRatio, threads: threads, cores: cores)
        else { return nil }
        let others = othersCores(since: start.host)
        guard
            ObservedScaling.fallsShort(
                utilisation: utilisation, cpuRatio: cpuRatio, threads: threads, cores: cores, othersCores: others)
        else { return nil }
        return (utilisation, others)
    }
}
