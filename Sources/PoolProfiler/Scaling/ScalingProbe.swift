import PoolExecutors

/// Runs the thread-scaling test: rounds of k calls on one thread, then k calls on each of N
/// threads, until the deciding figures are clear of their thresholds or the budget ends.
struct ScalingProbe<Task: PoolTask> {
    let runner: CallRunner<Task>
    let threads: Int
    let options: ProfilerOptions
    let sampler: ThreadSampler?

    /// What `copies` threads doing `calls` calls each measured.
    struct Run {
        var calls: Int
        var wall: Int64
        var cpu: Int64
        var runQueue: Int64
        var threadTime: Int64
        var runQueueRatio: Double { Double(runQueue) / Double(max(threadTime, 1)) }
    }

    /// Rounds continue until the figures are clear and `earliestEnd` has passed, or until
    /// `deadline` or the maximum rounds.
    /// `callsPerRun`, when given, is each run's calls (``ScalingFit`` sizes runs so the minimum
    /// rounds fit the budget); else a run lasts about ``ProfilerOptions/scalingRunSeconds``.
    func measure(callSeconds: Double, earliestEnd: Int64, deadline: Int64, callsPerRun: Int? = nil) throws
        -> ScalingProfile
    {
        let wanted = options.scalingRunSeconds.isFinite ? max(0, options.scalingRunSeconds) : 0
        let call = callSeconds.isFinite ? max(callSeconds, 1e-9) : 1e9
        var calls = callsPerRun ?? Int(min(1e6, (wanted / call).rounded()))
        // Calls that take each input once must fit the minimum rounds in what is left of the
        // sample: shorter runs rather than fewer rounds (their spread shows in the intervals).
        // The rounds clamped as ``ScalingFit`` clamps them, so a product cannot overflow.
        let inputsPerCall = 1 + threads
        let minimumRounds = ScalingFit.minimumRounds(options)
        if runner.callsEachInputOnce {
            calls = min(calls, runner.remaining / (inputsPerCall * minimumRounds))
        }
        calls = min(max(1, calls), 1_000_000)
        var rounds: [ScalingRound] = []
        var waits = ActivityCounts()
        while true {
            let single = try run(copies: 1, calls: calls)
            _ = sampler?.takeCounts()  // the single-thread run is the serial phase's business
            // Three times the single run's length at most: enough to measure a slowdown.
            let concurrent = try run(
                copies: threads, calls: calls, deadline: Clocks.monotonic() + 3 * max(single.wall, 1_000_000))
            if let counts = sampler?.takeCounts() { waits.add(counts) }
            let ratio = max(single.runQueueRatio, concurrent.runQueueRatio)
            rounds.append(
                ScalingRound(
                    singleCalls: single.calls, singleWallSeconds: single.wall.seconds,
                    singleCPUSeconds: single.cpu.seconds,
                    concurrentCalls: concurrent.calls, concurrentWallSeconds: concurrent.wall.seconds,
                    concurrentCPUSeconds: concurrent.cpu.seconds,
                    runQueueRatio: ratio, isClean: ratio <= options.runQueueLimit))
            let profile = summarize(rounds, waits: waits)
            if rounds.count >= minimumRounds, Clocks.monotonic() >= earliestEnd, isClear(profile) {
                return profile
            }
            if rounds.count >= options.maximumScalingRounds || Clocks.monotonic() >= deadline { return profile }
            if runner.isStopped || (runner.callsEachInputOnce && runner.remaining < inputsPerCall * calls) {
                return profile
            }
        }
    }

