import PoolProfiler
import Testing

@testable import PoolAdvisor

/// What a drift's new profile may undo: a comparison of processes with threads the run already
/// made stands while the task computes as it did.
@Suite("Auto executor after a drift")
struct AutoReprofileTests {
    /// A partly scaling CPU-bound profile (copies on threads at `2 / (1 + serialFraction)`).
    static func profile(wall: Double, serialFraction: Double) throws -> TaskProfile {
        shaped(
            try quickProfile(PureCPU.self), wall: wall, cpuShare: 1, serialFraction: serialFraction, efficiency: 0.78)
    }

    @Test("processes that lost to threads are not tried again when the task still takes as long and scales part-way")
    func lostComparisonStands() throws {
        let before = try Self.profile(wall: 0.000_270, serialFraction: 0.36)
        let processes = ExecutionPlan(mode: .processes, workers: 2, chunkSize: 6)
        let threads = ExecutionPlan(mode: .threads, workers: 2, chunkSize: 6)
        // memory-scan's 3 s job: a window slowed by a neighbour, the new profile 1.40× on threads.
        let noisy = try Self.profile(wall: 0.000_290, serialFraction: 2 / 1.40 - 1)
        #expect(AutoExecutor.repeatsLostComparison(processes, lostOn: before, after: noisy))
        // Nothing was lost yet: the new advice gets its trial.
        #expect(!AutoExecutor.repeatsLostComparison(processes, lostOn: nil, after: noisy))
        // Threads are the advice anyway.
        #expect(!AutoExecutor.repeatsLostComparison(threads, lostOn: before, after: noisy))
        // Copies that now make no progress (a lock, phase-change's later inputs): processes' case is new.
        let locked = try Self.profile(wall: 0.000_270, serialFraction: 2 / 1.05 - 1)
        #expect(!AutoExecutor.repeatsLostComparison(processes, lostOn: before, after: locked))
        // A lock that appears later: copies at 1.28× where they ran at 1.9× (phase-change), though
        // still past 1.2×, fall below four fifths of the speed-up processes lost on.
        let unlocked = try Self.profile(wall: 0.000_270, serialFraction: 2 / 1.9 - 1)
        let lockedLater = try Self.profile(wall: 0.000_270, serialFraction: 2 / 1.28 - 1)
        #expect(!AutoExecutor.repeatsLostComparison(processes, lostOn: unlocked, after: lockedLater))
        // The same speed-up as then, a little lower under a neighbour: the comparison stands.
        let lower = try Self.profile(wall: 0.000_270, serialFraction: 2 / 1.6 - 1)
        #expect(AutoExecutor.repeatsLostComparison(processes, lostOn: unlocked, after: lower))
        // Calls that take twice as long, or half: another task in all but name.
        let slower = try Self.profile(wall: 0.000_600, serialFraction: 0.36)
        let faster = try Self.profile(wall: 0.000_120, serialFraction: 0.36)
        #expect(!AutoExecutor.repeatsLostComparison(processes, lostOn: before, after: slower))
        #expect(!AutoExecutor.repeatsLostComparison(processes, lostOn: before, after: faster))
        // No speed-up measured in the new profile: nothing to compare.
        var unmeasured = noisy
        unmeasured.scaling?.speedup = nil
        #expect(!AutoExecutor.repeatsLostComparison(processes, lostOn: before, after: unmeasured))
    }

    @Test("processes losing a window to threads, or a trial's threads near the cores, is remembered for the run")
    func verdictsAreRemembered() throws {
        let profile = try AutoSwitchTests.partlyScaling()
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine))
        let advice = auto.advisor.recommend(profile, items: 8000)
        #expect(advice.mode == .processes)
        let start = AutoRunState(
            profile: profile, recommendation: advice, plan: ExecutionPlan(advice), profilingSeconds: 0,
            profiledItems: 0)
        var lost = start
        #expect(lost.processesLostOn == nil)
        #expect(auto.preferThreads(&lost, items: 8000, perItem: 0.000_170, threadsPerItem: 0.000_156, at: 640))
        #expect(lost.processesLostOn?.calls.wallSecondsPerCall.value == profile.calls.wallSecondsPerCall.value)

        // A pipeline that lost to threads never ran a process plan: nothing is remembered of one.
        var pipeline = start
        pipeline.plan = ExecutionPlan(mode: .pipeline, workers: 2, fetchWorkers: 3, computeStage: .processes)
        #expect(auto.preferThreads(&pipeline, items: 8000, perItem: 0.000_170, threadsPerItem: 0.000_156, at: 640))
        #expect(pipeline.plan.mode == .threads && pipeline.processesLostOn == nil)

        var near = start
        #expect(auto.startTrialIfDue(PureCPU.self, &near, remaining: 8000, at: 100))
        let usable = Double(min(near.plan.workers, Machine.usableCores))
        #expect(!auto.endTrial(&near, perItem: 0.000_231 / (0.95 * usable), at: 900))
        #expect(near.processesLostOn != nil)

        // A trial whose threads fell short sends the run to processes: nothing lost yet.
        var short = start
        #expect(auto.startTrialIfDue(PureCPU.self, &short, remaining: 8000, at: 100))
        #expect(auto.endTrial(&short, perItem: 0.000_231 / (0.85 * usable), at: 900))
        #expect(short.processesLostOn == nil)
    }

    @Test("a new profile whose advice repeats a lost comparison keeps threads and says so in keptPlans")
    func keptPlanIsRecorded() throws {
        let before = try Self.profile(wall: 0.000_270, serialFraction: 0.36)
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine))
        let threads = ExecutionPlan(mode: .threads, workers: 2, chunkSize: 6)
        var state = AutoRunState(
            profile: before, recommendation: auto.advisor.recommend(before, items: 8000), plan: threads,
            profilingSeconds: 0, profiledItems: 0)
        state.processesLostOn = before

        // A neighbour slowed the window: the new profile advises processes again, at 1.40x on threads.
        let noisy = try Self.profile(wall: 0.000_290, serialFraction: 2 / 1.40 - 1)
        let advice = auto.advisor.recommend(noisy, items: 6000)
        #expect(advice.mode == .processes, "\(advice.summary)")
        var kept = state
        #expect(!auto.adopt(PureCPU.self, noisy, advice: advice, at: 2000, remaining: 6000, why: "drift", &kept))
        #expect(kept.plan == threads && kept.switches.isEmpty)
        let record = try #require(kept.keptPlans.first)
        #expect(kept.keptPlans.count == 1 && record.atIndex == 2000 && record.plan == threads)
        #expect(record.reason.hasPrefix("drift; profiled again: \(advice.summary); kept \(threads.summary)"))

        // Copies that now make no progress: processes' case is new, the advice is taken and
        // nothing is recorded as kept.
        let locked = try Self.profile(wall: 0.000_270, serialFraction: 2 / 1.05 - 1)
        let lockedAdvice = auto.advisor.recommend(locked, items: 6000)
        var switched = state
        let changed = auto.adopt(
            PureCPU.self, locked, advice: lockedAdvice, at: 2000, remaining: 6000, why: "drift", &switched)
        #expect(lockedAdvice.mode == .processes, "\(lockedAdvice.summary)")
        #expect(changed && switched.keptPlans.isEmpty)
        #expect(switched.plan.mode == .processes && switched.switches.last?.atIndex == 2000)
        #expect(switched.profile.calls.wallSecondsPerCall.value == locked.calls.wallSecondsPerCall.value)
    }
}
