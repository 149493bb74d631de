import PoolExecutors
import PoolWorkloads
import Testing

@testable import PoolAdvisor
@testable import PoolProfiler

/// A task no test worker registers: a pool's workers refuse it.
struct UnregisteredDoubling: PoolTask {
    static let name = "tests.unregistered-doubling"
    static func run(_ input: Int) -> Int { 2 * input }
}

/// The process-scaling test and what the advice makes of its figure. The figures' values are
/// timings; the tests assert that the test runs, what it reports, and the decisions made on
/// figures set by hand.
@Suite("Process scaling", .timeLimit(.minutes(10)))
struct ProcessScalingTests {
    @Test("the probe times one worker against N on warm workers and reports one speed-up per round")
    func probeMeasures() {
        let probe = ProcessScalingProbe<PureCPU>(
            sample: PureCPU.inputs(count: 4), workers: 2, configuration: advisorWorkers, groupSeconds: 0.01,
            rounds: 3)
        switch probe.measure(callSeconds: 0.002, deadline: .max) {
        case .measured(let estimate, let paired):
            #expect(paired == nil)
            #expect(estimate.observations == 3)
            #expect(estimate.value.isFinite && estimate.value > 0)
            #expect(estimate.low <= estimate.value && estimate.value <= estimate.high)
        case .skipped(let reason):
            Issue.record("not measured: \(reason)")
        }
    }

    @Test("paired: a round on threads of the same calls beside every process round, and their ratio reported")
    func pairedRounds() {
        let asked = Locked<[Int]>([])
        var probe = ProcessScalingProbe<PureCPU>(
            sample: PureCPU.inputs(count: 4), workers: 2, configuration: advisorWorkers, groupSeconds: 0.01,
            rounds: 3, maximumRounds: 5)
        // Threads a thousand times faster than any process pair: the ratio is clear of 1, so
        // the minimum rounds suffice.
        probe.threadRound = { calls in
            asked.withLock { $0.append(calls) }
            return 1e6
        }
        guard case .measured(let speedup, let ratio?) = probe.measure(callSeconds: 0.002, deadline: .max) else {
            Issue.record("not measured, or not paired")
            return
        }
        #expect(speedup.observations == 3 && ratio.observations == 3)
        #expect(ratio.high < 1)
        #expect(abs(ratio.value - speedup.value / 1e6) < 1e-9 * max(1, speedup.value))
        let calls = asked.withLock { $0 }
        #expect(calls.count == 3 && Set(calls).count == 1 && calls[0] >= 1)
        // Threads alternately far faster and far slower: the ratio's interval holds 1 however
        // the processes ran, so rounds go on to the maximum, judged there once.
        let flips = Locked(0)
        probe.threadRound = { _ in
            flips.withLock { $0 += 1 }
            return flips.withLock { $0 } % 2 == 0 ? 1e-6 : 1e6
        }
        guard case .measured(_, let spread?) = probe.measure(callSeconds: 0.002, deadline: .max) else {
            Issue.record("not measured, or not paired")
            return
        }
        #expect(spread.observations == 5 && spread.low <= 1 && spread.high >= 1)
        #expect(flips.withLock { $0 } == 5)
    }

    @Test("a paired ratio whose interval holds 1 counts as no different: the processes' figure is the threads'")
    func pairedRatioCarriesToTheThreadsFigure() {
        let unclear = ScalingProfile.processSpeedup(
            threads: 1.6, overThreads: Estimate(value: 1.12, low: 0.9, high: 1.34, observations: 8))
        #expect(unclear.value == 1.6)
        #expect(abs(unclear.low - 1.44) < 1e-9 && abs(unclear.high - 1.6 * 1.34) < 1e-9)
        let further = ScalingProfile.processSpeedup(
            threads: 1.05, overThreads: Estimate(value: 1.9, low: 1.7, high: 2.1, observations: 3))
        #expect(abs(further.value - 1.995) < 1e-9 && further.observations == 3)
        let behind = ScalingProfile.processSpeedup(
            threads: 1.8, overThreads: Estimate(value: 0.8, low: 0.7, high: 0.9, observations: 3))
        #expect(abs(behind.value - 1.44) < 1e-9)
    }

