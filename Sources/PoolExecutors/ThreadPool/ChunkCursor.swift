import Synchronization

/// Hands out index ranges of a map's input to its runners, lock-free.
///
/// With a fixed chunk size every claim takes that many items. With the automatic size the
/// claims shrink as the input runs out (guided self-scheduling): each claim takes a quarter
/// of an even share of what remains, so early claims are long enough to make dispatch cost
/// vanish for tiny items and the last ones are single items that keep every core busy to the
/// end. A claim is one compare-and-swap, so even a million one-nanosecond items pay only a
/// few hundred claims.
final class ChunkCursor: Sendable {
    let count: Int
    private let fixedChunk: Int?
    private let divisor: Int
    private let next = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    /// No item at or above this index starts (an ordered map failed there).
    private let limit = Atomic<Int>(.max)
    /// Where ``truncate()`` cut the map (-1: it did not).
    private let cut = Atomic<Int>(-1)

    init(count: Int, chunkSize: Int?, runners: Int) {
        precondition(chunkSize.map { $0 >= 1 } ?? true, "chunkSize must be at least 1")
        self.count = count
        self.fixedChunk = chunkSize
        self.divisor = max(1, 4 * runners)
    }

    /// The next range to process, or `nil` when the input is exhausted or the map stopped.
    func claim() -> Range<Int>? {
        var start = next.load(ordering: .relaxed)
        while start < min(count, limit.load(ordering: .relaxed)), !isStopped {
            let size = min(count - start, fixedChunk ?? max(1, (count - start) / divisor))
            let (exchanged, current) = next.compareExchange(
                expected: start, desired: start + size, ordering: .relaxed)
            if exchanged { return start..<(start + size) }
            start = current
        }
        return nil
    }

    /// Claims everything not yet claimed (to report it as cancelled).
    func claimRest() -> Range<Int> {
        let start = min(count, next.exchange(count, ordering: .relaxed))
        return start..<count
    }

    /// Whether every item was handed out.
    var isExhausted: Bool { next.load(ordering: .relaxed) >= count }

    /// Ends the map at the items already claimed: no claim succeeds after this, and every
    /// claimed item still runs, so the items that run are exactly a prefix. Returns that
    /// prefix's length (`count` when everything was claimed already: nothing was cut).
    ///
    /// One compare-and-swap on the cursor itself, past `count`, so a claim racing with it either
    /// lands before (and runs) or fails; a separate flag could be read stale by a runner.
    @discardableResult
    func truncate() -> Int {
        var start = next.load(ordering: .relaxed)
        while start < count {
            let (exchanged, current) = next.compareExchange(
                expected: start, desired: count + 1, ordering: .relaxed)
            if exchanged {
                cut.store(start, ordering: .relaxed)
                return start
            }
            start = current
        }
        return count
    }

    /// Whether ``truncate()`` cut the map short.
    var isTruncated: Bool { next.load(ordering: .relaxed) > count }

    /// Where ``truncate()`` cut the map, read on the thread that cut it; nil when it did not.
    var cutPoint: Int? {
        let point = cut.load(ordering: .relaxed)
        return point >= 0 ? point : nil
    }

    /// Stops further claims and tells runners to stop between items.
    func stop() { stopped.store(true, ordering: .relaxed) }

    var isStopped: Bool { stopped.load(ordering: .relaxed) }

    /// Starts no item at or above `index`; items below it (all already claimed, since claims
    /// go up) still run, so the lowest failing index is the one reported.
    func stop(from index: Int) { limit.lower(to: index) }

    /// Whether item `index` should not start: the map stopped, or failed below it.
    func skips(_ index: Int) -> Bool { isStopped || index >= limit.load(ordering: .relaxed) }
}
