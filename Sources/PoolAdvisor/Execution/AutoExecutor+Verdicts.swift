internal import PoolExecutors
internal import PoolProfiler

// The run's own verdicts on a thread plan (idle cores, a stand-in's speed-up) and what follows
// them; and the job's first calls, timed alone, before any profile.

extension AutoExecutor {
    /// Threads standing in for a process plan, judged on a stretch of their own run (`items`
    /// inputs in `seconds`, their workers busy `cpuSeconds`): cores left idle, or a wall-clock
    /// speed-up short of the cores. Nil when they held up, or when the stretch is too short to
    /// judge: under four inputs a thread, the last inputs' drain (one thread finishing alone)
    /// would weigh too much. (The caller also wants half a judged window's time at least: the
    /// threads' start weighs on a stretch of a few milliseconds.)
    /// `othersCores`: other programs' busy cores over the stretch, as
    /// ``ObservedScaling/countedOthers(_:cores:)`` counts them.
    func standInVerdict(
        _ state: AutoRunState, items: Int, seconds: Double, cpuSeconds: Double, othersCores: Double = 0
    ) -> WatchEvent? {
        let plan = state.plan
        let cores = Machine.usableCores
        guard plan.mode == .threads, items >= 4 * min(plan.workers, cores), seconds > 0 else { return nil }
        let utilisation = ObservedScaling.utilisation(
            cpuSeconds: cpuSeconds, wallSeconds: seconds, threads: plan.workers, cores: cores)
        if ObservedScaling.fallsShort(
            utilisation: utilisation, cpuRatio: state.profile.calls.cpuRatio.value, threads: plan.workers, cores: cores,
            othersCores: othersCores)
        {
            return .idleThreads(utilisation: utilisation, othersCores: othersCores)
        }
        let perItem = seconds / Double(items)
        let speedup = Self.drainFree(
            state.profile.calls.wallSecondsPerCall.value / perItem, items: items, chunk: plan.chunkSize ?? 1,
            threads: min(plan.workers, cores))
        guard
            ObservedScaling.standInFallsShort(
                speedup: speedup, threads: plan.workers, cores: cores, othersCores: othersCores)
        else {
            return nil
        }
        return .slowStandIn(speedup: speedup, perItem: perItem)
    }

    /// `speedup`, measured on a stretch of `items` inputs handed out `chunk` at a time to
    /// `threads` threads, with the stretch's drain taken out: its last chunk runs on one thread
    /// for half a chunk's time on average, so `items` inputs take `items / threads + chunk / 2`
    /// inputs' time at best, not `items / threads`. On a long stretch this is `speedup`; on the
    /// profile's leftovers it is not: memory-scan's 62 inputs in chunks of 5 on 2 threads can
    /// show 1.85× at most, and their 1.43× read as threads falling short of the cores (under
    /// 1.5×), which sent a 0.3 s job to processes at 1.35× the threads' time.
    static func drainFree(_ speedup: Double, items: Int, chunk: Int, threads: Int) -> Double {
        let n = Double(max(1, items))
        let w = Double(max(1, threads))
        let reachable = n / min(n, n / w + Double(max(1, min(chunk, items))) / 2)
        return speedup * w / max(1, reachable)
    }

    /// A thread plan kept too few cores busy: the profile's scaling gives way to what the run
    /// showed, and the advice is asked again for the rest. Returns whether the plan changed.
    func reconsider<Task: PoolTask>(
        _ task: Task.Type, _ state: inout AutoRunState, items: Int, utilisation: Double, othersCores: Double = 0,
        at index: Int
    ) -> Bool {
        let cores = Machine.usableCores
        let threads = min(state.plan.workers, cores)
        let ratio = state.profile.calls.cpuRatio.value
        // Judged against what all the plan's threads should keep busy, reported on the cores
        // they could use (the scaling test's copies).
        let speedup = ObservedScaling.speedup(
            utilisation: utilisation, cpuRatio: ratio, threads: state.plan.workers, cores: cores,
            othersCores: othersCores)
        // What the threads get done now against what one call alone would beside the same
        // programs: the figure serial competes with (the one above is the task's own, as if
        // the host were quiet, for the advice).
        let alone = ObservedScaling.expectedUtilisation(
            cpuRatio: ratio, threads: 1, cores: cores, othersCores: othersCores)
        let againstSerial = utilisation * Double(threads) / max(alone, 1e-9)
        return reconsider(
            task, &state, items: items, speedup: speedup, againstSerial: againstSerial, at: index,
            why:
                "\(state.plan.workers) threads kept \(NumberText.fixed(utilisation * Double(threads), decimals: 2)) of \(threads) cores busy for a task that computes \(NumberText.fixed(ratio * 100, decimals: 0)) % of its time alone"
                + (othersCores > 0
                    ? ", beside other programs holding \(NumberText.fixed(othersCores, decimals: 2)) cores" : "")
        )
    }

    /// Threads standing in for a process plan sped up short of the cores on the wall clock:
    /// the advice is asked again on that speed-up. Returns whether the plan changed.
    func reconsider<Task: PoolTask>(
        _ task: Task.Type, _ state: inout AutoRunState, items: Int, speedup: Double, at index: Int
    ) -> Bool {
        reconsider(
            task, &state, items: items, speedup: speedup, at: index,
            why:
                "\(state.plan.workers) threads standing in for processes ran \(NumberText.fixed(speedup, decimals: 2))× as fast as one call alone"
        )
    }

