internal import PoolProfiler
internal import PoolRules

/// How long the auto executor may profile, decided from the first calls before any profile.
///
/// The profile is part of the job, and while it runs one call at a time the other cores idle,
/// so it gets a share of the job's likely parallel length (waits overlap widely, computation on
/// the cores), never less than a floor that can measure anything, never more than the
/// profiler's own maximum. The first calls are in it: they are the profile's first
/// measurements, and what they took comes off what the profiler gets (down to nothing, when
/// they are all a short job can pay for). Every phase is sized from that one budget: the serial
/// phase and the scaling test share it, and the payload probe takes a slice of it inside the
/// profiler.
struct ProfilingBudget: Equatable {
    /// The share of the job's estimated parallel time profiling may take.
    var share: Double
    /// The least profile worth making (shorter measures nothing reliably).
    var minimumSeconds: Double

    /// The job's likely wall time in parallel: each call's wall time over the parallelism it
    /// allows, the cores over the share of its time a call computes (the cores for calls that
    /// only compute, up to 64 threads for calls that mostly wait). Calls that compute half
    /// their time once counted as computing only: mixed's 1 s job (a 3 ms wait, then 3 ms of
    /// computing) was estimated at 1.8 s, and its profile took 7 % of it.
    static func parallelEstimate(firstCall: CallTiming, items: Int, cores: Int) -> Double {
        let cores = Double(max(1, cores))
        let parallelism = min(max(64, cores), cores / max(firstCall.cpuShare, 1.0 / 64))
        return max(0, firstCall.wallSeconds) * Double(max(0, items)) / parallelism
    }

    /// The profiler's settings for a job of `items` inputs: `base` cut to the budget, less the
    /// `spent` seconds of calls already made for it (the first calls, which the profile counts
    /// as its own measurements).
    ///
    /// Options that make no sense (NaN, infinite or negative seconds and shares) give way to
    /// the defaults, so the profiler always gets a finite budget: positive when nothing was
    /// spent, else down to zero (the profile is then the calls already made).
    func options(_ base: ProfilerOptions, firstCall: CallTiming, items: Int, cores: Int, spent: Double = 0)
        -> ProfilerOptions
    {
        let defaults = ProfilerOptions()
        let estimate = Self.parallelEstimate(firstCall: firstCall, items: items, cores: cores)
        let floor = Self.positive(minimumSeconds, or: 0.015)
        let ceiling = Self.positive(base.maximumSeconds, or: defaults.maximumSeconds)
        let wanted = (share.isFinite ? max(0, share) : 0) * estimate
        let whole = min(ceiling, max(floor, wanted.isFinite ? wanted : 0))
        let budget = max(0, whole - (spent.isFinite ? max(0, spent) : 0))
        var options = base
        options.maximumSeconds = budget
        options.minimumSeconds = min(Self.positive(base.minimumSeconds, or: 0), budget / 2)
        // Three scaling rounds of a single and a concurrent run must fit the half of the
        // budget the serial phase leaves: about a twelfth of it per run.
        options.scalingRunSeconds = min(
            Self.positive(base.scalingRunSeconds, or: defaults.scalingRunSeconds), budget / 12)
        return options
    }

    /// `value` when it is finite and above zero, else `fallback`.
    static func positive(_ value: Double, or fallback: Double) -> Double {
        value.isFinite && value > 0 ? value : fallback
    }

    /// Inputs to hand the profiler: about twice the calls its budget holds, at most `maximum`
    /// and what is left. Half the budget runs one call at a time and the other half mostly two or
    /// more at once, so a budget's worth of serial calls undercounts what it reaches; but the
    /// inputs it leaves then run as one batch before the run's first check, so a short job's
    /// sample is no larger than that (a sample of 32 on a 0.3 s job whose profile made no calls
    /// ran 30 inputs on unchecked threads at half speed).
    static func sampleSize(_ options: ProfilerOptions, firstCall: CallTiming, remaining: Int, maximum: Int) -> Int {
        let calls = options.maximumSeconds / max(firstCall.wallSeconds, 1e-9)
        let reachable = calls.isNaN ? 0 : Int(min(1e9, max(0, calls)))
        return max(0, min(max(1, min(2 * reachable + 2, maximum)), remaining))
    }
}

