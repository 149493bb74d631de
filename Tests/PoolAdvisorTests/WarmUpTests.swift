import Foundation
import PoolAdvisorTestTasks
import Testing

@testable import PoolAdvisor

/// Builds its state on its first call in this process (60 ms of CPU, once). Used by one test
/// only: a second user would find the state built.
private struct ProfiledSlowStart: PoolTask {
    private static let state: Int = {
        computeAtLeast(seconds: 0.06)
        return 1
    }()

    static func run(_ input: Int) -> Int { input + state }
}

/// Builds its state on its first call in this process (60 ms of CPU, once), then computes
/// 0.2 ms a call. Used by one test only.
private struct TimedSlowStart: PoolTask {
    private static let state: Int = {
        computeAtLeast(seconds: 0.06)
        return 1
    }()

    static func run(_ input: Int) -> Int {
        computeAtLeast(seconds: 0.0002)
        return input + state
    }
}

@Suite("A fresh process's warm-up", .serialized, .timeLimit(.minutes(10)))
struct WarmUpTests {
    @Test("the profile times the first call apart, and each wave of worker processes pays its warm-up")
    func profiledWarmUp() throws {
        var options = ProfilerOptions()
        options.minimumCalls = 5
        options.minimumSeconds = 0.02
        options.maximumSeconds = 0.5
        options.samplingHertz = 0
        options.scalingMinimumCPURatio = 2
        let profile = try Profiler(options: options).profile(ProfiledSlowStart.self, sample: Array(0..<16))
        let first = try #require(profile.calls.firstCallSeconds)
        // The CPU spent is a floor: nothing can make the call shorter.
        #expect(first >= 0.06)
        #expect(profile.calls.warmUpSeconds >= 0.06 - profile.calls.wallSecondsPerCall.value)
        // The mean call leaves the first one out: the state is built by then.
        #expect(profile.calls.wallSecondsPerCall.value < first)

        var cold = profile
        cold.calls.firstCallSeconds = nil
        #expect(cold.calls.warmUpSeconds == 0)
        let warmUp = profile.calls.warmUpSeconds
        let model = CostModel(profile: profile, machine: testMachine)
        let unaware = CostModel(profile: cold, machine: testMachine)
        // Two workers on two cores start as one wave; four start as two.
        for (workers, waves) in [(2, 1.0), (4, 2.0)] {
            let extra =
                model.seconds(.processes, items: 1000, workers: workers)
                - unaware.seconds(.processes, items: 1000, workers: workers)
            #expect(abs(extra - waves * warmUp) < 1e-9, "\(workers) workers: \(extra)")
        }
        // Threads share the state this process built.
        #expect(
            model.seconds(.threads, items: 1000, workers: 2) == unaware.seconds(.threads, items: 1000, workers: 2))
        // The rules read it as a fact; unmeasured, it is unknown, not zero.
        let facts = Advisor(machine: testMachine).recommend(profile, items: 1000).evaluation.facts
        #expect(facts["warm_up_seconds"] == .number(warmUp))
        let unmeasured = Advisor(machine: testMachine).recommend(cold, items: 1000).evaluation.facts
        #expect(unmeasured["warm_up_seconds"] == .unknown)
    }

    @Test("a hostile first-call figure in a profile file gives a bounded warm-up and finite prices")
    func hostileFirstCall() throws {
        let base = shaped(try quickProfile(PureCPU.self), wall: 0.001, cpuShare: 1)
        for value in [Double.nan, .infinity, -.infinity, -5, 0, 1e-300, 1e308] {
            var profile = base
            profile.calls.firstCallSeconds = value
            let warmUp = profile.calls.warmUpSeconds
            #expect(warmUp.isFinite && warmUp >= 0 && warmUp <= 3600, "\(value): \(warmUp)")
            let advice = Advisor(machine: testMachine).recommend(profile, items: 1000)
            #expect(advice.predicted.processes.seconds.isFinite, "\(value)")
            #expect((advice.workers ?? 1) >= 1)
        }
    }

    @Test("auto mode reads the warm-up off the job's first call, before its profile runs warm")
    func autoSeesTheFirstCall() throws {
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: quickAuto)
        let run = try auto.run(SlowFirstCall.self, Array(0..<64))
        #expect(run.outputs == Array(1...64))
        let profile = try #require(run.profile)
        let first = try #require(profile.calls.firstCallSeconds)
        #expect(first >= 0.06)
        #expect(profile.calls.warmUpSeconds > 0.05)
    }

    @Test("a first call reads as its wall time less its wait for a core; CPU time only where the wait is unknown")
    func warmReadingOnFixedFigures() {
        let computing = CallTiming(wallSeconds: 0.001, cpuSeconds: 0.001)
        let waiting = CallTiming(wallSeconds: 0.001, cpuSeconds: 0.000_01)
        // Slept 60 ms, then waited 20 ms for a core: 60 ms, whatever a typical call does.
        let slept = CallTiming(wallSeconds: 0.08, cpuSeconds: 0.000_1, runQueueSeconds: 0.02)
        #expect(slept.ownSeconds.map { abs($0 - 0.06) < 1e-12 } == true)
        #expect(AutoExecutor.warmCallSeconds(slept, typical: computing).map { abs($0 - 0.06) < 1e-12 } == true)
        #expect(AutoExecutor.warmCallSeconds(slept, typical: waiting).map { abs($0 - 0.06) < 1e-12 } == true)
        // No wait measured: a computing task's first call by its CPU, another's by its wall time.
        let unknown = CallTiming(wallSeconds: 0.08, cpuSeconds: 0.05)
        #expect(unknown.ownSeconds == nil)
        #expect(AutoExecutor.warmCallSeconds(unknown, typical: computing) == 0.05)
        #expect(AutoExecutor.warmCallSeconds(unknown, typical: waiting) == 0.08)
        #expect(AutoExecutor.warmCallSeconds(nil, typical: computing) == nil)
        // Hostile readings: never negative, never NaN; a non-finite wait counts as not measured.
        #expect(CallTiming(wallSeconds: 0.01, cpuSeconds: 0, runQueueSeconds: 0.05).ownSeconds == 0)
        #expect(CallTiming(wallSeconds: 0.01, cpuSeconds: 0, runQueueSeconds: -1).ownSeconds == 0.01)
        #expect(CallTiming(wallSeconds: 0.01, cpuSeconds: 0, runQueueSeconds: .nan).ownSeconds == nil)
        #expect(CallTiming(wallSeconds: .infinity, cpuSeconds: 0, runQueueSeconds: 0).ownSeconds == nil)
    }

    @Test("auto mode times calls after a cold first one, which would otherwise size the whole profile")
    func firstCallsPastTheColdOne() throws {
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: quickAuto)
        var outputs: [Int] = []
        var delivered: [Int] = []
        let (call, first, prior) = try auto.timeFirstCalls(
            TimedSlowStart.self, Array(0..<64), &outputs, nil, { delivered += $0 })
        #expect(outputs.count >= 2)
        // The warm calls are the profile's first measurements; the cold one is not among them.
        #expect(prior.madeCalls)
        #expect(prior.recordedCalls == outputs.count - 1)
        #expect(try #require(prior.fastestCallSeconds) < (try #require(first)))
        #expect(outputs == Array(1...outputs.count))
        #expect(delivered.isEmpty)
        // Spent CPU is a floor on the first call's reading; the call time returned is a later
        // call's, a few hundred times less CPU (load stretches only its wall clock).
        #expect(try #require(first) >= 0.06)
        #expect(call.wallSeconds < (try #require(first)))
        if let own = call.ownSeconds { #expect(own < 0.03, "\(call)") }
    }

    @Test(
        "auto mode counts a first call that waits, though the task's later calls compute",
        .enabled(if: FileManager.default.fileExists(atPath: "/proc/thread-self/schedstat")))
    func autoSeesAWaitingFirstCall() throws {
        // Read by CPU time, as before the wait for a core was measured, this warm-up was about
        // nothing: the call slept. Its own time (wall less any wait for a core) counts the sleep.
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: quickAuto)
        let run = try auto.run(NapFirstCall.self, Array(0..<64))
        #expect(run.outputs == Array(1...64))
        let profile = try #require(run.profile)
        let first = try #require(profile.calls.firstCallSeconds)
        #expect(first >= 0.06)
        #expect(profile.calls.warmUpSeconds > 0.05)
    }
}
