import Foundation
import PoolExecutors
import Testing

@testable import PoolProfiler

/// A call of about 2 ms of computing, each input's output its own.
private struct Churn: PoolTask {
    static let name = "tests.prior-calls-churn"
    static let isIdempotent = false
    static func run(_ input: Int) -> Int {
        var value = UInt64(truncatingIfNeeded: input) &+ 1
        for _ in 0..<2_000_000 { value = value &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
        return input &+ Int(truncatingIfNeeded: value >> 60)
    }
}

/// Calls made before a profile, counted as its own: what a short job's profile rests on.
@Suite struct PriorCallsTests {
    /// Two calls made and measured here, the first cold and not recorded.
    func twoPriorCalls() -> PriorCalls {
        var prior = PriorCalls()
        _ = prior.measure(recorded: false) { Churn.run(-1) }
        _ = prior.measure { Churn.run(-2) }
        return prior
    }

    @Test("calls measured before the profile count as its serial records; a cold call is not among them")
    func priorCallsAreRecords() {
        let prior = twoPriorCalls()
        #expect(prior.madeCalls)
        #expect(prior.recordedCalls == 1)
        let fastest = prior.fastestCallSeconds ?? 0
        #expect(fastest > 0 && fastest.isFinite)
        var grouped = prior
        grouped.discardRecords()
        #expect(grouped.recordedCalls == 0 && grouped.madeCalls && grouped.fastestCallSeconds == nil)
        let (_, timing) = grouped.measure(calls: 4) { (0..<4).map(Churn.run) }
        #expect(grouped.recordedCalls == 4)
        #expect(timing.wallSeconds >= timing.cpuSeconds * 0.5 && timing.cpuSeconds > 0)
    }

    @Test("a budget the prior calls used up: the profile makes no call of its own and rests on theirs")
    func noBudgetNoCalls() throws {
        var options = ProfilerOptions()
        options.maximumSeconds = 0
        options.minimumSeconds = 0
        options.repeatsIdempotentInputs = false
        options.stopsAtFirstFailure = true
        let run = try Profiler(options: options).measure(Churn.self, sample: [1, 2, 3, 4], after: twoPriorCalls())
        // Not one sample input was called: every output is missing, none computed or failed.
        #expect(run.outputs.allSatisfy { $0 == nil }, "\(run.outputs)")
        #expect(run.profile.calls.calls == 1)
        #expect(run.profile.calls.cpuRatio.value > 0)
        // No scaling round fitted a budget of nothing, and the profile says why.
        #expect(run.profile.scaling == nil)
        #expect(run.profile.scalingSkippedReason?.isEmpty == false)
        // Under 0.1 s of profile the neighbours' load is not read (ticks too coarse to act on).
        if run.profile.profilingSeconds < 0.1 { #expect(run.profile.host.othersBusyCores == nil) }
    }

    @Test("one round whose single run was made already: the copies run alone, giving a CPU efficiency and no speed-up")
    func oneRoundAfterTheSerialPhase() throws {
        var options = ProfilerOptions()
        options.repeatsIdempotentInputs = false
        let runner = CallRunner<Churn>(sample: Array(0..<8), options: options)
        let probe = ScalingProbe(runner: runner, threads: 2, options: options, sampler: nil)
        let single = try probe.run(copies: 1, calls: 1)
        let profile = try probe.measureOneRound(single: single, deadline: .max)
        #expect(profile.rounds.count == 1)
        #expect(profile.rounds[0].singleCalls == 1 && profile.rounds[0].concurrentCalls == 2)
        #expect(profile.speedup == nil)
        #expect(profile.cpuEfficiency.value > 0 && profile.cpuEfficiency.value.isFinite)
        // Each input once: one for the single run, two for the copies.
        #expect(runner.calls == 3)
    }
}
