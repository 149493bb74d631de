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
    func priorCallsAreRecords() throws {
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
        // The timing's CPU includes reaped children's, which another suite's process pool may
        // add during these calls: it has no bound against wall time here. The thread's own CPU
        // has one under any load: it ran, and no longer than the wall clock (a tick of slack).
        #expect(timing.cpuSeconds > 0 && timing.wallSeconds > 0, "\(timing)")
        let record = try #require(grouped.records.last)
        #expect(record.calls == 4)
        #expect(record.threadCPU > 0 && record.threadCPU <= record.wall + 10_000_000, "\(record.change)")
        #expect(abs(Double(record.wall) / 1e9 - timing.wallSeconds) < 1e-6)
    }

    @Test("a budget the prior calls used up: the profile makes no call of its own and rests on theirs")
    func noBudgetNoCalls() throws {
        var options = ProfilerOptions()
        options.maximumSeconds = 0
        options.minimumSeconds = 0
        options.repeatsIdempotentInputs = false
        options.stopsAtFirstFailure = true
        let run = try Profiler(options: options).measure(Churn.self, sample: Array(1...20), after: twoPriorCalls())
        // Not one sample input was called: every output is missing, none computed or failed.
        #expect(run.outputs.allSatisfy { $0 == nil }, "\(run.outputs)")
        #expect(run.profile.calls.calls == 1)
        #expect(run.profile.calls.cpuRatio.value > 0)
        // No scaling round fitted a budget of nothing, and the profile says why.
        #expect(run.profile.scaling == nil)
        let reason = try #require(run.profile.scalingSkippedReason)
        #expect(Machine.usableCores < 2 || reason.contains("the budget left"), "\(reason)")
    }

    @Test(
        "the scaling test's runs shrink to fit its rounds in the budget; then one run of copies; then nothing, and why")
    func scalingFit() {
        var options = ProfilerOptions()
        options.scalingRunSeconds = 0.02
        options.minimumScalingRounds = 3
        // Calls of 1 ms on 2 cores: a round of k calls takes 2k ms at least, three rounds 6k.
        func fit(left: Double, lastCalls: Int? = 1, inputsLeft: Int? = nil, threads: Int = 2) -> ScalingFit {
            ScalingFit(
                threads: threads, cores: 2, callSeconds: 0.001, lastCalls: lastCalls, left: left,
                inputsLeft: inputsLeft,
                options: options)
        }
        #expect(fit(left: 1) == .rounds(callsPerRun: 20))
        #expect(fit(left: 0.06) == .rounds(callsPerRun: 10))
        #expect(fit(left: 0.012) == .rounds(callsPerRun: 2))
        // Runs no shorter than 2 ms: where those do not fit, one run of copies of 2 ms against
        // the last serial measurement.
        #expect(fit(left: 0.006) == .oneRound(callsPerCopy: 2))
        // Four copies on two cores run in two waves: a round of k calls takes 3k ms.
        #expect(fit(left: 0.012, threads: 4) == .oneRound(callsPerCopy: 2))
        // Calls of 0.2 ms: runs of ten calls, in the rounds and the one run.
        let short = { (left: Double) in
            ScalingFit(
                threads: 2, cores: 2, callSeconds: 0.0002, lastCalls: 1, left: left, inputsLeft: nil, options: options)
        }
        #expect(short(0.012) == .rounds(callsPerRun: 10))
        #expect(short(0.006) == .oneRound(callsPerCopy: 10))
        // Not even that, or no measurement to time it against: nothing, with the budget quoted.
        guard case .none(let budget) = fit(left: 0.0005) else { Issue.record("a run of copies fitted 0.5 ms"); return }
        #expect(budget.contains("the budget left 0.5 ms"), "\(budget)")
        // Calls of 5 ms: one call is a run long enough.
        let long = ScalingFit(
            threads: 2, cores: 2, callSeconds: 0.005, lastCalls: 1, left: 0.03, inputsLeft: nil, options: options)
        #expect(long == .rounds(callsPerRun: 1))
        guard case .none = fit(left: 0.004, lastCalls: nil) else {
            Issue.record("one round with no single run"); return
        }
        // Each input called once: the minimum rounds need (1 + copies) × 3 inputs; one run of
        // copies needs as many inputs as they make calls.
        #expect(fit(left: 1, inputsLeft: 18) == .rounds(callsPerRun: 2))
        #expect(fit(left: 1, inputsLeft: 9) == .oneRound(callsPerCopy: 2))
        #expect(fit(left: 1, inputsLeft: 4) == .oneRound(callsPerCopy: 2))
        guard case .none(let tooFew) = fit(left: 1, lastCalls: 5, inputsLeft: 8) else {
            Issue.record("two copies of 5 calls fitted 8 inputs")
            return
        }
        #expect(tooFew.contains("the sample ran out"), "\(tooFew)")
        guard case .none(let ranOut) = fit(left: 1, inputsLeft: 1) else {
            Issue.record("copies fitted 1 input"); return
        }
        #expect(ranOut.contains("the sample ran out"), "\(ranOut)")
        // A run shorter than 2 ms asked for is raised to it.
        var brief = options
        brief.scalingRunSeconds = 0.0005
        #expect(
            ScalingFit(threads: 2, cores: 2, callSeconds: 0.001, lastCalls: 1, left: 1, inputsLeft: nil, options: brief)
                == .rounds(callsPerRun: 2))
        // Hostile figures: no room where the room is nonsense, runs within bounds where the call
        // time is, never a trap.
        for odd in [Double.nan, .infinity, -.infinity, -1, 0] {
            let noRoom = ScalingFit(
                threads: 2, cores: 2, callSeconds: 0.001, lastCalls: 1, left: odd, inputsLeft: nil, options: options)
            if case .rounds = noRoom { Issue.record("rounds fitted a budget of \(odd)") }
            let oddCall = ScalingFit(
                threads: 2, cores: 2, callSeconds: odd, lastCalls: 1, left: 1, inputsLeft: nil, options: options)
            if case .rounds(let calls) = oddCall { #expect((1...1_000_000).contains(calls), "\(odd): \(calls)") }
            if case .oneRound(let calls) = oddCall { #expect((1...1_000_000).contains(calls), "\(odd): \(calls)") }
        }
    }

    @Test("one round whose single run was made already: the copies run alone, giving a CPU efficiency and no speed-up")
    func oneRoundAfterTheSerialPhase() throws {
        var options = ProfilerOptions()
        options.repeatsIdempotentInputs = false
        let runner = CallRunner<Churn>(sample: Array(0..<8), options: options)
        let probe = ScalingProbe(runner: runner, threads: 2, options: options, sampler: nil)
        let single = try probe.run(copies: 1, calls: 1)
        let profile = try probe.measureOneRound(single: single, callsPerCopy: 2, deadline: .max)
        #expect(profile.rounds.count == 1)
        // Each copy makes its first call at least; a loaded host may stop it at three times
        // the single run's time before its second.
        let concurrent = profile.rounds[0].concurrentCalls
        #expect(profile.rounds[0].singleCalls == 1 && (2...4).contains(concurrent), "\(concurrent)")
        #expect(profile.speedup == nil)
        #expect(profile.cpuEfficiency.value > 0 && profile.cpuEfficiency.value.isFinite)
        // Each input once: one for the single run, one for each call of the copies, none twice.
        #expect(runner.calls == 1 + concurrent)
        #expect(runner.remaining == 8 - 1 - 4)
    }
}
