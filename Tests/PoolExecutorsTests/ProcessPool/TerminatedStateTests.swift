import Foundation
import PoolSystem
import Testing

@testable import PoolExecutors

/// "Terminated" means one thing in both pools: shut down, and every worker has exited (a
/// thread pool's threads returned, a process pool's workers reaped). A ``ThreadPool`` reports it
/// as ``ThreadPool/State/terminated`` (its lifecycle tests check it); a process pool has no public
/// state, so its core's is read here.
@Suite struct TerminatedStateTests {
    static func isTerminated(_ pool: ProcessPool) -> Bool {
        pool.core.lock.withLock { pool.core.state.isTerminated }
    }

    @Test(arguments: ["shutdown", "terminate"])
    func aProcessPoolIsTerminatedOnceStoppedAndEveryWorkerReaped(stop: String) throws {
        let pool = try fixturePool(workers: 2)
        #expect(try pool.submit(Echo.self, 7).result() == 7)
        let pids = pool.workerProcessIDs
        #expect(!Self.isTerminated(pool))
        if stop == "shutdown" { pool.shutdown() } else { pool.terminate() }
        #expect(Self.isTerminated(pool), "after \(stop)")
        // Reaped, not merely dead: no zombie is left under the pid.
        #expect(pids.allSatisfy { kill($0, 0) != 0 }, "after \(stop): \(pids)")
    }

    @Test func aProcessPoolShuttingDownIsNotTerminatedWhileAWorkerRuns() throws {
        let pool = try fixturePool(workers: 1)
        let running = try pool.submit(Nap.self, 1_000)
        #expect(eventually { running.isRunning })
        pool.shutdown(wait: false)
        #expect(!Self.isTerminated(pool))
        _ = try running.result()
        #expect(eventually { Self.isTerminated(pool) })
    }
}