extension AutoExecutor.Options {
    /// The shortest judged window for a job whose plan is predicted to take `jobSeconds`:
    /// ``driftMinimumSeconds``, or on a job shorter than twenty of those (a second, by default)
    /// a twentieth of it, but no less than a fifth of ``driftMinimumSeconds``. A change part-way
    /// through is then seen after the same share of any job: a 0.3 s job judged on 50 ms
    /// windows, two batches queued, ran a third of itself on the old plan before a switch.
    func watchFloor(jobSeconds: Double) -> Double {
        let floor = ProfilingBudget.positive(driftMinimumSeconds, or: 0.05)
        // A prediction that failed (not a positive number) leaves the option as it is.
        let scaled = jobSeconds.isFinite && jobSeconds > 0 ? jobSeconds / 20 : floor
        return max(.leastNormalMagnitude, min(floor, max(floor / 5, scaled)))
    }

    /// The shortest watched batch with `watchFloor` in force: ``minimumBatchSeconds``, shortened
    /// in the proportion the floor shortens ``driftMinimumSeconds`` (not at all on a long job).
    func batchFloor(watchFloor: Double) -> Double {
        let drift = ProfilingBudget.positive(driftMinimumSeconds, or: 0.05)
        let batch = minimumBatchSeconds.isFinite ? max(0, minimumBatchSeconds) : 0.05
        return batch * min(1, max(0, watchFloor) / drift)
    }
}

/// Items per watched batch: small enough that a change in the workload is seen while little of
/// the job rides on the old plan, large enough that batch boundaries cost nothing measurable.
struct BatchSizing: Equatable {
    /// The longest batch, in predicted seconds.
    var maximumSeconds: Double
    /// The shortest batch, in predicted seconds.
    var minimumSeconds: Double
    /// A batch holds at most this share of the remaining job's predicted time.
    var riskShare: Double

    /// Items for the next batch, given the plan's predicted seconds per item in parallel, the
    /// items left and the plan's size: at least two chunks per worker, so each batch spreads
    /// (batches overlap, so no more is needed to hide a boundary).
    func items(secondsPerItem: Double, remaining: Int, workers: Int, chunk: Int) -> Int {
        guard remaining > 0 else { return 0 }
        // NaN or infinite figures (a hostile option, a model that failed) count as the least
        // time per item, and a target that is not a number as no target: the floor decides.
        let perItem = secondsPerItem.isFinite ? max(secondsPerItem, 1e-9) : 1e-9
        let target = min(maximumSeconds, max(minimumSeconds, riskShare * perItem * Double(remaining)))
        let least = 2 * max(1, workers) * max(1, chunk)
        let fits = target / perItem
        return min(remaining, max(least, fits.isNaN ? 0 : Int(min(1e12, max(0, fits)))))
    }
}

/// Watches the running plan's throughput over windows of finished batches and says when it has
/// fallen well below the best the plan managed: the workload has changed, or the host has.
///
/// The first full window of a plan only sets the reference (it also pays the pool's start: for
/// worker processes, their spawn and cold start; for threads, microseconds).
/// Batches shorter than ``minimumWindowSeconds`` add up into one window, so a judgement always
/// rests on enough time to measure.
struct DriftWatch: Equatable {
    /// A window slower per item than this many times the reference counts as drift.
    var factor: Double
    /// The least time a judged window spans.
    var minimumWindowSeconds: Double
    /// The best seconds per item seen with the current plan (infinity before the first window).
    private(set) var reference = Double.infinity
    private var windowItems = 0
    private var windowSeconds = 0.0

    init(factor: Double, minimumWindowSeconds: Double) {
        self.factor = factor
        self.minimumWindowSeconds = minimumWindowSeconds
    }

    /// What one window showed.
    enum Verdict: Equatable {
        /// The window is still filling.
        case measuring
        /// The plan's first window: its seconds per item, now the reference.
        case first(perItem: Double)
        /// Within the factor of the reference (which may have improved).
        case steady(perItem: Double)
        /// Slower than the factor allows.
        case drifted(perItem: Double, reference: Double)

        /// Whether this is the plan's first window (which pays the pool's start-up: a process
        /// pool's spawn and cold starts; a thread pool's, microseconds).
        var isFirst: Bool {
            if case .first = self { return true }
            return false
        }
    }

    /// Adds a finished batch of `items` that took `seconds` (since the previous batch ended).
    mutating func observe(items: Int, seconds: Double) -> Verdict {
        windowItems += max(0, items)
        windowSeconds += max(0, seconds)
        guard windowItems > 0, windowSeconds >= minimumWindowSeconds else { return .measuring }
        let perItem = windowSeconds / Double(windowItems)
        windowItems = 0
        windowSeconds = 0
        if !reference.isFinite {
            reference = perItem
            return .first(perItem: perItem)
        }
        if perItem > factor * reference { return .drifted(perItem: perItem, reference: reference) }
        reference = min(reference, perItem)
        return .steady(perItem: perItem)
    }