    /// One round whose single-thread run was made already (`single`, measured with the same
    /// counters: the serial phase's last call or group), so only the copies run, each making
    /// `callsPerCopy` calls (rates are compared, so the counts may differ), stopping at
    /// `deadline` or three times the time one copy's calls take alone. It gives a CPU efficiency
    /// and the copies' waits, and no speed-up (that takes ``ProfilerOptions/minimumScalingRounds``).
    func measureOneRound(single: Run, callsPerCopy: Int, deadline: Int64) throws -> ScalingProfile {
        _ = sampler?.takeCounts()  // the serial phase's samples are its own
        let calls = max(1, callsPerCopy)
        let alone = Double(single.wall) / Double(max(1, single.calls)) * Double(calls)
        let end = min(deadline, Clocks.monotonic() + 3 * max(Int64(min(alone, 1e12)), 1_000_000))
        let concurrent = try run(copies: threads, calls: calls, deadline: end)
        var waits = ActivityCounts()
        if let counts = sampler?.takeCounts() { waits.add(counts) }
        let ratio = max(single.runQueueRatio, concurrent.runQueueRatio)
        let round = ScalingRound(
            singleCalls: single.calls, singleWallSeconds: single.wall.seconds, singleCPUSeconds: single.cpu.seconds,
            concurrentCalls: concurrent.calls, concurrentWallSeconds: concurrent.wall.seconds,
            concurrentCPUSeconds: concurrent.cpu.seconds, runQueueRatio: ratio, isClean: ratio <= options.runQueueLimit)
        return summarize([round], waits: waits)
    }

    private func isClear(_ profile: ScalingProfile) -> Bool {
        let efficiencyClear = (options.thresholds["cpu_efficiency"] ?? []).allSatisfy(profile.cpuEfficiency.isClear)
        guard let serial = profile.serialFraction else { return efficiencyClear && !profile.noisyHost }
        return efficiencyClear && (options.thresholds["serial_fraction"] ?? []).allSatisfy(serial.isClear)
    }

    func summarize(_ rounds: [ScalingRound], waits: ActivityCounts) -> ScalingProfile {
        ScalingProfile.summarizing(
            rounds, threads: threads, minimumRounds: options.minimumScalingRounds, waits: sampler.map { _ in waits })
    }

    /// Starts `copies` threads that each make up to `calls` calls, stopping early at
    /// `deadline` (so a task that collapses under contention cannot stretch a round tenfold),
    /// and sums their counters. Thread start-up skew (tens of µs) is small next to a run of
    /// tens of ms.
    func run(copies: Int, calls: Int, deadline: Int64 = .max) throws -> Run {
        let results = Locked<[(start: ProbeReading, end: ProbeReading, caller: ConcurrentCaller<Task>)]>([])
        let runner = self.runner
        let sampler = copies > 1 ? self.sampler : nil
        let checkEvery = max(1, calls / 64)
        // Once each: every thread gets its own fresh inputs, taken here before any starts.
        // A copy of a runner that calls each input once, with too few inputs left for it (the
        // callers size runs so this does not happen), gets an empty range and makes no call: a
        // copy without a range would cycle through the sample and call inputs a second time.
        let ranges = (0..<copies).map { _ in
            runner.reserve(calls) ?? (runner.callsEachInputOnce ? runner.reserve(0) : nil)
        }
        let started = try (0..<copies).map { index in
            let range = ranges[index]
            return try PlatformThread.start(name: "pa-scale-\(index)") {
                var caller = runner.makeWorker(offset: index * 7919, range: range)
                let probe = ThreadProbe()
                let threadID = Int32(truncatingIfNeeded: PlatformThread.currentThreadID)
                sampler?.watch(threadID)
                let start = probe.read()
                for done in 1...calls {
                    if !caller.callNext() {
                        if runner.stopsAtFirstFailure, caller.failed > 0 { runner.stop() }
                        break
                    }
                    if done % checkEvery == 0, Clocks.monotonic() >= deadline || runner.isStopped { break }
                }
                let end = probe.read()
                sampler?.unwatch(threadID)
                results.withLock { $0.append((start, end, caller)) }
            }
        }
        for thread in started { thread.join() }
        let readings = results.withLock { $0 }
        for reading in readings { runner.finish(reading.caller) }
        let first = readings.map(\.start.wall).min() ?? 0
        let last = readings.map(\.end.wall).max() ?? 0
        return readings.reduce(into: Run(calls: 0, wall: last - first, cpu: 0, runQueue: 0, threadTime: 0)) {
            run, item in
            run.calls += item.caller.calls
            run.cpu += item.end.threadCPU - item.start.threadCPU
            run.runQueue += item.end.runQueue - item.start.runQueue
            run.threadTime += item.end.wall - item.start.wall
        }
    }
}