    /// The speed-up from which running threads go on rather than move to serial mid-run.
    static var keepsRunningThreads: Double { 1.1 }

    /// The advice asked again on the speed-up the run showed; the switch record says `why`.
    /// `againstSerial`: the threads' speed-up over one call alone as the host is now (the
    /// wall clock's, for a stand-in); `speedup` when not given.
    private func reconsider<Task: PoolTask>(
        _ task: Task.Type, _ state: inout AutoRunState, items: Int, speedup: Double, againstSerial: Double? = nil,
        at index: Int, why: String
    ) -> Bool {
        let threads = min(state.plan.workers, Machine.usableCores)
        let profile = ObservedScaling.profile(state.profile, observedSpeedup: speedup, threads: threads)
        let next = advisor.recommend(profile, items: items)
        let nextPlan = plan(next, for: task)
        state.profile = profile
        // Serial is advised when a pool's gain would not pay for its start; this pool has
        // started, so threads that still beat one call alone keep going. (Beside a busy loop,
        // large-payload's four threads held 1.0–1.3 of 2 cores, speed-up 1.24–1.39, and the
        // 0.3 s job moved to serial at 1.5–3× the best.)
        if nextPlan.mode == .serial, state.plan.mode == .threads,
            (againstSerial ?? speedup) >= Self.keepsRunningThreads
        {
            return false
        }
        guard nextPlan != state.plan else { return false }
        state.switchPlan(
            to: nextPlan, at: index,
            reason: "\(why) (speed-up \(NumberText.fixed(speedup, decimals: 2))): \(next.summary)",
            recommendation: next)
        return true
    }

    /// Runs the first inputs alone, timed (two calls, then up to 16 or until the calls after the
    /// first took 2 ms), keeping their outputs in `outputs`; returns the time of one call (the
    /// fastest, since a first call is cold: a first call that builds a table once per process
    /// would otherwise size the whole profile's budget, 50× too large for memory-scan), the
    /// first call's time as a warm-up reads it (``warmCallSeconds(_:typical:)``), which shows
    /// what a fresh process pays when this one had not run the task before, and the warm calls'
    /// measurements, which the profile counts as its first (``PoolProfiler/PriorCalls``): on a
    /// short job they are most of what its budget allows.
    /// A failure delivers the outputs before it and throws its ``MapError``.
    func timeFirstCalls<Task: PoolTask>(
        _ task: Task.Type, _ inputs: [Task.Input], _ outputs: inout [Task.Output], _ progress: ProgressCounter?,
        _ deliver: ([Task.Output]) throws -> Void
    ) throws -> (call: CallTiming, firstCallSeconds: Double?, prior: PriorCalls) {
        var timing = CallTiming(wallSeconds: .infinity, cpuSeconds: 0)
        var firstCall: CallTiming?
        var spentAfterFirst = 0.0
        var prior = PriorCalls()
        let firstTimed = outputs.count
        while outputs.count < min(firstTimed + 16, inputs.count - 1)
            && (outputs.count <= firstTimed + 1 || spentAfterFirst < 0.002)
        {
            let index = outputs.count
            do {
                let (output, measured) = try prior.measure(recorded: firstCall != nil) { try Task.run(inputs[index]) }
                outputs.append(output)
                if firstCall == nil { firstCall = measured } else { spentAfterFirst += measured.wallSeconds }
                if measured.wallSeconds < timing.wallSeconds { timing = measured }
            } catch {
                try deliver(outputs)
                throw MapError(index: index, error: error)
            }
            progress?.add(1)
        }
        let warm = Self.warmCallSeconds(firstCall, typical: timing)
        // A call of a few microseconds is timed badly on its own: reading the clocks costs about
        // as much, and an estimate twice too long doubles the profiling budget. About 2 ms of
        // such calls more, timed as one group, give the time per call (their outputs are kept).
        guard timing.wallSeconds < 20e-6 else { return (timing, warm, prior) }
        let group = outputs.count..<min(inputs.count - 1, outputs.count + Int(0.002 / timing.wallSeconds))
        guard group.count >= 16 else { return (timing, warm, prior) }
        var index = group.lowerBound
        // One call's record is mostly the clocks' cost: the group's replaces them.
        prior.discardRecords()
        do {
            let (_, measured) = try prior.measure(calls: group.count) {
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
        return (timing, warm, prior)
    }

    /// The first call's time as a warm-up reads it: its own time, wall less the wait for a core
    /// (a busy neighbour holding the core cannot stretch it, and a warm-up that waits, loading
    /// a file or connecting, counts in full). Where the wait for a core is not measured: for a
    /// task that computes (a typical call mostly on its CPU), its CPU time, else its wall time.
    static func warmCallSeconds(_ first: CallTiming?, typical: CallTiming) -> Double? {
        guard let first else { return nil }
        if let own = first.ownSeconds { return own }
        return typical.cpuShare >= 0.8 ? min(first.wallSeconds, first.cpuSeconds) : first.wallSeconds
    }

    /// A job too small to profile: the rest runs serially (a crash-prone call in a worker).
    func runAlone<Task: PoolTask>(
        _ task: Task.Type, _ inputs: [Task.Input], _ outputs: inout [Task.Output], isolated: Bool,
        _ progress: ProgressCounter?, _ deliver: ([Task.Output]) throws -> Void
    ) throws {
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
    }
}
