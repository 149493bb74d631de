import Foundation
import PoolSystem
import PoolTestFixtures
import PoolWire
import Testing

@testable import PoolExecutors

/// ``ZeroCopyBytes`` through a process pool: a large one is read in place in the arguments
/// arena, a span a task kept is never reused while it is kept, and it is given back once let go.
@Suite(.timeLimit(.minutes(5)))
struct ZeroCopyPoolTests {
    private func pool(arenaBytes: Int = 256 << 10) throws -> ProcessPool {
        try fixturePool(workers: 1) {
            $0.sharedMemoryThreshold = 4 << 10
            $0.sharedMemoryBytesPerWorker = arenaBytes
            $0.maximumFrameBytes = 1 << 20
        }
    }

    /// Waits (bounded) until `condition` holds; false if it never did.
    private func eventually(seconds: Double = 30, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return true
    }

    @Test func largeInputsAreBorrowedAndSmallOnesCopied() throws {
        let pool = try pool()
        defer { pool.shutdown() }
        let inputs = [100, 40_000, 10, 90_000].enumerated().map {
            BorrowInput(seed: $0.offset, count: $0.element, action: .read)
        }
        let reports = try pool.map(ReadsBorrowed.self, inputs).map { $0[0] }
        #expect(reports.map(\.intact) == [true, true, true, true])
        #expect(reports.map(\.borrowed) == [false, true, false, true])
        #expect(pool.core.pinnedArgumentSpans == 0, "values that died with their calls pin nothing")
    }

    @Test func aKeptValueIsNeverOverwrittenAndIsGivenBackOnceDropped() throws {
        // The arena holds six 40,000-byte values: twenty reads after three kept ones would reuse
        // the kept spans many times over if they were released with their replies.
        let pool = try pool()
        defer { pool.shutdown() }
        let kept = try pool.map(ReadsBorrowed.self, (0..<3).map { BorrowInput(seed: $0, count: 40_000, action: .keep) })
        #expect(kept.map { $0[0].borrowed } == [true, true, true])
        #expect(eventually { pool.core.pinnedArgumentSpans == 3 }, "three kept spans: \(pool.core.pinnedArgumentSpans)")
        let reads = try pool.map(
            ReadsBorrowed.self, (10..<30).map { BorrowInput(seed: $0, count: 40_000, action: .read) }, chunkSize: 2)
        #expect(reads.allSatisfy { $0[0].intact })
        let check = try pool.map(
            ReadsBorrowed.self, [BorrowInput(seed: 99, count: 40_000, action: .checkKept(drop: true))])
        #expect(check[0].count == 4, "the check saw \(check[0].count - 1) kept values")
        #expect(check[0].dropFirst().allSatisfy { $0.borrowed && $0.intact }, "kept values: \(check[0])")
        #expect(eventually { pool.core.pinnedArgumentSpans == 0 }, "still pinned: \(pool.core.pinnedArgumentSpans)")
        // The given-back spans are used again: a full arena's worth of new values still borrows.
        let after = try pool.map(
            ReadsBorrowed.self, (40..<46).map { BorrowInput(seed: $0, count: 40_000, action: .read) })
        #expect(after.allSatisfy { $0[0].borrowed && $0[0].intact })
    }

    @Test func keptValuesThatFillTheArenaSendTheRestThroughThePipe() throws {
        let pool = try pool(arenaBytes: 128 << 10)
        defer { pool.shutdown() }
        // Three fill the arena; the rest find no room and travel through the pipe, copied.
        let kept = try pool.map(ReadsBorrowed.self, (0..<5).map { BorrowInput(seed: $0, count: 40_000, action: .keep) })
        #expect(kept.allSatisfy { $0[0].intact })
        #expect(kept.map { $0[0].borrowed } == [true, true, true, false, false])
        let check = try pool.map(ReadsBorrowed.self, [BorrowInput(seed: 7, count: 100, action: .checkKept(drop: true))])
        #expect(check[0].count == 6 && check[0].allSatisfy(\.intact), "\(check[0])")
        #expect(eventually { pool.core.pinnedArgumentSpans == 0 })
    }

    @Test func aSpanKeptPastItsReplyHoldsOnlyItsOwnPagesAfterTheGrace() throws {
        let arena = try SharedArena(capacity: 256 << 20, name: "pool-advisor-test-pinned", writable: true)
        let large = 64 << 20
        // A small value at the front that a worker keeps, a large one behind it that it does not.
        let kept = try #require(try arena.claim(1 << 20, key: 1))
        _ = try #require(try arena.claim(large, key: 2))
        #expect(arena.allocatedBytes >= large)
        arena.pinAll(keys: [1])
        arena.releaseAll(keys: [2])
        #expect(arena.pinnedCount == 1 && arena.awaitsTrim, "only a kept span left: the extra pages are due back")
        arena.trimIfIdle(now: MonotonicClock.nanoseconds() + SharedArena.idleGraceNanoseconds)
        #expect(arena.allocatedBytes <= SharedArena.warmBytes, "\(arena.allocatedBytes) bytes still held")
        // The kept span's own bytes are still there, and its release is remembered until due.
        arena.releasePinned([kept.sequence + 100])
        #expect(arena.pinnedCount == 1, "an unknown sequence releases nothing")
        arena.releasePinned([kept.sequence])
        #expect(arena.pinnedCount == 0 && !arena.hasLiveSpans)
    }

    @Test func aWorkerThatDiesHoldingKeptValuesLeavesNothingPinned() throws {
        let pool = try pool()
        defer { pool.shutdown() }
        _ = try pool.map(ReadsBorrowed.self, (0..<2).map { BorrowInput(seed: $0, count: 40_000, action: .keep) })
        #expect(eventually { pool.core.pinnedArgumentSpans == 2 })
        let pid = try #require(pool.workerProcessIDs.first)
        kill(pid, SIGKILL)
        // Its replacement starts with fresh arenas; the old ones went with the dead worker.
        let reads = try pool.map(
            ReadsBorrowed.self, (0..<4).map { BorrowInput(seed: $0, count: 40_000, action: .read) })
        #expect(reads.allSatisfy { $0[0].borrowed && $0[0].intact })
        #expect(pool.workerProcessIDs.first != pid)
        #expect(pool.core.pinnedArgumentSpans == 0)
    }
}
