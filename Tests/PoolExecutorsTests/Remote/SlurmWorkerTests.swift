import Foundation
import PoolTestFixtures
import Testing

@testable import PoolExecutors

/// Workers placed by a real one-node Slurm cluster on 127.0.0.1 (``SlurmCluster``), each an
/// `srun` job step: results, a crash, a killed step.
@Suite(.serialized, .timeLimit(.minutes(10)), .enabled(if: TestEngines.slurmUsable))
struct SlurmWorkerTests {
    private func slurmPool(
        workers: Int = 2, _ adjust: (inout ProcessPool.Configuration) -> Void = { _ in }
    ) throws -> ProcessPool {
        let cluster = try #require(try SlurmCluster.shared(), "Slurm is not installed")
        return try fixturePool { configuration in
            configuration.hosts = [WorkerHost(cluster.launcher(), workers: workers)]
            adjust(&configuration)
        }
    }

    @Test func aMapThroughSrunReturnsEveryResult() throws {
        let pool = try slurmPool(workers: 3)
        defer { pool.shutdown() }
        let inputs = Array(0..<1_000)
        #expect(try pool.map(Square.self, inputs) == inputs.map { $0 * $0 })
        let payload = [UInt8](repeating: 9, count: 2 << 20)
        #expect(try pool.submit(Measure.self, payload).result() == payload.count)
        // Three job steps at once: the partition oversubscribes, none queues. With all three
        // connected, three questions asked at once go one to each idle worker (each holds its
        // worker half a second).
        #expect(eventually(seconds: 60) { pool.workerProcessIDs.count == 3 })
        let futures = try (0..<3).map { _ in try pool.submit(NapThenWhoAmI.self, 500) }
        let pids = Set(try futures.map { try $0.result() })
        #expect(pids.count == 3)
    }

    @Test func aCrashInAStepFailsOnlyItsItem() throws {
        let pool = try slurmPool(workers: 1)
        defer { pool.shutdown() }
        let inputs = [1, 13, 3]
        var outcomes: [Int: Result<Int, any Error>] = [:]
        for item in try pool.mapUnordered(Crashy.self, inputs, chunkSize: 1).blocking {
            outcomes[item.index] = item.result
        }
        #expect((try? outcomes[0]?.get()) == 1 && (try? outcomes[2]?.get()) == 3)
        guard case .failure(let error as PoolError)? = outcomes[1] else {
            Issue.record("input 13 should fail: \(String(describing: outcomes[1]))")
            return
        }
        #expect(error.code == .workerCrashed && error.inputIndexes == [1])
        #expect(error.message.contains("on host slurm") && !error.message.contains("lost its connection"))
        #expect(error.processExit == .signaled(9))
    }

    /// Killing `srun` ends its step: the item it ran fails as a lost connection, the rest run
    /// on a new step, each once.
    @Test func aKilledSrunFailsOnlyItsItem() throws {
        let log = CallLog()
        defer { log.remove() }
        let pool = try slurmPool(workers: 1) { $0.environment["FAULT_LOG"] = log.path }
        defer { pool.shutdown() }
        try expectLostConnectionFailsOnlyItsItems(pool, count: 10, log: log, host: "slurm")
    }
}
