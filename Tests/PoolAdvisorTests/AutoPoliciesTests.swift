import Foundation
import PoolProfiler
import Testing

@testable import PoolAdvisor

/// The auto executor's policies are pure: figures in, a decision out. Each is checked here on
/// fixed numbers, with no clock and no pool.
@Suite("Auto executor policies")
struct AutoPoliciesTests {
    let budget = ProfilingBudget(share: 0.05, minimumSeconds: 0.03)

    @Test("the profiling budget is a share of the job's parallel length, within the floor and the profiler's maximum")
    func budgetShare() {
        var base = ProfilerOptions()
        base.maximumSeconds = 1.5
        base.minimumSeconds = 0.3
        // 10 000 calls of 1 ms that compute: 5 s on 2 cores, so 0.25 s of profile.
        let computing = CallTiming(wallSeconds: 0.001, cpuSeconds: 0.001)
        let long = budget.options(base, firstCall: computing, items: 10_000, cores: 2)
        #expect(abs(long.maximumSeconds - 0.25) < 1e-9)
        #expect(long.minimumSeconds <= long.maximumSeconds / 2)
        #expect(long.scalingRunSeconds <= long.maximumSeconds / 12)
        // A short job gets the floor, a huge one the profiler's own maximum.
        #expect(budget.options(base, firstCall: computing, items: 100, cores: 2).maximumSeconds == 0.03)
        #expect(budget.options(base, firstCall: computing, items: 10_000_000, cores: 2).maximumSeconds == 1.5)
        // Calls that wait overlap on many threads: the same calls make a shorter job.
        let waiting = CallTiming(wallSeconds: 0.001, cpuSeconds: 0.00001)
        #expect(budget.options(base, firstCall: waiting, items: 10_000, cores: 2).maximumSeconds < long.maximumSeconds)
        // Calls that compute half their time run on twice the cores' threads: half the job.
        let half = CallTiming(wallSeconds: 0.001, cpuSeconds: 0.0005)
        #expect(abs(ProfilingBudget.parallelEstimate(firstCall: half, items: 10_000, cores: 2) - 2.5) < 1e-9)
        #expect(abs(ProfilingBudget.parallelEstimate(firstCall: computing, items: 10_000, cores: 2) - 5) < 1e-9)
        // Nonsense timings give the floor, not a trap or a NaN.
        let broken = CallTiming(wallSeconds: -1, cpuSeconds: .nan)
        #expect(budget.options(base, firstCall: broken, items: 10, cores: 0).maximumSeconds == 0.03)
    }

    @Test("the first calls' time comes off the budget, down to nothing, and never makes it negative or NaN")
    func firstCallsSpendTheBudget() {
        var base = ProfilerOptions()
        base.maximumSeconds = 1.5
        base.minimumSeconds = 0.3
        let computing = CallTiming(wallSeconds: 0.001, cpuSeconds: 0.001)
        // 0.25 s of budget, 0.05 s of it spent on the first calls.
        let spent = budget.options(base, firstCall: computing, items: 10_000, cores: 2, spent: 0.05)
        #expect(abs(spent.maximumSeconds - 0.2) < 1e-9)
        #expect(spent.minimumSeconds <= spent.maximumSeconds / 2)
        // A short job whose first calls took more than its floor: the profile is those calls.
        let none = budget.options(base, firstCall: computing, items: 100, cores: 2, spent: 0.04)
        #expect(none.maximumSeconds == 0 && none.minimumSeconds == 0 && none.scalingRunSeconds == 0)
        // Nonsense spending changes nothing, or everything, but stays a finite budget.
        for odd in [Double.nan, -1, .infinity, -.infinity] {
            let options = budget.options(base, firstCall: computing, items: 10_000, cores: 2, spent: odd)
            #expect(options.maximumSeconds.isFinite && options.maximumSeconds >= 0, "\(odd)")
        }
    }

    @Test("the profiled sample is about twice what the budget can reach, within its bounds and what is left")
    func sampleSize() {
        var options = ProfilerOptions()
        options.maximumSeconds = 0.1
        let tiny = CallTiming(wallSeconds: 1e-6, cpuSeconds: 1e-6)
        #expect(ProfilingBudget.sampleSize(options, firstCall: tiny, remaining: 1_000_000, maximum: 300_000) == 200_002)
        #expect(ProfilingBudget.sampleSize(options, firstCall: tiny, remaining: 1_000_000, maximum: 50_000) == 50_000)
        let slow = CallTiming(wallSeconds: 0.02, cpuSeconds: 0.02)
        #expect(ProfilingBudget.sampleSize(options, firstCall: slow, remaining: 1000, maximum: 200_000) == 12)
        #expect(ProfilingBudget.sampleSize(options, firstCall: slow, remaining: 5, maximum: 200_000) == 5)
        // A budget the first calls used up: a couple of inputs, not a batch that runs unchecked.
        options.maximumSeconds = 0
        #expect(ProfilingBudget.sampleSize(options, firstCall: slow, remaining: 1000, maximum: 200_000) == 2)
    }

    @Test("a batch holds a few percent of what is left, between its bounds, and at least two chunks per worker")
    func batchSizing() {
        let sizing = BatchSizing(maximumSeconds: 1, minimumSeconds: 0.05, riskShare: 0.05)
        // 3 s left at 1 ms an item: 5 % is 0.15 s, 150 items.
        #expect(sizing.items(secondsPerItem: 0.001, remaining: 3000, workers: 2, chunk: 1) == 150)
        // 1000 s left: capped at 1 s of work.
        #expect(sizing.items(secondsPerItem: 0.001, remaining: 1_000_000, workers: 2, chunk: 1) == 1000)
        // 0.1 s left: the floor of 0.05 s, 50 items.
        #expect(sizing.items(secondsPerItem: 0.001, remaining: 100, workers: 2, chunk: 1) == 50)
        // Big chunks: at least 2 per worker.
        #expect(sizing.items(secondsPerItem: 1e-6, remaining: 1_000_000, workers: 2, chunk: 100_000) == 400_000)
        #expect(sizing.items(secondsPerItem: 0.001, remaining: 7, workers: 2, chunk: 1) == 7)
        #expect(sizing.items(secondsPerItem: 0, remaining: 0, workers: 0, chunk: 0) == 0)
    }

