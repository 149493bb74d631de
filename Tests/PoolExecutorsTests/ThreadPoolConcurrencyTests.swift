import Foundation
import Testing

@testable import PoolExecutors

@Suite struct ThreadPoolConcurrencyTests {
    @Test func sixtyFourBlockingTasksRunAtOnceOnSixtyFourWorkers() throws {
        let pool = ThreadPool(workers: 64, name: "wide")
        defer { pool.shutdown() }
        let barrier = Barrier(parties: 64)
        let futures = try (0..<64).map { _ in try pool.submit { barrier.arriveAndWait() } }
        let passed = try futures.map { try $0.result() }
        #expect(passed.allSatisfy { $0 }, "not all 64 tasks were in flight together")
    }

    @Test func aMillionTinyMapItemsGiveTheRightSum() throws {
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        let doubled = try pool.map(0..<1_000_000) { $0 &* 2 }
        #expect(doubled.count == 1_000_000)
        #expect(doubled.reduce(0, &+) == 999_999_000_000)
        #expect(doubled[123_456] == 246_912)
    }

    @Test func oneHundredThousandSubmittedTasksAllComplete() throws {
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        let futures = try (0..<100_000).map { i in try pool.submit { i } }
        var sum = 0
        for future in futures { sum += try future.result() }
        #expect(sum == 4_999_950_000)
    }

    @Test func boundedQueueNeverHoldsMoreThanMaxPending() throws {
        let pool = ThreadPool(workers: 1, maxPending: 3)
        defer { pool.shutdown() }
        let seenInsideTasks = Locked<[Int]>([])
        let seenBySubmitter = Locked<[Int]>([])
        for _ in 0..<200 {
            try pool.submit {
                seenInsideTasks.withLock { $0.append(pool.pendingCount) }
                usleep(50)
            }
            seenBySubmitter.withLock { $0.append(pool.pendingCount) }
        }
        pool.shutdown()
        let all = seenInsideTasks.withLock { $0 } + seenBySubmitter.withLock { $0 }
        #expect(all.count == 400)
        #expect(all.max()! <= 3)
        #expect(all.max()! == 3, "the producer never filled the queue, so the bound was not exercised")
    }

    @Test func blockedSubmitterResumesWhenAWorkerTakesWork() throws {
        let pool = ThreadPool(workers: 1, maxPending: 1)
        defer { pool.shutdown() }
        let gate = try occupyWorker(of: pool)
        _ = try pool.submit { 1 }  // fills the queue
        let thirdQueued = Gate()
        let third = Locked<Future<Int>?>(nil)
        Thread.detachNewThread {
            let future = try? pool.submit { 3 }
            third.withLock { $0 = future }
            thirdQueued.open()
        }
        #expect(pool.pendingCount == 1)
        gate.open()
        #expect(thirdQueued.wait())
        #expect(try third.withLock { $0 }?.result() == 3)
    }

    @Test func asyncSubmitSuspendsForRoomAndCompletes() async throws {
        let pool = ThreadPool(workers: 1, maxPending: 2)
        var futures: [Future<Int>] = []
        for i in 0..<50 {
            futures.append(
                try await pool.submit { () -> Int in
                    usleep(20)
                    return i
                })
            #expect(pool.pendingCount <= 2)
        }
        var total = 0
        for future in futures { total += try await future.value }
        #expect(total == 1225)
        await pool.shutdown()
    }

    @Test func shutdownReleasesSuspendedAsyncSubmitters() async throws {
        let pool = ThreadPool(workers: 1, maxPending: 1)
        let gate = Gate()
        let started = Gate()
        _ = try await pool.submit {
            started.open()
            gate.wait()
        }
        #expect(started.wait())
        _ = try await pool.submit { 0 }
        let waiter = Task { try await pool.submit { 1 } }
        pool.shutdown(wait: false)
        await #expect(throws: PoolError.self) { try await waiter.value }
        gate.open()
        await pool.shutdown()
    }
}
