import Synchronization
import Testing

@testable import PoolExecutors

/// The small structures the pools stand on, tested directly: the pool tests reach them only
/// through whatever layouts a run happens to produce (swift-collections tests `Deque`'s
/// wrapped layouts the same way).
@Suite("Support structures")
struct SupportStructureTests {
    /// A ring whose head has moved `offset` slots, so its live elements wrap around the end.
    static func wrapped(capacity: Int, offset: Int, count: Int) -> RingBuffer<Int> {
        var ring = RingBuffer<Int>(capacity: capacity)
        for value in 0..<offset { ring.append(-1 - value) }
        for _ in 0..<offset { _ = ring.popFirst() }
        for value in 0..<count { ring.append(value) }
        return ring
    }

    @Test(
        "a ring keeps FIFO order across every head position and through growth",
        arguments: [0, 1, 7, 8, 15], [0, 1, 8, 16, 17, 40])
    func ringOrder(offset: Int, count: Int) {
        var ring = Self.wrapped(capacity: 16, offset: offset, count: count)
        #expect(ring.count == count)
        #expect(ring.isEmpty == (count == 0))
        #expect(ring.removeAll() == Array(0..<count))
        #expect(ring.isEmpty && ring.popFirst() == nil)
    }

    @Test("a ring interleaving appends and removals hands out each element once, in order")
    func ringInterleaved() {
        var ring = RingBuffer<Int>(capacity: 2)
        var expected: [Int] = []
        var taken: [Int] = []
        var next = 0
        // Three appends for every two removals, then drain: the head wraps and the ring grows
        // while wrapped, many times over.
        for step in 0..<3000 {
            if step % 5 < 3 {
                ring.append(next)
                expected.append(next)
                next += 1
            } else if let value = ring.popFirst() {
                taken.append(value)
            }
        }
        taken += ring.removeAll()
        #expect(taken == expected)
    }

    @Test(
        "removeFirst(where:) takes the first match only and keeps the others in order, wrapped or not",
        arguments: [0, 5, 13])
    func ringRemoveFirstMatch(offset: Int) {
        var ring = Self.wrapped(capacity: 16, offset: offset, count: 10)
        #expect(ring.removeFirst(where: { $0 % 4 == 3 }) == 3)
        #expect(ring.removeFirst(where: { $0 > 100 }) == nil)
        #expect(ring.count == 9)
        #expect(ring.removeAll() == [0, 1, 2, 4, 5, 6, 7, 8, 9])
    }

    @Test("a ring gives up its elements: a removed class instance is freed, not kept in a slot")
    func ringReleasesElements() {
        final class Token {}
        weak var watched: Token?
        var ring = RingBuffer<Token>(capacity: 4)
        do {
            let token = Token()
            watched = token
            ring.append(token)
            ring.append(Token())
        }
        _ = ring.popFirst()
        #expect(watched == nil, "the popped element is still referenced by the ring")
        #expect(ring.count == 1)
    }

    /// A waiter queue under its owner's lock, and what each parked caller was resumed with.
    // @unchecked: both are touched only under their locks.
    final class Waiters: @unchecked Sendable {
        // Locked, not Synchronization.Mutex: a contended Mutex hands over where ThreadSanitizer
        // cannot see it, and the resumed waiters write `resumed` from two threads at once.
        let queue = Locked(WaiterQueue<Int>())
        let resumed = Locked<[Int: Int]>([:])
    }