    @Test("a short job is watched in shorter windows: a twentieth of its predicted time, down to a fifth of the option")
    func watchFloor() {
        var options = AutoExecutor.Options()
        options.driftMinimumSeconds = 0.05
        // 0.3 s: 15 ms windows, so a change after a quarter of the job is seen within a tenth of it.
        #expect(abs(options.watchFloor(jobSeconds: 0.3) - 0.015) < 1e-12)
        // A second or more: the option as it is.
        #expect(options.watchFloor(jobSeconds: 1) == 0.05)
        #expect(options.watchFloor(jobSeconds: 600) == 0.05)
        // Tiny jobs: never under a fifth of the option (shorter windows measure noise).
        #expect(abs(options.watchFloor(jobSeconds: 0.01) - 0.01) < 1e-12)
        // A prediction that failed (not a positive number) gives the option.
        for odd in [Double.nan, .infinity, -.infinity, -1, 0] {
            #expect(options.watchFloor(jobSeconds: odd) == 0.05)
        }
        // Batches shrink in the same proportion, and only then: a user's longer batch floor
        // stands on a long job.
        options.minimumBatchSeconds = 0.2
        #expect(options.batchFloor(watchFloor: options.watchFloor(jobSeconds: 10)) == 0.2)
        #expect(abs(options.batchFloor(watchFloor: options.watchFloor(jobSeconds: 0.3)) - 0.06) < 1e-12)
    }

    @Test("the drift watch sets its reference on a plan's first window and flags a window past the factor")
    func driftWatch() {
        var watch = DriftWatch(factor: 1.6, minimumWindowSeconds: 0.1)
        // Short batches add up into one window.
        #expect(watch.observe(items: 50, seconds: 0.05) == .measuring)
        #expect(watch.observe(items: 50, seconds: 0.05) == .first(perItem: 0.001))
        #expect(watch.observe(items: 100, seconds: 0.12) == .steady(perItem: 0.0012))
        #expect(watch.reference == 0.001)
        // Faster windows lower the reference.
        #expect(watch.observe(items: 200, seconds: 0.16) == .steady(perItem: 0.0008))
        #expect(watch.reference == 0.0008)
        // Twice as slow: drift, judged against the best so far.
        #expect(watch.observe(items: 100, seconds: 0.2) == .drifted(perItem: 0.002, reference: 0.0008))
        // Accepted: the slower rate is the new normal.
        watch.accept(perItem: 0.002)
        #expect(watch.observe(items: 100, seconds: 0.21) == .steady(perItem: 0.0021))
        // A new plan starts over.
        watch.restart()
        #expect(watch.reference == .infinity)
        #expect(watch.observe(items: 10, seconds: 0.5) == .first(perItem: 0.05))
        // Nonsense figures never count as a window.
        var fresh = DriftWatch(factor: 1.6, minimumWindowSeconds: 0.1)
        #expect(fresh.observe(items: -5, seconds: -1) == .measuring)
        #expect(fresh.observe(items: 0, seconds: 5) == .measuring)
    }

    @Test("threads that keep one core busy where a computing task needs two fall short; busy ones do not")
    func observedScaling() {
        // Two threads, 1 s of wall: a lock whose waiters sleep keeps ~1 core busy.
        let locked = ObservedScaling.utilisation(cpuSeconds: 1.02, wallSeconds: 1, threads: 2, cores: 2)
        #expect(abs(locked - 0.51) < 1e-9)
        #expect(ObservedScaling.fallsShort(utilisation: locked, cpuRatio: 0.99, threads: 2, cores: 2))
        let speedup = ObservedScaling.speedup(utilisation: locked, cpuRatio: 0.99, threads: 2, cores: 2)
        #expect(speedup > 0.9 && speedup < 1.1)
        // Both cores busy: fine.
        let busy = ObservedScaling.utilisation(cpuSeconds: 1.9, wallSeconds: 1, threads: 2, cores: 2)
        #expect(!ObservedScaling.fallsShort(utilisation: busy, cpuRatio: 0.99, threads: 2, cores: 2))
        // One core: nothing to lose.
        #expect(!ObservedScaling.fallsShort(utilisation: 0.6, cpuRatio: 1, threads: 1, cores: 1))
        // A task that computes half its time alone is expected to keep half the cores busy.
        #expect(!ObservedScaling.fallsShort(utilisation: 0.45, cpuRatio: 0.5, threads: 2, cores: 2))
    }

    @Test("ten threads of a task read as computing 43 % of its time should fill both cores; one busy core falls short")
    func observedScalingOfMixedPlans() throws {
        // Ten copies of a task computing 43 % alone: 4.3 cores' worth wanted, two to be had.
        #expect(ObservedScaling.expectedUtilisation(cpuRatio: 0.43, threads: 10, cores: 2) == 1)
        #expect(ObservedScaling.isChecked(cpuRatio: 0.43, threads: 10, cores: 2))
        // A task that mostly waits, or too few copies to fill the cores, is left alone.
        #expect(!ObservedScaling.isChecked(cpuRatio: 0.1, threads: 64, cores: 2))
        #expect(!ObservedScaling.isChecked(cpuRatio: 0.5, threads: 2, cores: 2))
        // The copies serialise on a lock whose waiters sleep: one core busy of two.
        #expect(ObservedScaling.fallsShort(utilisation: 0.5, cpuRatio: 0.43, threads: 10, cores: 2))
        #expect(!ObservedScaling.fallsShort(utilisation: 0.95, cpuRatio: 0.43, threads: 10, cores: 2))
        // In the cost model's sense the copies got one core's worth of computing done.
        let speedup = ObservedScaling.speedup(utilisation: 0.5, cpuRatio: 0.43, threads: 10, cores: 2)
        #expect(abs(speedup - 1) < 1e-9)
        // Copies no more than the cores: the cores busy over what one copy keeps busy, as before.
        let two = ObservedScaling.speedup(utilisation: 0.51, cpuRatio: 0.99, threads: 2, cores: 2)
        #expect(abs(two - 1.02 / 0.99) < 1e-9)
        // The advice for the patched profile leaves threads: the computing part does not scale.
        let profile = shaped(
            try quickProfile(PureCPU.self), wall: 0.014, cpuShare: 0.43, serialFraction: nil, efficiency: nil)
        let patched = ObservedScaling.profile(profile, observedSpeedup: speedup, threads: 2)
        let advice = Advisor(machine: testMachine).recommend(patched, items: 150)
        #expect(advice.mode == .processes, "\(advice.explanation)")
    }

