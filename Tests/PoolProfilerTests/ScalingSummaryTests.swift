import Foundation
import PoolExecutors
import Testing

@testable import PoolProfiler

/// A task the summary tests name; it is never called.
private struct Unused: PoolTask {
    static let name = "tests.scaling-summary-unused"
    static func run(_ input: Int) -> Int { input }
}

/// The scaling test's summary of rounds as a quiet and a loaded host produce them.
@Suite struct ScalingSummaryTests {
    /// A round of 10 calls on one thread in `single` seconds and 40 on four in `concurrent`.
    func round(single: Double, concurrent: Double, runQueue: Double, limit: Double = 0.1) -> ScalingRound {
        ScalingRound(
            singleCalls: 10, singleWallSeconds: single, singleCPUSeconds: single, concurrentCalls: 40,
            concurrentWallSeconds: concurrent, concurrentCPUSeconds: 4 * concurrent * 0.5,
            runQueueRatio: runQueue, isClean: runQueue <= limit)
    }

    func summarize(_ rounds: [ScalingRound]) -> ScalingProfile {
        let options = ProfilerOptions()
        let probe = ScalingProbe<Unused>(
            runner: CallRunner(sample: [1], options: options), threads: 4, options: options, sampler: nil)
        return probe.summarize(rounds, waits: ActivityCounts())
    }

    @Test("on a loaded host the speed-up of every round is kept apart as the speed-up under load")
    func loadedRoundsGiveTheSpeedupUnderLoad() throws {
        // Four copies beside a busy program: 40 calls in 2.5 times the single run's 10 (1.6×).
        let loaded = summarize((0..<8).map { _ in round(single: 0.1, concurrent: 0.25, runQueue: 0.4) })
        #expect(loaded.noisyHost)
        #expect(loaded.speedup == nil && loaded.serialFraction == nil)
        let underLoad = try #require(loaded.speedupUnderLoad)
        #expect(abs(underLoad.value - 1.6) < 1e-9)
        #expect(underLoad.observations == 8)
    }

    @Test("on a quiet host there is no speed-up under load: the speed-up says it")
    func quietRoundsGiveNone() throws {
        let quiet = summarize((0..<4).map { _ in round(single: 0.1, concurrent: 0.2, runQueue: 0.01) })
        #expect(!quiet.noisyHost)
        #expect(quiet.speedupUnderLoad == nil)
        #expect(try abs(#require(quiet.speedup).value - 2) < 1e-9)
        // Enough clean rounds among disturbed ones: the clean ones decide, and the host is not noisy.
        let mixed = summarize(
            (0..<3).map { _ in round(single: 0.1, concurrent: 0.2, runQueue: 0.01) }
                + [round(single: 0.1, concurrent: 0.4, runQueue: 0.5)])
        #expect(!mixed.noisyHost && mixed.speedupUnderLoad == nil)
    }

    @Test("the speed-up under load survives a saved profile, and an older profile without it still reads")
    func speedupUnderLoadRoundTrips() throws {
        let loaded = summarize((0..<3).map { _ in round(single: 0.1, concurrent: 0.25, runQueue: 0.4) })
        let decoded = try JSONDecoder().decode(ScalingProfile.self, from: JSONEncoder().encode(loaded))
        #expect(decoded.speedupUnderLoad?.value == loaded.speedupUnderLoad?.value)
        var older = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(loaded)) as? [String: Any])
        older.removeValue(forKey: "speedupUnderLoad")
        let old = try JSONDecoder().decode(ScalingProfile.self, from: JSONSerialization.data(withJSONObject: older))
        #expect(old.speedupUnderLoad == nil && old.noisyHost)
    }
}