    @Test("waiters are resumed first come, first served; a withdrawn ticket is skipped")
    func waiterOrder() async {
        let waiters = Waiters()
        await withTaskGroup(of: Void.self) { group in
            // Park five waiters one after another (each parks before the next starts).
            var tickets: [UInt64] = []
            for index in 0..<5 {
                let ticket = waiters.queue.withLock { $0.nextTicket() }
                tickets.append(ticket)
                let parked = AsyncStream<Void>.makeStream()
                group.addTask {
                    let value = await withCheckedContinuation { continuation in
                        waiters.queue.withLock { $0.park(ticket, continuation) }
                        parked.continuation.finish()
                    }
                    waiters.resumed.withLock { $0[index] = value }
                }
                for await _ in parked.stream {}
            }
            #expect(Set(tickets).count == 5, "tickets repeat")
            // Withdraw the second: the owner resumes what it withdrew itself.
            let withdrawn = waiters.queue.withLock { $0.withdraw(tickets[1]) }
            #expect(withdrawn != nil)
            #expect(waiters.queue.withLock { $0.withdraw(tickets[1]) } == nil, "withdrawn twice")
            withdrawn?.resume(returning: -1)
            waiters.queue.withLock { $0.takeFirst() }?.resume(returning: 0)
            for continuation in waiters.queue.withLock({ $0.takeAll() }) { continuation.resume(returning: 1) }
            #expect(waiters.queue.withLock { $0.takeFirst() } == nil)
            await group.waitForAll()
        }
        // The first parked got the first resumption, the withdrawn one its own, the rest the last.
        #expect(waiters.resumed.withLock { $0 } == [0: 0, 1: -1, 2: 1, 3: 1, 4: 1])
    }

    @Test(
        "a cursor hands out every index exactly once, in rising ranges, whatever the chunking",
        arguments: [nil, 1, 3, 64], [0, 1, 10, 1000])
    func cursorCoversOnce(chunk: Int?, count: Int) {
        let cursor = ChunkCursor(count: count, chunkSize: chunk, runners: 3)
        var claimed: [Int] = []
        var previousEnd = 0
        while let range = cursor.claim() {
            #expect(range.lowerBound == previousEnd && !range.isEmpty)
            if let chunk { #expect(range.count <= chunk) }
            previousEnd = range.upperBound
            claimed += Array(range)
        }
        #expect(claimed == Array(0..<count))
        #expect(cursor.isExhausted)
        #expect(cursor.claimRest().isEmpty)
    }

    @Test("an unchunked cursor starts with large ranges and ends with small ones")
    func cursorGuidedSizes() throws {
        let cursor = ChunkCursor(count: 1000, chunkSize: nil, runners: 2)
        var sizes: [Int] = []
        while let range = cursor.claim() { sizes.append(range.count) }
        // A share of what is left (a quarter per runner): 1000 / 8 first, single items last.
        #expect(sizes.first == 125)
        #expect(sizes.last == 1)
        #expect(zip(sizes, sizes.dropFirst()).allSatisfy { $0 >= $1 })
    }

    @Test("threads racing on one cursor claim disjoint ranges that cover the input")
    func cursorUnderContention() {
        let cursor = ChunkCursor(count: 20_000, chunkSize: 7, runners: 4)
        // A class, not a captured Mutex: a noncopyable local captured by escaping closures is
        // one variable they would all modify (a race the thread sanitizer reports).
        let claimed = Locked<[Range<Int>]>([])
        let threads = (0..<4).map { _ in
            try? PlatformThread.start(name: "cursor-test") {
                var mine: [Range<Int>] = []
                while let range = cursor.claim() { mine.append(range) }
                claimed.withLock { $0 += mine }
            }
        }
        for thread in threads { thread?.join() }
        let ranges = claimed.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
        #expect(threads.allSatisfy { $0 != nil })
        #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == 20_000)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
    }

    @Test("a cursor stopped from an index starts nothing at or above it; a full stop ends every claim")
    func cursorStops() {
        let cursor = ChunkCursor(count: 100, chunkSize: 10, runners: 1)
        #expect(cursor.claim() == 0..<10)
        cursor.stop(from: 25)
        #expect(cursor.skips(25) && cursor.skips(99) && !cursor.skips(24))
        #expect(cursor.claim() == 10..<20)
        #expect(cursor.claim() == 20..<30, "claims below the limit still run; the runner skips item 25 and on")
        #expect(cursor.claim() == nil)
        // A later, higher limit does not raise it again.
        cursor.stop(from: 60)
        #expect(cursor.skips(25))
        cursor.stop()
        #expect(cursor.isStopped && cursor.skips(0) && cursor.claim() == nil)
        #expect(cursor.claimRest() == 30..<100)
        #expect(cursor.claimRest().isEmpty)
    }
}