    @Test(
        "a process plan chosen on an unmeasured speed-up starts on threads when the copies burnt no extra CPU and slept on no lock"
    )
    func threadsFirstForAnUnmeasuredSpeedup() throws {
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine))
        let processes = ExecutionPlan(mode: .processes, workers: 2, chunkSize: 1)
        func state(
            efficiency: Double, lockSamples: Int, samples: Int = 200, noisy: Bool = false, cleanRounds: Int = 3
        ) throws -> AutoRunState {
            var profile = shaped(
                try quickProfile(PureCPU.self), wall: 0.002, cpuShare: 0.99, serialFraction: nil, efficiency: efficiency
            )
            var counts = ActivityCounts()
            counts.add(.running, count: samples - lockSamples)
            counts.add(.lockWait, count: lockSamples)
            profile.scaling?.waits = WaitBreakdown(
                threads: 2, samples: samples, samplesPerSecond: 1000, counts: counts, samplerCoreShare: 0)
            profile.scaling?.noisyHost = noisy
            profile.scaling?.cleanRounds = cleanRounds
            var advice = Advisor(machine: testMachine).recommend(profile, items: 2000)
            // The rule that hedges an unmeasured speed-up with processes, whichever the costs pick.
            advice.decidingRule?.rule = "cpu-scaling-unmeasured-processes"
            return AutoRunState(
                profile: profile, recommendation: advice, plan: processes, profilingSeconds: 0, profiledItems: 0)
        }
        let clear = try #require(
            auto.threadsFirst(PureCPU.self, try state(efficiency: 0.97, lockSamples: 0), items: 2000))
        #expect(clear.mode == .threads && clear.workers >= Machine.usableCores)
        // Copies that spun (E_cpu 0.5), slept on a lock (15 % of samples) or ran beside a busy
        // program keep the advice.
        #expect(auto.threadsFirst(PureCPU.self, try state(efficiency: 0.5, lockSamples: 0), items: 2000) == nil)
        #expect(auto.threadsFirst(PureCPU.self, try state(efficiency: 0.97, lockSamples: 30), items: 2000) == nil)
        // A noisy host with no clean round (a spinner whose rival was descheduled looks
        // efficient), or too few samples to have seen a lock, keeps the advice too.
        #expect(
            auto.threadsFirst(
                PureCPU.self, try state(efficiency: 0.97, lockSamples: 0, noisy: true, cleanRounds: 0), items: 2000)
                == nil)
        // One clean round among noisy ones, with a few samples all running, is enough: the run's
        // first judged window checks the speed-up the profile could not.
        let noisy = try #require(
            auto.threadsFirst(
                PureCPU.self, try state(efficiency: 0.97, lockSamples: 0, samples: 4, noisy: true, cleanRounds: 1),
                items: 2000))
        #expect(noisy.mode == .threads)
        // One clean round whose two copies ran barely faster than one (a lock whose waiters
        // sleep: E_cpu stays high) keeps the advice; one that sped up part-way or near the
        // cores does not (the run's first window measures the speed-up better than one round).
        func round(concurrentWall: Double) throws -> ScalingRound {
            let json = """
                {"singleCalls": 10, "singleWallSeconds": 0.02, "singleCPUSeconds": 0.02, "concurrentCalls": 20,
                 "concurrentWallSeconds": \(concurrentWall), "concurrentCPUSeconds": 0.04, "runQueueRatio": 0,
                 "isClean": true}
                """
            return try JSONDecoder().decode(ScalingRound.self, from: Data(json.utf8))
        }
        var locked = try state(efficiency: 0.97, lockSamples: 0, cleanRounds: 1)
        locked.profile.scaling?.rounds = [try round(concurrentWall: 0.038)]
        #expect(auto.threadsFirst(PureCPU.self, locked, items: 2000) == nil, "a clean round at 1.05×")
        locked.profile.scaling?.rounds = [try round(concurrentWall: 0.034)]
        #expect(auto.threadsFirst(PureCPU.self, locked, items: 2000) == nil, "a clean round at 1.18×")
        locked.profile.scaling?.rounds = [try round(concurrentWall: 0.021)]
        #expect(auto.threadsFirst(PureCPU.self, locked, items: 2000)?.mode == .threads, "a clean round at 1.9×")
        locked.profile.scaling?.rounds = [try round(concurrentWall: 0.021), try round(concurrentWall: 0.03)]
        #expect(
            auto.threadsFirst(PureCPU.self, locked, items: 2000)?.mode == .threads, "clean rounds at 1.9× and 1.33×")
        // Too few samples of the copies to have seen a lock (two): a clean round part-way keeps
        // the advice; one within a tenth of the cores shows no lock either (text-words' 0.3 s
        // jobs: 1.91×, two samples).
        var unsampled = try state(efficiency: 0.97, lockSamples: 0, samples: 2, cleanRounds: 1)
        unsampled.profile.scaling?.rounds = [try round(concurrentWall: 0.03)]
        #expect(auto.threadsFirst(PureCPU.self, unsampled, items: 2000) == nil, "two samples, a round at 1.33×")
        unsampled.profile.scaling?.rounds = [try round(concurrentWall: 0.021)]
        #expect(
            auto.threadsFirst(PureCPU.self, unsampled, items: 2000)?.mode == .threads, "two samples, a round at 1.9×")
        // Copies slowed by the memory bus (E_cpu 0.75, 1.5×) kept both cores busy: no wait, threads
        // first. Copies that waited as long (E_cpu 1, 1.5×: a core idle a quarter of the time) did not.
        func round(concurrentWall: Double, concurrentCPU: Double) throws -> ScalingRound {
            var made = try round(concurrentWall: concurrentWall)
            made.concurrentCPUSeconds = concurrentCPU
            return made
        }
        var memoryBound = try state(efficiency: 0.75, lockSamples: 0, samples: 2, cleanRounds: 1)
        memoryBound.profile.scaling?.rounds = [try round(concurrentWall: 0.0267, concurrentCPU: 0.0533)]
        #expect(
            auto.threadsFirst(PureCPU.self, memoryBound, items: 2000)?.mode == .threads,
            "two samples, 1.5× with both cores busy")
        memoryBound.profile.scaling?.rounds = [try round(concurrentWall: 0.0267, concurrentCPU: 0.04)]
        #expect(auto.threadsFirst(PureCPU.self, memoryBound, items: 2000) == nil, "two samples, 1.5× with a core idle")
        #expect(
            auto.threadsFirst(PureCPU.self, try state(efficiency: 0.6, lockSamples: 0), items: 2000) == nil,
            "E_cpu 0.6: copies that burn that much more CPU keep the advice")
        // Enough samples that show a lock keep the advice, whatever one round read.
        var sampledLock = try state(efficiency: 0.97, lockSamples: 30, cleanRounds: 1)
        sampledLock.profile.scaling?.rounds = [try round(concurrentWall: 0.021)]
        #expect(auto.threadsFirst(PureCPU.self, sampledLock, items: 2000) == nil, "a lock sampled, a round at 1.9×")
        // A measured speed-up decides by itself: no threads first.
        var measured = try state(efficiency: 0.97, lockSamples: 0)
        measured.profile.scaling?.speedup = Estimate(value: 1.3, low: 1.3, high: 1.3, observations: 3)
        #expect(auto.threadsFirst(PureCPU.self, measured, items: 2000) == nil)
        // Nor once the run has compared processes with threads, or seen threads leave cores idle.
        var checked = try state(efficiency: 0.97, lockSamples: 0)
        checked.processesChecked = true
        #expect(auto.threadsFirst(PureCPU.self, checked, items: 2000) == nil)
        var idle = try state(efficiency: 0.97, lockSamples: 0)
        idle.threadsFellShort = true
        #expect(auto.threadsFirst(PureCPU.self, idle, items: 2000) == nil)
        // Nor a plan another rule chose (a rules file's own), nor a job too short to watch.
        var ruled = try state(efficiency: 0.97, lockSamples: 0)
        ruled.recommendation.decidingRule?.rule = "always-processes"
        #expect(auto.threadsFirst(PureCPU.self, ruled, items: 2000) == nil)
        #expect(auto.threadsFirst(PureCPU.self, try state(efficiency: 0.97, lockSamples: 0), items: 10) == nil)
        // No scaling round at all (a short job's budget held none): the run's first window is
        // the check, and the reason says what was not measured.
        var unmeasured = try state(efficiency: 0.97, lockSamples: 0)
        unmeasured.profile.scaling = nil
        let first = try #require(auto.threadsFirst(PureCPU.self, unmeasured, items: 2000))
        #expect(first.mode == .threads)
        #expect(auto.threadsFirstReason(unmeasured).contains("the profile ran no scaling round"))
        unmeasured.threadsFellShort = true
        #expect(auto.threadsFirst(PureCPU.self, unmeasured, items: 2000) == nil)
    }

    @Test(
        "ten threads of a mixed task that kept one core busy are reconsidered on all ten: the run moves off threads and says so",
        .enabled(if: Machine.usableCores == 2, "the figures assume two cores"))
    func reconsiderJudgesEveryThread() throws {
        let profile = shaped(try quickProfile(PureCPU.self), wall: 0.014, cpuShare: 0.43)
        let advice = Advisor(machine: testMachine).recommend(profile, items: 150)
        let threads = ExecutionPlan(mode: .threads, workers: 10, chunkSize: 1)
        var state = AutoRunState(
            profile: profile, recommendation: advice, plan: threads, profilingSeconds: 0, profiledItems: 0)
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine))
        #expect(auto.reconsider(PureCPU.self, &state, items: 150, utilisation: 0.5, at: 12))
        #expect(state.plan.mode == .processes, "\(state.switches.map(\.reason))")
        let record = try #require(state.switches.last)
        #expect(record.atIndex == 12 && record.from == threads)
        #expect(record.reason.hasPrefix("10 threads kept 1.00 of 2 cores busy"), "\(record.reason)")
        #expect(record.reason.contains("speed-up 1.00"), "\(record.reason)")
    }

    @Test(
        "threads standing in for processes that ran 1.1× as fast as one call are reconsidered: the run moves to processes and says so",
        .enabled(if: Machine.usableCores == 2, "the figures assume two cores"))
    func slowStandInIsReconsidered() throws {
        let profile = shaped(try quickProfile(PureCPU.self), wall: 0.003, cpuShare: 0.99, efficiency: 0.97)
        let advice = Advisor(machine: testMachine).recommend(profile, items: 300)
        let threads = ExecutionPlan(mode: .threads, workers: 2, chunkSize: 1)
        var state = AutoRunState(
            profile: profile, recommendation: advice, plan: threads, profilingSeconds: 0, profiledItems: 0)
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine))
        #expect(auto.reconsider(PureCPU.self, &state, items: 300, speedup: 1.1, at: 70))
        #expect(state.plan.mode == .processes, "\(state.switches.map(\.reason))")
        let record = try #require(state.switches.last)
        #expect(record.atIndex == 70 && record.from == threads)
        #expect(
            record.reason.hasPrefix("2 threads standing in for processes ran 1.10× as fast as one call alone"),
            "\(record.reason)")
        // Judged on the profile's unreached inputs: 40 inputs of 3 ms alone on two threads.
        let standIn = AutoRunState(
            profile: profile, recommendation: advice, plan: threads, profilingSeconds: 0, profiledItems: 0)
        #expect(auto.standInVerdict(standIn, items: 40, seconds: 0.062, cpuSeconds: 0.12) == nil)
        guard
            case .slowStandIn(let slow, let perItem)? = auto.standInVerdict(
                standIn, items: 40, seconds: 0.11, cpuSeconds: 0.21)
        else {
            Issue.record("copies that kept both cores busy at 1.1× were not judged short")
            return
        }
        // 1.09 on the wall clock; 40 inputs one at a time on two threads can show 40 / 20.5 at
        // most (the last input's drain), so 1.12 drain-free.
        #expect(abs(slow - 1.09 * 20.5 / 20) < 0.01 && abs(perItem - 0.00275) < 1e-9)
        // memory-scan's leftovers: 62 inputs in chunks of 5 at 1.43× on the wall clock, short of
        // 1.5 only by the drain of their last chunk (1.85× at most): not short.
        let chunked = ExecutionPlan(mode: .threads, workers: 2, chunkSize: 5)
        var scan = standIn
        scan.plan = chunked
        let scanSeconds = 62 * 0.003 / 1.43
        #expect(auto.standInVerdict(scan, items: 62, seconds: scanSeconds, cpuSeconds: 2 * scanSeconds) == nil)
        #expect(abs(AutoExecutor.drainFree(1.43, items: 62, chunk: 5, threads: 2) - 1.43 * 2 * 33.5 / 62) < 1e-9)
        // A lock's 1.25 stays short with its drain taken out (1.35), and a long stretch's figure
        // is its own; one thread has no drain to take out.
        let lockSeconds = 62 * 0.003 / 1.25
        guard
            case .slowStandIn(let locked, _)? = auto.standInVerdict(
                scan, items: 62, seconds: lockSeconds, cpuSeconds: 2 * lockSeconds)
        else {
            Issue.record("copies at 1.25x on a lock were not judged short")
            return
        }
        #expect(locked < 1.4)
        #expect(abs(AutoExecutor.drainFree(1.5, items: 1_000_000, chunk: 5, threads: 2) - 1.5) < 1e-4)
        #expect(AutoExecutor.drainFree(0.9, items: 62, chunk: 5, threads: 1) == 0.9)
        guard
            case .idleThreads(let busy, let others)? = auto.standInVerdict(
                standIn, items: 40, seconds: 0.11, cpuSeconds: 0.11)
        else {
            Issue.record("copies that kept one core busy were not judged idle")
            return
        }
        #expect(abs(busy - 0.5) < 0.01 && others == 0)
        // Beside a program that kept a core busy, two copies get 1.33 of the 2 cores: one core
        // busy and a speed-up of 1.09 are within their share, and not judged.
        #expect(auto.standInVerdict(standIn, items: 40, seconds: 0.11, cpuSeconds: 0.11, othersCores: 1) == nil)
        // Half a core under that share is still short.
        guard
            case .idleThreads(_, let counted)? = auto.standInVerdict(
                standIn, items: 40, seconds: 0.11, cpuSeconds: 0.06, othersCores: 1)
        else {
            Issue.record("copies that kept half a core busy beside a busy program were not judged idle")
            return
        }
        #expect(counted == 1)
        // Too few inputs to judge: the drain of the last ones would weigh too much.
        #expect(auto.standInVerdict(standIn, items: 6, seconds: 0.011, cpuSeconds: 0.011) == nil)
        // The speed-up decides: 1.1 on two threads falls short, 1.9 does not, one thread never.
        #expect(ObservedScaling.standInFallsShort(speedup: 1.1, threads: 2, cores: 2))
        #expect(!ObservedScaling.standInFallsShort(speedup: 1.9, threads: 2, cores: 2))
        #expect(!ObservedScaling.standInFallsShort(speedup: 0.5, threads: 1, cores: 2))
        #expect(ObservedScaling.standInFallsShort(speedup: 2.5, threads: 8, cores: 4))
        #expect(!ObservedScaling.standInFallsShort(speedup: .nan, threads: 2, cores: 2))
    }

    @Test("other programs' busy cores lower what the threads are expected to keep busy, once they hold enough to count")
    func othersLowerTheExpectation() {
        // Alone: two copies of a task that computes all its time fill both cores.
        #expect(ObservedScaling.expectedUtilisation(cpuRatio: 1, threads: 2, cores: 2) == 1)
        // A busy loop beside them: 2 of 3 runnable threads' worth of 2 cores.
        let besideOne = ObservedScaling.expectedUtilisation(cpuRatio: 1, threads: 2, cores: 2, othersCores: 1)
        #expect(abs(besideOne - 2.0 / 3.0) < 1e-9)
        // More copies take back more of the machine.
        let four = ObservedScaling.expectedUtilisation(cpuRatio: 1, threads: 4, cores: 2, othersCores: 1)
        #expect(abs(four - 0.8) < 1e-9)
        // Room to spare: one copy beside a busy loop on two cores has its core.
        #expect(ObservedScaling.expectedUtilisation(cpuRatio: 1, threads: 1, cores: 2, othersCores: 1) == 1)
        // Hostile readings count as none, or as every core.
        #expect(ObservedScaling.expectedUtilisation(cpuRatio: 1, threads: 2, cores: 2, othersCores: .nan) == 1)
        #expect(ObservedScaling.expectedUtilisation(cpuRatio: 1, threads: 2, cores: 2, othersCores: .infinity) == 1)
        #expect(ObservedScaling.expectedUtilisation(cpuRatio: 1, threads: 2, cores: 2, othersCores: 50) == 0.5)
        // 1.27 of 2 cores is a shortfall alone, and the threads' share beside a busy loop.
        #expect(ObservedScaling.fallsShort(utilisation: 0.635, cpuRatio: 1, threads: 2, cores: 2))
        #expect(!ObservedScaling.fallsShort(utilisation: 0.635, cpuRatio: 1, threads: 2, cores: 2, othersCores: 1))
        #expect(!ObservedScaling.fallsShort(utilisation: 0.55, cpuRatio: 1, threads: 2, cores: 2, othersCores: 1))
        #expect(ObservedScaling.fallsShort(utilisation: 0.3, cpuRatio: 1, threads: 2, cores: 2, othersCores: 1))
        // Under the busy threshold (a stray tick, the kernel's own threads) nothing counts.
        #expect(ObservedScaling.countedOthers(0.3, cores: 2) == 0)
        #expect(ObservedScaling.countedOthers(nil, cores: 2) == 0)
        #expect(ObservedScaling.countedOthers(.nan, cores: 2) == 0)
        #expect(ObservedScaling.countedOthers(0.97, cores: 2) == 0.97)
        #expect(ObservedScaling.countedOthers(5, cores: 2) == 2)
        // The stand-in's wall clock is judged against the share too.
        #expect(ObservedScaling.standInFallsShort(speedup: 1.1, threads: 2, cores: 2))
        #expect(!ObservedScaling.standInFallsShort(speedup: 1.1, threads: 2, cores: 2, othersCores: 1))
        #expect(ObservedScaling.standInFallsShort(speedup: 0.9, threads: 2, cores: 2, othersCores: 1))
    }

    @Test(
        "threads that still beat one call alone are not moved to serial mid-run: their pool has started",
        .enabled(if: Machine.usableCores == 2, "the figures assume two cores"))
    func runningThreadsStayOffSerial() throws {
        // Shipping an item costs as much as computing it: processes cannot pay either.
        let profile = shaped(
            try quickProfile(PureCPU.self), wall: 0.003, cpuShare: 0.99, efficiency: 0.97, shipping: 0.003)
        let threads = ExecutionPlan(mode: .threads, workers: 2, chunkSize: 1)
        let advisor = Advisor(machine: testMachine)
        let auto = AutoExecutor(advisor: advisor)
        // On the run's figure alone the advice is serial: too little gain to start a pool.
        let patched = ObservedScaling.profile(profile, observedSpeedup: 1.15, threads: 2)
        let fresh = advisor.recommend(patched, items: 4)
        #expect(fresh.mode == .serial, "\(fresh.summary)")
        var state = AutoRunState(
            profile: profile, recommendation: advisor.recommend(profile, items: 4), plan: threads,
            profilingSeconds: 0, profiledItems: 0)
        #expect(!auto.reconsider(PureCPU.self, &state, items: 4, speedup: 1.15, at: 10))
        #expect(state.plan == threads && state.switches.isEmpty)
        // Threads no faster than one call alone do move.
        #expect(auto.reconsider(PureCPU.self, &state, items: 4, speedup: 1.0, at: 10))
        #expect(state.plan.mode == .serial, "\(state.switches.map(\.reason))")
        // Beside a busy program, 0.77 of a core kept busy reads as a speed-up of 1.15 on a
        // quiet host (what the advice takes), but one call alone would have a whole core: the
        // threads go no faster than serial now, and move.
        var besideBusy = AutoRunState(
            profile: profile, recommendation: advisor.recommend(profile, items: 4), plan: threads,
            profilingSeconds: 0, profiledItems: 0)
        #expect(auto.reconsider(PureCPU.self, &besideBusy, items: 4, utilisation: 0.3833, othersCores: 1, at: 10))
        #expect(besideBusy.plan.mode == .serial, "\(besideBusy.switches.map(\.reason))")
    }

    @Test("a profile patched with the run's speed-up carries it as a measured serial fraction, and the advice follows")
    func patchedProfileDecides() throws {
        let profile = shaped(
            try quickProfile(PureCPU.self), wall: 0.002, cpuShare: 0.99, serialFraction: nil, efficiency: 0.97)
        let machine = testMachine
        let patched = ObservedScaling.profile(profile, observedSpeedup: 1.02, threads: 2)
        let fraction = try #require(patched.scaling?.serialFraction?.value)
        #expect(fraction > 0.9 && fraction < 1)
        let advice = Advisor(machine: machine).recommend(patched, items: 2000)
        #expect(advice.mode == .processes, "\(advice.explanation)")
        let scaling = ObservedScaling.profile(profile, observedSpeedup: 1.95, threads: 2)
        #expect(Advisor(machine: machine).recommend(scaling, items: 2000).mode == .threads)
    }

    @Test("hostile numbers (NaN, ±infinity, negatives) give a usable budget, sample and batch, never a trap")
    func hostileNumbers() {
        let odd: [Double] = [.nan, .infinity, -.infinity, -1, 0]
        let call = CallTiming(wallSeconds: 0.001, cpuSeconds: 0.001)
        for value in odd {
            // Batch sizes: at least two chunks per worker, at most what is left.
            for sizing in [
                BatchSizing(maximumSeconds: value, minimumSeconds: 0.05, riskShare: 0.05),
                BatchSizing(maximumSeconds: 1, minimumSeconds: value, riskShare: 0.05),
                BatchSizing(maximumSeconds: value, minimumSeconds: value, riskShare: value),
            ] {
                for perItem in odd + [0.001] {
                    let items = sizing.items(secondsPerItem: perItem, remaining: 1000, workers: 2, chunk: 1)
                    #expect(items >= 4 && items <= 1000, "\(sizing) at \(perItem) s an item: \(items)")
                }
            }
            // The profiler's budget: finite and positive, whatever the options say.
            var base = ProfilerOptions()
            base.maximumSeconds = value
            for budget in [
                ProfilingBudget(share: 0.05, minimumSeconds: 0.03),
                ProfilingBudget(share: value, minimumSeconds: value),
            ] {
                for options in [
                    budget.options(base, firstCall: call, items: 1000, cores: 2),
                    budget.options(ProfilerOptions(), firstCall: call, items: 1000, cores: 2),
                ] {
                    #expect(options.maximumSeconds.isFinite && options.maximumSeconds > 0, "\(budget), \(value)")
                    #expect(options.minimumSeconds.isFinite && options.minimumSeconds >= 0)
                    #expect(options.scalingRunSeconds.isFinite && options.scalingRunSeconds > 0)
                }
            }
            // The watch floor: finite and positive, whatever the options or the prediction say.
            var watched = AutoExecutor.Options()
            for drift in [value, Double.leastNonzeroMagnitude] {
                watched.driftMinimumSeconds = drift
                watched.minimumBatchSeconds = value
                for jobSeconds in odd + [0.3] {
                    let floor = watched.watchFloor(jobSeconds: jobSeconds)
                    #expect(floor.isFinite && floor > 0, "\(drift), \(jobSeconds): \(floor)")
                    let batch = watched.batchFloor(watchFloor: floor)
                    #expect(batch.isFinite && batch >= 0, "\(drift), \(value), \(jobSeconds): \(batch)")
                }
            }
            // The sample: within its bounds and what is left.
            for timing in [call, CallTiming(wallSeconds: value, cpuSeconds: value)] {
                let size = ProfilingBudget.sampleSize(base, firstCall: timing, remaining: 500, maximum: 1000)
                #expect(size >= 1 && size <= 500, "\(value): \(size)")
            }
        }
    }
}

