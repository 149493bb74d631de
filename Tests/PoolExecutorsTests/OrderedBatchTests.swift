import Foundation
import Testing

@testable import PoolExecutors

/// ``OrderedBatch``: a batch that was cancelled while items ran still hands back exactly the
/// outputs below the first item that did not finish, and a failure at that index; never a trap on
/// a slot no item wrote.
@Suite(.timeLimit(.minutes(10)))
struct OrderedBatchTests {
    @Test("A batch in order, with its failure's index and every output below it")
    func outputsBelowTheFailure() throws {
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        let inputs = Array(0..<100)
        let batch = try pool.startBatch(inputs, 10..<60, chunkSize: 3) { value -> Int in
            if value == 40 { throw CancellationError() }
            return value * 2
        }
        let (outputs, failure) = batch.wait()
        #expect(outputs == (10..<40).map { $0 * 2 })
        #expect(failure?.index == 30)
    }

    /// Items 0..<`count` on a pool of one thread, whose one runner claims 0..<4 as one chunk,
    /// then blocks in the first: `act` runs while it is held, then it is released and the batch
    /// waited for.
    private func heldWholeBatch(
        count: Int = 4, _ act: (OrderedBatch<Int>) -> Void
    ) throws -> (outputs: [Int], failure: MapError?) {
        let pool = ThreadPool(workers: 1)
        defer { pool.shutdown() }
        let started = Gate()
        let release = Gate()
        let batch = try pool.startBatch(Array(0..<count), 0..<count, chunkSize: 4) { value -> Int in
            if value == 0 {
                started.open()
                release.wait()
            }
            return value
        }
        #expect(started.wait())
        act(batch)
        release.open()
        return batch.wait()
    }

    @Test("Cancelled while its only runner holds every item: the finished prefix and a cancellation")
    func cancelAfterEveryItemWasClaimed() throws {
        let (outputs, failure) = try heldWholeBatch { $0.cancel() }
        #expect(outputs == [0])
        #expect(failure?.index == 1)
        #expect(failure?.error is CancellationError)
    }

    @Test("Cancelled after an item failed, with an item below it not started: no trap, a cancellation at that item")
    func cancelAfterAFailureWithAnUnstartedItemBelowIt() throws {
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        let first = Gate()
        let failing = Gate()
        let release = Gate()
        struct Failed: Error {}
        // Runner A claims items 0 and 1 and blocks in 0; runner B claims 2 and 3 and fails at 2.
        let batch = try pool.startBatch(Array(0..<4), 0..<4, chunkSize: 2) { value -> Int in
            if value == 0 {
                first.open()
                release.wait()
            }
            if value == 2 {
                failing.open()
                throw Failed()
            }
            return value
        }
        #expect(first.wait() && failing.wait())
        batch.cancel()  // item 1, below the failure, never starts
        release.open()
        let (outputs, failure) = batch.wait()
        #expect(outputs == [0])
        #expect(failure?.index == 1)
        #expect(failure?.error is CancellationError)
    }

    @Test(
        "Truncated while its runners hold items: those finish, nothing else starts, the outputs are that prefix with no failure"
    )
    func truncateKeepsTheClaimedPrefix() throws {
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        let holding = Gate()
        let release = Gate()
        let ran = Locked<[Int]>([])
        // Each runner claims two items; both block in their first until released.
        let batch = try pool.startBatch(Array(0..<40), 0..<40, chunkSize: 2) { value -> Int in
            ran.withLock { $0.append(value) }
            if value == 0 || value == 2 {
                if ran.withLock({ $0.count }) == 2 { holding.open() }
                release.wait()
            }
            return value * 3
        }
        #expect(holding.wait())
        batch.truncate()
        release.open()
        let (outputs, failure) = batch.wait()
        #expect(failure == nil)
        // Items 0...3 were claimed before the cut; nothing from 4 on ran.
        #expect(outputs == (0..<4).map { $0 * 3 })
        #expect(ran.withLock { $0.sorted() } == Array(0..<4))
    }

    @Test("Truncated after every item was claimed: the whole batch, no failure")
    func truncateAfterEverythingWasClaimed() throws {
        let (outputs, failure) = try heldWholeBatch { $0.truncate() }
        #expect(outputs == [0, 1, 2, 3])
        #expect(failure == nil)
    }

    @Test("Truncated with a failure among the claimed items: the failure stands")
    func truncateKeepsAFailureBelowTheCut() throws {
        let pool = ThreadPool(workers: 1)
        defer { pool.shutdown() }
        let started = Gate()
        let release = Gate()
        struct Failed: Error {}
        let batch = try pool.startBatch(Array(0..<8), 0..<8, chunkSize: 3) { value -> Int in
            if value == 0 {
                started.open()
                release.wait()
            }
            if value == 1 { throw Failed() }
            return value
        }
        #expect(started.wait())
        batch.truncate()
        release.open()
        let (outputs, failure) = batch.wait()
        #expect(outputs == [0])
        #expect(failure?.index == 1)
        #expect(failure?.error is Failed)
    }

    @Test("Cancelled and truncated: a cancellation at the first item that did not run, never a clean cut with holes")
    func cancelThenTruncate() throws {
        // 4..<8 are never claimed; 1...3, claimed, are skipped by the cancel, and the cut at 4
        // is one whose claimed items did not all run.
        let (outputs, failure) = try heldWholeBatch(count: 8) {
            $0.cancel()
            $0.truncate()
        }
        #expect(outputs == [0])
        #expect(failure?.index == 1)
        #expect(failure?.error is CancellationError)
    }

    @Test(
        "Truncated while its runners race to claim: every item runs at most once, and the outputs are exactly the items that ran"
    )
    func truncateUnderRacingClaims() throws {
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        for round in 0..<100 {
            let ran = Locked<[Int]>([])
            let batch = try pool.startBatch(Array(0..<64), 0..<64, chunkSize: 1) { value -> Int in
                ran.withLock { $0.append(value) }
                // A few microseconds of work, so the cut mostly lands part-way.
                var spin = UInt64(value)
                for step in 0..<300 { spin = spin &* 6_364_136_223_846_793_005 &+ UInt64(step) }
                return spin == 1 ? -value : value
            }
            // Cut once a varying number of items began (or all were claimed; bounded either way).
            let begun = round % 40
            for _ in 0..<50_000 where ran.withLock({ $0.count }) < begun && batch.hasUnclaimedItems { usleep(20) }
            let begunBeforeTheCut = ran.withLock { $0.count }
            batch.truncate()
            let (outputs, failure) = batch.wait()
            #expect(failure == nil)
            // An item that began had been claimed: it is among the outputs.
            #expect(outputs.count >= begunBeforeTheCut)
            #expect(outputs == Array(0..<outputs.count))
            #expect(ran.withLock { $0.sorted() } == Array(0..<outputs.count))
        }
    }
}
