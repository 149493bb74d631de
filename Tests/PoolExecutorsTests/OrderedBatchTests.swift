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

    @Test("Cancelled while its only runner holds every item: the finished prefix and a cancellation")
    func cancelAfterEveryItemWasClaimed() throws {
        let pool = ThreadPool(workers: 1)
        defer { pool.shutdown() }
        let started = Gate()
        let release = Gate()
        // One runner claims the four items as one chunk, then blocks in the first.
        let batch = try pool.startBatch(Array(0..<4), 0..<4, chunkSize: 4) { value -> Int in
            if value == 0 {
                started.open()
                release.wait()
            }
            return value
        }
        #expect(started.wait())
        batch.cancel()
        release.open()
        let (outputs, failure) = batch.wait()
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
}
