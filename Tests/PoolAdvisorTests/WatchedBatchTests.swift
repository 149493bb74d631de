import Foundation
import PoolProfiler
import Synchronization
import Testing

@testable import PoolAdvisor
@testable import PoolExecutors

/// Logs its calls in this process; from index 200 on, a call waits until the test opens the gate.
struct HeldFromTwoHundred: PoolTask {
    static let name = "tests.held-from-two-hundred"
    static let calls = Mutex<[Int]>([])
    static let gate = Mutex<Bool>(false)

    static func run(_ input: Int) -> Int {
        calls.withLock { $0.append(input) }
        if input >= 200 {
            // Bounded: a bug fails the test instead of hanging the suite.
            for _ in 0..<30_000 where !gate.withLock({ $0 }) { usleep(1000) }
        }
        return input
    }
}

/// The watched loop of the auto executor, driven directly with a fixed plan and batch sizes.
@Suite("Watched batches", .serialized, .timeLimit(.minutes(2)))
struct WatchedBatchTests {
    @Test("a deliver that throws stops the batch queued behind: its unstarted inputs never run")
    func throwingDeliverCancelsTheQueuedBatch() throws {
        var options = AutoExecutor.Options()
        // Batches of half of what is left, whatever the time per item: 0..<200, then 200..<300.
        options.watchSeconds = 1e9
        options.minimumBatchSeconds = 0
        options.batchRiskShare = 0.5
        options.driftMinimumSeconds = 1e9  // no window is ever judged
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: options)
        let profile = try quickProfile(PureCPU.self)
        let plan = ExecutionPlan(mode: .threads, workers: 2, chunkSize: 1)
        var state = AutoRunState(
            profile: profile, recommendation: auto.advisor.recommend(profile, items: 400), plan: plan,
            profilingSeconds: 0, profiledItems: 0)
        var watch = DriftWatch(factor: 1.6, minimumWindowSeconds: 1e9)
        let executor = Executor(plan: plan)
        struct Stop: Error {}
        var delivered = 0
        #expect(throws: Stop.self) {
            _ = try auto.runWatched(
                HeldFromTwoHundred.self, Array(0..<400), from: 0, executor, &state, &watch, nil
            ) { outputs in
                delivered += outputs.count
                throw Stop()
            }
        }
        HeldFromTwoHundred.gate.withLock { $0 = true }
        executor.shutdown()  // whatever was started finishes
        let calls = HeldFromTwoHundred.calls.withLock { $0 }
        #expect(delivered >= 199 && delivered <= 200, "\(delivered)")
        #expect(Set(calls).count == calls.count, "an input ran twice")
        // At most the item each of the two threads had started when the job stopped.
        let held = calls.filter { $0 >= 200 }
        #expect(held.count <= 2, "\(held.count) inputs past the stop ran")
    }
}