    @Test(
        "the process test runs after a quiet thread test short of the cores by 5 %, or one under load, on calls long enough"
    )
    func whenTheProcessTestRuns() {
        func scaling(_ speedup: Double?, threads: Int = 2, noisy: Bool = false, loaded: Double? = nil)
            -> ScalingProfile
        {
            ScalingProfile(
                threads: threads, rounds: [], cleanRounds: 3,
                speedup: speedup.map { Estimate(value: $0, low: $0, high: $0, observations: 3) }, serialFraction: nil,
                cpuEfficiency: Estimate(value: 0.95, low: 0.95, high: 0.95, observations: 3), noisyHost: noisy,
                waits: nil, universalScalability: nil,
                speedupUnderLoad: loaded.map { Estimate(value: $0, low: $0, high: $0, observations: 8) })
        }
        // JSON coding's reading: counts as scaling (e 0.11), yet processes may go further.
        #expect(ProcessScalingProbe<PureCPU>.canDecide(after: scaling(1.8), callSeconds: 0.001))
        #expect(ProcessScalingProbe<PureCPU>.canDecide(after: scaling(1.2), callSeconds: 0.001))
        #expect(ProcessScalingProbe<PureCPU>.canDecide(after: scaling(3.7, threads: 4), callSeconds: 0.001))
        // Within 5 % of the cores: nothing for processes to gain.
        #expect(!ProcessScalingProbe<PureCPU>.canDecide(after: scaling(1.92), callSeconds: 0.001))
        #expect(!ProcessScalingProbe<PureCPU>.canDecide(after: scaling(3.9, threads: 4), callSeconds: 0.001))
        // Not measured, or disturbed with no speed-up under load kept: no figure to compare with.
        #expect(!ProcessScalingProbe<PureCPU>.canDecide(after: scaling(nil), callSeconds: 0.001))
        #expect(!ProcessScalingProbe<PureCPU>.canDecide(after: scaling(1.3, noisy: true), callSeconds: 0.001))
        // Beside busy programs the threads' speed-up under the same load is what processes are
        // compared with, whatever its value (the load's share is in both).
        func underLoad(_ loaded: Double, threads: Int = 4, call: Double = 0.001) -> Bool {
            ProcessScalingProbe<PureCPU>.canDecide(
                after: scaling(nil, threads: threads, noisy: true, loaded: loaded), callSeconds: call, cores: 2)
        }
        #expect(underLoad(1.5))
        #expect(underLoad(0.9))
        #expect(!underLoad(.nan))
        #expect(!underLoad(1.5, call: 1e-6))
        // Copies no more than the cores: the rules read no comparison, so none is made.
        #expect(!underLoad(1.2, threads: 2))
        #expect(!ProcessScalingProbe<PureCPU>.canDecide(after: scaling(.nan), callSeconds: 0.001))
        // Calls so short that the pipes would be timed, not the task.
        #expect(!ProcessScalingProbe<PureCPU>.canDecide(after: scaling(1.5), callSeconds: 1e-6))
        #expect(!ProcessScalingProbe<PureCPU>.canDecide(after: scaling(1.5), callSeconds: .nan))
    }

    @Test("a task the workers cannot run is not measured, and the note says what the program must do")
    func unregisteredTaskIsSkipped() {
        let probe = ProcessScalingProbe<UnregisteredDoubling>(
            sample: [1, 2, 3], workers: 2, configuration: advisorWorkers, groupSeconds: 0.01, rounds: 3)
        guard case .skipped(let reason) = probe.measure(callSeconds: 1e-6, deadline: .max) else {
            Issue.record("an unknown task was measured")
            return
        }
        #expect(reason.contains("runIfWorker"))
        #expect(reason.contains(UnregisteredDoubling.name))
    }

    @Test("an empty sample or a single worker is not measured")
    func nothingToCompare() {
        for (sample, workers) in [([Int](), 2), ([1], 1)] {
            let probe = ProcessScalingProbe<UnregisteredDoubling>(
                sample: sample, workers: workers, configuration: advisorWorkers, groupSeconds: 0.01, rounds: 3)
            guard case .skipped = probe.measure(callSeconds: 1e-6, deadline: .max) else {
                Issue.record("measured with \(sample.count) inputs and \(workers) workers")
                continue
            }
        }
    }

    /// A CPU-bound profile whose copies on threads sped up 1.47× (Karp–Flatt 0.36), with
    /// processes measured at `processes`.
    static func partlyScaling(processes: Double?) throws -> TaskProfile {
        var profile = shaped(
            try quickProfile(PureCPU.self), wall: 0.000_231, cpuShare: 1, serialFraction: 0.36, efficiency: 0.78)
        profile.scaling?.processSpeedup = processes.map { Estimate(value: $0, low: $0, high: $0, observations: 3) }
        return profile
    }

    @Test("processes measured no better than threads: threads; measured clearly better, or not measured: processes")
    func adviceFollowsTheMeasuredProcesses() throws {
        let advisor = Advisor(machine: testMachine)
        let shared = advisor.recommend(try Self.partlyScaling(processes: 1.35), items: 8000)
        #expect(shared.mode == .threads, "\(shared.summary)")
        #expect(shared.evaluation.facts["process_speedup"] == .number(1.35))
        let escaped = advisor.recommend(try Self.partlyScaling(processes: 1.95), items: 8000)
        #expect(escaped.mode == .processes && escaped.decidingRule?.rule == "cpu-does-not-scale", "\(escaped.summary)")
        let unmeasured = advisor.recommend(try Self.partlyScaling(processes: nil), items: 8000)
        #expect(unmeasured.mode == .processes, "\(unmeasured.summary)")
        #expect(unmeasured.evaluation.facts["process_speedup"] == .unknown)
    }

    @Test("the cost model scales processes by the measured speed-up, and by the cores without one")
    func costModelUsesTheMeasuredSpeedup() throws {
        let measured = CostModel(profile: try Self.partlyScaling(processes: 1.3), machine: testMachine)
        #expect(abs(measured.processSpeedup(2) - 1.3) < 1e-9)
        #expect(measured.processSpeedup(1) == 1)
        let unmeasured = CostModel(profile: try Self.partlyScaling(processes: nil), machine: testMachine)
        #expect(unmeasured.processSpeedup(2) == 2)
        // Hostile figures stay in bounds.
        for value in [0.0, -1, .infinity, .nan, 1e300, 1e-300] {
            let model = CostModel(profile: try Self.partlyScaling(processes: value), machine: testMachine)
            let speedup = model.processSpeedup(2)
            #expect(speedup.isFinite && speedup > 0 && speedup <= 2, "\(value): \(speedup)")
        }
    }
}