    /// A new plan: no reference until its first window.
    mutating func restart() {
        self = DriftWatch(factor: factor, minimumWindowSeconds: minimumWindowSeconds)
    }

    /// The same plan after a drift was examined: the slower rate is the new normal.
    mutating func accept(perItem: Double) {
        reference = perItem
        windowItems = 0
        windowSeconds = 0
    }
}

/// What a running thread plan shows about the task's scaling, from its workers' CPU clocks:
/// the wall clock's verdict, which a lock whose waiters sleep cannot hide. Such a lock keeps
/// each copy's CPU efficiency near 1 while two threads run no faster than one; the workers
/// then keep one core busy where they should keep two. Unlike comparing call times, this does
/// not mistake later inputs that are larger for copies that slow each other.
enum ObservedScaling {
    /// Cores the workers kept busy over the cores the plan's threads could use.
    static func utilisation(cpuSeconds: Double, wallSeconds: Double, threads: Int, cores: Int) -> Double {
        let usable = Double(max(1, min(threads, cores)))
        return max(0, cpuSeconds) / max(wallSeconds * usable, 1e-12)
    }

    /// The share of `min(threads, cores)` cores that `threads` copies of a task computing
    /// `cpuRatio` of its time alone keep busy when nothing holds them back: each copy computes
    /// `cpuRatio` of a core, and the cores cap the total. Beside other programs keeping
    /// `othersCores` busy the copies get their even share once the cores are oversubscribed
    /// (as ``CostModel/hostShare(_:)`` counts it): a busy loop beside two threads leaves them
    /// 1.33 cores, which is not a lock.
    static func expectedUtilisation(cpuRatio: Double, threads: Int, cores: Int, othersCores: Double = 0) -> Double {
        let usable = Double(max(1, min(threads, cores)))
        // A CPU ratio is at most 1 (and a hostile infinity counts as 1, NaN as 0).
        let demand = (cpuRatio.isNaN ? 0 : min(max(0, cpuRatio), 1)) * Double(max(1, threads))
        let c = Double(max(1, cores))
        let others = othersCores.isFinite ? min(max(0, othersCores), c) : 0
        let held = CostModel.coresHeld(copies: demand, others: others, cores: c)
        return min(1, held / usable)
    }

    /// Other programs' busy cores over a window as the checks below count them: none under
    /// ``PoolProfiler/HostLoad/busyOthersCores`` (a stray tick of a short window, the kernel's
    /// own threads) or when not measured, else the reading (capped at the cores).
    static func countedOthers(_ others: Double?, cores: Int) -> Double {
        guard let others, others.isFinite, others >= HostLoad.busyOthersCores else { return 0 }
        return min(others, Double(max(1, cores)))
    }

    /// Whether a thread plan is worth checking for idle cores: the task computes at least 30 %
    /// of its time and its copies, as many as the plan runs, would keep 80 % of the cores busy.
    /// A task that mostly waits, or a plan too small to fill the cores, leaves them idle by
    /// nature.
    static func isChecked(cpuRatio: Double, threads: Int, cores: Int) -> Bool {
        cpuRatio >= 0.3 && expectedUtilisation(cpuRatio: cpuRatio, threads: threads, cores: cores) >= 0.8
    }

    /// Whether threads of a task that computes `cpuRatio` of its time alone sat idle: under
    /// 70 % of what that ratio predicts for `threads` copies, and at least a fifth of a core
    /// lost (never with one thread).
    static func fallsShort(
        utilisation: Double, cpuRatio: Double, threads: Int, cores: Int, othersCores: Double = 0
    ) -> Bool {
        // One thread has no copy to queue behind.
        guard min(threads, cores) >= 2 else { return false }
        let usable = Double(min(threads, cores))
        let expected = expectedUtilisation(
            cpuRatio: cpuRatio, threads: threads, cores: cores, othersCores: othersCores)
        return utilisation < 0.7 * expected && (expected - utilisation) * usable >= 0.2
    }

    /// Whether `speedup` (one call's time alone over a window's time per item) on `threads`
    /// copies reaches nine tenths of `min(threads, cores)`: what processes could add is then a
    /// tenth at most, less than their start-up and shipping cost a short window.
    static func nearTheCores(speedup: Double, threads: Int, cores: Int) -> Bool {
        let usable = min(threads, cores)
        guard usable >= 2, speedup.isFinite else { return false }
        return speedup >= 0.9 * Double(usable)
    }

