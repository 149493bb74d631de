import Foundation
import Testing

@testable import PoolExecutors

@Suite struct ThreadPoolMapTests {
    @Test(arguments: [nil, 1, 3, 64, 10_000] as [Int?])
    func mapKeepsInputOrder(chunkSize: Int?) throws {
        let pool = ThreadPool(workers: 3)
        defer { pool.shutdown() }
        let inputs = Array(0..<2_000)
        let outputs = try pool.map(inputs, chunkSize: chunkSize) { value -> String in
            if value % 97 == 0 { usleep(100) }  // uneven items shuffle completion order
            return "item-\(value)"
        }
        #expect(outputs == inputs.map { "item-\($0)" })
    }

    @Test func mapOfNothingIsEmpty() throws {
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        #expect(try pool.map([Int]()) { $0 }.isEmpty)
    }

    @Test func firstErrorReportsItsIndexAndStopsWorkNotStarted() throws {
        let pool = ThreadPool(workers: 1)
        defer { pool.shutdown() }
        let ran = Counter()
        do {
            _ = try pool.map(0..<1_000, chunkSize: 1) { value -> Int in
                ran.increment()
                if value == 10 { throw TestFailure(code: value) }
                return value
            }
            Issue.record("map did not throw")
        } catch let error as MapError {
            #expect(error.index == 10)
            #expect(error.error as? TestFailure == TestFailure(code: 10))
        }
        #expect(ran.count == 11, "items after the failure must not start")
    }

    @Test func concurrentFailuresReportTheLowestIndex() throws {
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        let barrier = Barrier(parties: 2)
        do {
            _ = try pool.map([0, 1], chunkSize: 1) { value -> Int in
                _ = barrier.arriveAndWait()
                throw TestFailure(code: value)
            }
            Issue.record("map did not throw")
        } catch let error as MapError {
            #expect(error.index == 0)
        }
    }

    @Test func mapFromInsideATaskOfTheSamePoolCompletes() throws {
        let pool = ThreadPool(workers: 1)
        defer { pool.shutdown() }
        let nested = try pool.submit { try pool.map(0..<100) { $0 + 1 } }
        #expect(try nested.result() == Array(1...100))
    }

    @Test func asyncMapKeepsOrder() async throws {
        let pool = ThreadPool(workers: 2)
        let outputs = try await pool.map(0..<5_000) { $0 * 3 }
        #expect(outputs == (0..<5_000).map { $0 * 3 })
        await pool.shutdown()
    }

    @Test func cancelPendingDuringAMapFailsItWithCancellation() throws {
        let pool = ThreadPool(workers: 1)
        let gate = try occupyWorker(of: pool)
        let mapper = try pool.submit { () -> Int in 0 }
        let outcome = Locked<(any Error)?>(nil)
        let finished = Gate()
        Thread.detachNewThread {
            do { _ = try pool.map(0..<10) { $0 } } catch { outcome.withLock { $0 = error } }
            finished.open()
        }
        #expect(eventually { pool.pendingCount >= 2 })
        pool.shutdown(wait: false, cancelPending: true)
        gate.open()
        #expect(finished.wait())
        #expect(outcome.withLock { $0 } is CancellationError)
        #expect(mapper.isCancelled)
        pool.shutdown()
    }

    @Test func unorderedResultsArriveOnceEachWithTheirIndex() async throws {
        let pool = ThreadPool(workers: 2)
        var seen = [Int: Int]()
        var failures = 0
        let stream = try await pool.mapUnordered(0..<300) { value -> Int in
            if value % 50 == 7 { throw TestFailure(code: value) }
            return value * 2
        }
        for await item in stream {
            switch item.result {
            case .success(let doubled): seen[item.index] = doubled
            case .failure(let error):
                #expect(error as? TestFailure == TestFailure(code: item.index))
                failures += 1
            }
        }
        #expect(failures == 6)
        #expect(seen.count == 294)
        #expect(seen.allSatisfy { $0.value == $0.key * 2 })
        await pool.shutdown()
    }

    @Test func unorderedResultsCanBeReadByBlocking() throws {
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        let indexes = try pool.mapUnordered(Array(repeating: 1, count: 1_000)) { $0 }.blocking.map(\.index)
        #expect(indexes.sorted() == Array(0..<1_000))
    }

    @Test func droppingAnUnorderedStreamStopsWorkNotStarted() throws {
        let pool = ThreadPool(workers: 1)
        defer { pool.shutdown() }
        let ran = Counter()
        do {
            let stream = try pool.mapUnordered(0..<10_000, chunkSize: 1) { value -> Int in
                ran.increment()
                usleep(100)
                return value
            }
            _ = stream.next(timeout: .seconds(30))
        }
        pool.shutdown()
        #expect(ran.count < 10_000)
    }
}

@Suite struct ThreadPoolMapFailureOrderTests {
    struct Failed: Error, Equatable { let index: Int }

    /// A late input fails at once while an earlier one fails only after slow items: the map
    /// still reports the earlier one, as a serial loop would.
    @Test func mapReportsTheLowestFailingInput() throws {
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        let error = #expect(throws: MapError.self) {
            try pool.map(Array(0..<200), chunkSize: 100) { index -> Int in
                if index < 99 { usleep(1_000) }
                if index == 99 || index == 150 { throw Failed(index: index) }
                return index
            }
        }
        #expect(error?.index == 99)
        #expect(error?.error as? Failed == Failed(index: 99))
    }
}
