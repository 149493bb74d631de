import Foundation
import Testing

@testable import PoolExecutors

@Suite struct ThreadPoolLifecycleTests {
    @Test func shutdownWaitsForQueuedWork() throws {
        let pool = ThreadPool(workers: 2)
        let counter = Counter()
        for _ in 0..<500 { try pool.submit { counter.increment() } }
        pool.shutdown()
        #expect(counter.count == 500)
        #expect(pool.state.description == "terminated")
    }

    @Test func shutdownWithoutWaitingReturnsWhileWorkRuns() throws {
        let pool = ThreadPool(workers: 1)
        let gate = Gate()
        let future = try pool.submit { () -> Int in
            gate.wait()
            return 3
        }
        pool.shutdown(wait: false)
        #expect(pool.state.description == "shutting down")
        #expect(!future.isDone)
        gate.open()
        #expect(try future.result() == 3)
        pool.shutdown()
        #expect(pool.state.description == "terminated")
    }

    @Test func cancelPendingCancelsQueuedWorkAndFinishesRunningWork() throws {
        let pool = ThreadPool(workers: 1)
        let gate = Gate()
        let started = Gate()
        let ran = Counter()
        let running = try pool.submit { () -> Int in
            started.open()
            gate.wait()
            return 1
        }
        #expect(started.wait())
        let queued = try (0..<10).map { _ in try pool.submit { ran.increment() } }
        pool.shutdown(wait: false, cancelPending: true)
        #expect(queued.allSatisfy { $0.isCancelled })
        gate.open()
        pool.shutdown()
        #expect(try running.result() == 1)
        #expect(ran.count == 0)
        for future in queued { #expect(throws: CancellationError.self) { try future.result() } }
    }

    @Test func submitAfterShutdownThrowsAClearError() throws {
        let pool = ThreadPool(workers: 1, name: "closed")
        pool.shutdown()
        do {
            try pool.submit { 1 }
            Issue.record("submit after shutdown did not throw")
        } catch let error as PoolError {
            #expect(error.code == .shutDown)
            #expect(error.description.contains("'closed'"))
        }
        #expect(throws: PoolError.self) { try pool.map([1, 2]) { $0 } }
        pool.shutdown()  // a second shutdown is harmless
    }

    @Test func initializerRunsOncePerWorkerBeforeAnyTask() throws {
        let initialized = Locked<[Int]>([])
        let pool = ThreadPool(workers: 4) { index in initialized.withLock { $0.append(index) } }
        let results = try pool.map(0..<200, chunkSize: 1) { _ in initialized.withLock { $0.count } }
        pool.shutdown()
        #expect(initialized.withLock { $0.sorted() } == [0, 1, 2, 3])
        #expect(results.allSatisfy { $0 >= 1 })
    }

    @Test func failingInitializerBreaksThePoolWithItsError() throws {
        let pool = ThreadPool(workers: 1, name: "initfail") { _ in throw TestFailure(code: 13) }
        defer { pool.shutdown() }
        do {
            let future = try pool.submit { 1 }
            _ = try future.result()
            Issue.record("work ran on a pool whose initializer failed")
        } catch let error as PoolError {
            #expect(error.code == .broken)
            #expect(error.underlying as? TestFailure == TestFailure(code: 13))
            #expect(error.workerIndex == 0)
            #expect(error.description.contains("initializer failed on worker 0"))
        }
        #expect(eventually { if case .broken = pool.state { return true } else { return false } })
        #expect(throws: PoolError.self) { try pool.submit { 2 } }
    }

    @Test func workerThreadsCarryThePoolName() throws {
        let pool = ThreadPool(workers: 2, name: "named")
        defer { pool.shutdown() }
        let name = try pool.submit { () -> String in
            let tid = PlatformThread.currentThreadID
            return (try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)) ?? ""
        }.result()
        #expect(name.hasPrefix("named-"))
    }

    @Test func noThreadLeakAfter200CreateShutdownCycles() throws {
        for cycle in 0..<200 {
            let pool = ThreadPool(workers: 2, name: "cyc")
            _ = try pool.submit { cycle }.result()
            pool.shutdown()
        }
        // A joined thread's /proc entry can outlive pthread_join by a moment under load.
        #expect(eventually(seconds: 10) { liveThreads(named: "cyc-") == 0 })
    }

    @Test func droppingAPoolWithoutShutdownLetsItsThreadsExit() throws {
        let counter = Counter()
        let started = Counter()
        do {
            // Workers are named before their initializer runs: once all three have run it,
            // all three are visible in /proc, so "none left" cannot pass vacuously.
            let pool = ThreadPool(workers: 3, name: "dropped") { _ in started.increment() }
            for _ in 0..<100 { try pool.submit { counter.increment() } }
        }
        #expect(eventually { started.count == 3 && counter.count == 100 })
        #expect(eventually { liveThreads(named: "dropped-") == 0 })
    }

    @Test func shutdownFromInsideATaskDoesNotDeadlock() throws {
        let pool = ThreadPool(workers: 1)
        let future = try pool.submit { [pool] in pool.shutdown() }
        try future.result()
        pool.shutdown()
        #expect(pool.state.description == "terminated")
    }
}