    /// Whether a scaling round's copies kept the cores busy: their CPU over the round's wall
    /// clock reached nine tenths of `min(threads, cores)` times what one call alone kept busy.
    /// Copies that wait (on a lock whose waiters sleep, a semaphore, each other) leave cores
    /// idle and fall short, as their wall-clock speed-up does; copies slowed by the memory bus
    /// burn more CPU a call (E_cpu under 1) yet never wait, and pass. memory-scan's 0.3 s jobs
    /// read E_cpu 0.73–0.76 and a speed-up near 1.5 in their one round, which
    /// ``nearTheCores(speedup:threads:cores:)`` alone refused: they stayed on processes at
    /// 1.38× the threads' time, though processes share the same memory bus.
    static func keptCoresBusy(_ round: ScalingRound, threads: Int, cores: Int) -> Bool {
        let usable = min(threads, cores)
        guard usable >= 2, round.singleWallSeconds > 0, round.concurrentWallSeconds > 0 else { return false }
        let alone = min(1, round.singleCPUSeconds / round.singleWallSeconds)
        let together = round.concurrentCPUSeconds / round.concurrentWallSeconds
        guard alone.isFinite, together.isFinite, alone > 0 else { return false }
        return together >= 0.9 * Double(usable) * alone
    }

    /// Whether threads standing in for a process plan (``AutoExecutor/threadsFirst(_:_:items:)``)
    /// fell short on the wall clock: `speedup` (one call's time alone over the window's time per
    /// item) under three quarters of `min(threads, cores)`. Copies that spin on a lock keep the
    /// cores busy, which the idle check cannot see; their speed-up shows it. The margin covers
    /// a short profile's error on the call time (a few calls, timed once).
    /// Beside other programs keeping `othersCores` busy, the cores are what the copies' even
    /// share leaves them, against one copy's share.
    static func standInFallsShort(speedup: Double, threads: Int, cores: Int, othersCores: Double = 0) -> Bool {
        let usable = min(threads, cores)
        guard usable >= 2, speedup.isFinite else { return false }
        let alone = expectedUtilisation(cpuRatio: 1, threads: 1, cores: cores, othersCores: othersCores)
        let copies = expectedUtilisation(cpuRatio: 1, threads: threads, cores: cores, othersCores: othersCores)
        return speedup < 0.75 * Double(usable) * copies / max(alone, 1e-9)
    }

    /// The speed-up on `min(threads, cores)` copies those figures imply, in the cost model's
    /// sense (the cores' worth of computing the copies got done): the cores kept busy over the
    /// share of them the copies should have kept busy, times the cores. For copies no more than
    /// the cores that is the cores busy over what one copy keeps busy alone; for more copies
    /// than cores (a task that also waits, or a busy host's extra copies) it is the cores busy.
    static func speedup(utilisation: Double, cpuRatio: Double, threads: Int, cores: Int, othersCores: Double = 0)
        -> Double
    {
        let usable = Double(max(1, min(threads, cores)))
        let expected = expectedUtilisation(
            cpuRatio: cpuRatio, threads: threads, cores: cores, othersCores: othersCores)
        return max(0.05, utilisation * usable / max(expected, 0.05))
    }

    /// `profile` with its thread scaling replaced by the speed-up the run showed on `threads`
    /// copies: the speed-up and its Karp–Flatt serial fraction, the CPU efficiency kept as the
    /// profile measured it (or 1 when it was not).
    static func profile(_ profile: TaskProfile, observedSpeedup speedup: Double, threads: Int) -> TaskProfile {
        let n = Double(max(2, threads))
        let s = max(speedup, 1e-3)
        let fraction = (1 / s - 1 / n) / (1 - 1 / n)
        var patched = profile
        let efficiency =
            profile.scaling?.cpuEfficiency ?? Estimate(value: 1, low: 1, high: 1, observations: 1)
        patched.scaling = ScalingProfile(
            threads: Int(n), rounds: profile.scaling?.rounds ?? [], cleanRounds: profile.scaling?.cleanRounds ?? 0,
            speedup: Estimate(value: s, low: s, high: s, observations: 1),
            serialFraction: Estimate(value: fraction, low: fraction, high: fraction, observations: 1),
            cpuEfficiency: efficiency, noisyHost: false, waits: profile.scaling?.waits,
            universalScalability: nil, processSpeedup: profile.scaling?.processSpeedup)
        patched.notes.append(
            "the running job showed a speed-up of \(NumberText.fixed(s, decimals: 2)) on \(Int(n)) threads (serial fraction \(NumberText.fixed(fraction, decimals: 2))): the wall clock decides now"
        )
        return patched
    }
}