@Suite("Auto executor switches without a profile")
struct AutoSwitchTests {
    @Test("a process plan no faster than threads' measured speed-up moves to threads once, and the record says why")
    func preferThreads() throws {
        let profile = shaped(
            try quickProfile(PureCPU.self), wall: 0.000_231, cpuShare: 1, serialFraction: 0.36, efficiency: 0.78)
        let advice = Advisor(machine: testMachine).recommend(profile, items: 8000)
        #expect(advice.mode == .processes)
        var state = AutoRunState(
            profile: profile, recommendation: advice, plan: ExecutionPlan(advice), profilingSeconds: 0,
            profiledItems: 0)
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine))
        #expect(auto.preferThreads(&state, items: 8000, perItem: 0.000_170, threadsPerItem: 0.000_156, at: 640))
        #expect(state.plan.mode == .threads && state.plan.workers == min(2, Machine.usableCores))
        #expect((state.plan.chunkSize ?? 0) >= 1)
        #expect(state.processesChecked && state.scalingChecked)
        let record = try #require(state.switches.last)
        #expect(record.atIndex == 640 && record.from.mode == .processes && record.to == state.plan)
        #expect(record.reason.contains("no better than"))
    }

    /// A CPU-bound profile whose copies on threads sped up 1.47× (Karp–Flatt 0.36): processes
    /// are advised, on a guess a trial window checks.
    static func partlyScaling() throws -> TaskProfile {
        shaped(try quickProfile(PureCPU.self), wall: 0.000_231, cpuShare: 1, serialFraction: 0.36, efficiency: 0.78)
    }

    @Test("a process plan chosen on a partial thread speed-up tries one window of threads first, once")
    func trialOfThreads() throws {
        let profile = try Self.partlyScaling()
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine))
        let advice = auto.advisor.recommend(profile, items: 8000)
        #expect(advice.mode == .processes)
        var state = AutoRunState(
            profile: profile, recommendation: advice, plan: ExecutionPlan(advice), profilingSeconds: 0,
            profiledItems: 0)
        let processes = state.plan
        let trial = try #require(auto.trialOfThreads(PureCPU.self, state, remaining: 8000))
        #expect(trial.mode == .threads && trial.workers == min(Machine.usableCores, 8000))
        // About 0.3 s of work left: not enough to use what a trial finds.
        #expect(auto.trialOfThreads(PureCPU.self, state, remaining: 2000) == nil)
        // Before the trial, processes are checked against the scaling test's figure.
        let estimate = try #require(auto.threadsReference(PureCPU.self, state))
        #expect(abs(estimate - 0.000_231 / (2 / 1.36)) < 1e-9)

        var tooShort = state
        #expect(!auto.startTrialIfDue(PureCPU.self, &tooShort, remaining: 2000, at: 100))
        #expect(tooShort.plan == processes && tooShort.switches.isEmpty)
        #expect(auto.startTrialIfDue(PureCPU.self, &state, remaining: 8000, at: 100))
        #expect(state.plan == trial && state.trialReturnsTo == processes)
        #expect(state.switches.first?.reason.contains("a trial window on threads first") == true)
        #expect(auto.trialOfThreads(PureCPU.self, state, remaining: 7900) == nil, "a trial inside a trial")
        #expect(auto.endTrial(&state, perItem: 0.000_150, at: 900))
        #expect(state.plan == processes && state.trialReturnsTo == nil)
        #expect(state.switches.map(\.atIndex) == [100, 900])
        #expect(state.switches.last?.reason.contains("trial window") == true)
        // Afterwards, processes are checked against the trial's own figure, and never tried again.
        #expect(auto.threadsReference(PureCPU.self, state) == 0.000_150)
        #expect(auto.trialOfThreads(PureCPU.self, state, remaining: 7000) == nil, "a second trial")
        #expect(auto.preferThreads(&state, items: 7000, perItem: 0.000_190, threadsPerItem: 0.000_150, at: 1500))
        #expect(state.switches.last?.reason.contains("in the trial window") == true)
    }

    @Test("a trial window whose threads came within a tenth of the cores keeps threads: no process window")
    func trialNearTheCoresKeepsThreads() throws {
        let profile = try Self.partlyScaling()
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine))
        var state = AutoRunState(
            profile: profile, recommendation: auto.advisor.recommend(profile, items: 8000),
            plan: ExecutionPlan(auto.advisor.recommend(profile, items: 8000)), profilingSeconds: 0, profiledItems: 0)
        #expect(auto.startTrialIfDue(PureCPU.self, &state, remaining: 8000, at: 100))
        let trial = state.plan
        let usable = Double(min(trial.workers, Machine.usableCores))
        #expect(state.switches.first?.reason.contains("nine tenths of the cores") == true)
        // 0.95 of the cores on the wall clock, from one call alone (231 µs) over the window's time per item.
        var near = state
        #expect(!auto.endTrial(&near, perItem: 0.000_231 / (0.95 * usable), at: 900))
        #expect(near.plan == trial && near.trialReturnsTo == nil && near.switches.map(\.atIndex) == [100])
        #expect(near.processesChecked && near.scalingChecked)
        #expect(auto.trialOfThreads(PureCPU.self, near, remaining: 7000) == nil, "a second trial")
        // 0.85 of the cores: processes get their window.
        var short = state
        #expect(auto.endTrial(&short, perItem: 0.000_231 / (0.85 * usable), at: 900))
        #expect(short.plan.mode == .processes && short.switches.map(\.atIndex) == [100, 900])
    }

    @Test("no trial where copies on threads made no progress, the host was noisy, or threads are ruled out")
    func noTrial() throws {
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine))
        func state(_ profile: TaskProfile, _ plan: ExecutionPlan) -> AutoRunState {
            AutoRunState(
                profile: profile, recommendation: auto.advisor.recommend(profile, items: 8000), plan: plan,
                profilingSeconds: 0, profiledItems: 0)
        }
        let processes = ExecutionPlan(mode: .processes, workers: 2, chunkSize: 1)
        // A lock: two copies no faster than one (1.05×) is what processes are for.
        let lock = shaped(
            try quickProfile(PureCPU.self), wall: 0.000_231, cpuShare: 1, serialFraction: 0.9, efficiency: 0.5)
        #expect(auto.trialOfThreads(PureCPU.self, state(lock, processes), remaining: 8000) == nil)
        var noisy = try Self.partlyScaling()
        noisy.scaling?.noisyHost = true
        #expect(auto.trialOfThreads(PureCPU.self, state(noisy, processes), remaining: 8000) == nil)
        var unsafe = try Self.partlyScaling()
        unsafe.declared = TaskDeclaration(notThreadSafe: true)
        #expect(auto.trialOfThreads(PureCPU.self, state(unsafe, processes), remaining: 8000) == nil)
        let unmeasured = shaped(try quickProfile(PureCPU.self), wall: 0.000_231, cpuShare: 1)
        #expect(auto.trialOfThreads(PureCPU.self, state(unmeasured, processes), remaining: 8000) == nil)
        // Threads that fell short in this run already had their trial.
        var fellShort = state(try Self.partlyScaling(), processes)
        #expect(auto.trialOfThreads(PureCPU.self, fellShort, remaining: 8000) != nil)
        fellShort.threadsFellShort = true
        #expect(auto.trialOfThreads(PureCPU.self, fellShort, remaining: 8000) == nil)
        // A pipeline chosen without a measured speed-up is tried against threads sized for the
        // waits (4 × cores / CPU ratio); one whose copies made no progress is not.
        let pipeline = ExecutionPlan(mode: .pipeline, workers: 2, fetchWorkers: 3, computeStage: .processes)
        let mixed = shaped(try quickProfile(PureCPU.self), wall: 0.004, cpuShare: 0.5)
        let trial = try #require(auto.trialOfThreads(PureCPU.self, state(mixed, pipeline), remaining: 2000))
        #expect(trial.mode == .threads && trial.workers == min(64, 8 * Machine.usableCores) && trial.chunkSize == 1)
        #expect(auto.threadsReference(PureCPU.self, state(mixed, pipeline)) == nil, "no estimate without a trial")
        let mixedLock = shaped(
            try quickProfile(PureCPU.self), wall: 0.004, cpuShare: 0.5, serialFraction: 0.9, efficiency: 0.5)
        #expect(auto.trialOfThreads(PureCPU.self, state(mixedLock, pipeline), remaining: 2000) == nil)
        // Such a pipeline (as `mixed-split-pipeline` chooses it) is not even started: threads
        // first, watched for idle cores. One whose computing part was measured, or a task not
        // safe on threads, keeps the advice.
        func split(_ profile: TaskProfile, _ plan: ExecutionPlan) -> AutoRunState {
            var split = state(profile, plan)
            split.recommendation.decidingRule?.rule = "mixed-split-pipeline"
            return split
        }
        let first = try #require(auto.threadsFirst(PureCPU.self, split(mixed, pipeline), items: 2000))
        #expect(first == trial)
        #expect(auto.threadsFirst(PureCPU.self, split(mixedLock, pipeline), items: 2000) == nil)
        var mixedUnsafe = mixed
        mixedUnsafe.declared = TaskDeclaration(notThreadSafe: true)
        #expect(auto.threadsFirst(PureCPU.self, split(mixedUnsafe, pipeline), items: 2000) == nil)
        #expect(auto.threadsFirst(PureCPU.self, split(mixed, processes), items: 2000) == nil)
        // A thread plan has nothing to try.
        let threads = ExecutionPlan(mode: .threads, workers: 2, chunkSize: 1)
        #expect(auto.trialOfThreads(PureCPU.self, state(try Self.partlyScaling(), threads), remaining: 8000) == nil)
    }
}
