/// The bookkeeping of a ``SharedArena``: which bytes of its memory are in use.
///
/// Each value takes one contiguous span, placed at the lowest offset with room (first fit). A
/// steady stream of values therefore cycles through the same few pages at the start of the
/// memory, which stay allocated and mapped on both sides (each new page is a fault and a page
/// of zeros), and spans can be released in any order (two threads may fill the memory for two
/// batches and send them the other way round).
///
/// Every span gets a sequence number, in the order spans are handed out: a reader that
/// consumes values in that order releases them all with one number
/// (``release(through:)``).
struct ArenaSpans {
    /// A span handed out.
    struct Span: Equatable {
        let offset: Int
        let count: Int
        let sequence: UInt64
    }

    let capacity: Int
    /// Live spans by offset.
    private var live: [(span: Span, key: UInt64)] = []
    private var nextSequence: UInt64 = 1
    /// Sequence numbers of spans the reader still holds after their item's reply (a task kept
    /// a borrowed value): released one by one when the reader says so.
    private(set) var pinned: Set<UInt64> = []
    /// Releases the reader announced before the reply that pinned them was handled.
    private var releasedEarly: Set<UInt64> = []
    /// Pins a reader may announce ahead of their replies before the oldest are forgotten.
    static let earlyReleaseLimit = 4096

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Whether no span is live.
    var isEmpty: Bool { live.isEmpty }

    /// Bytes in live spans.
    var used: Int { live.reduce(0) { $0 + $1.span.count } }

    /// Whether every live span (if any) is one a worker keeps past its reply: nothing is in
    /// flight, so the pages past the last of them are as unused as an empty arena's.
    var holdsOnlyPinned: Bool { pinned.count == live.count }

    /// The end of the highest live span (0 when empty).
    var highestEnd: Int { live.last.map { $0.span.offset + $0.span.count } ?? 0 }

    /// A span of `count` bytes (at least one), named `key`, or nil if no gap is large enough
    /// now (the caller then sends the value another way).
    mutating func allocate(_ count: Int, key: UInt64) -> Span? {
        guard count > 0, count <= capacity else { return nil }
        var offset = 0
        var position = live.count
        for (index, entry) in live.enumerated() {
            if entry.span.offset - offset >= count {
                position = index
                break
            }
            offset = entry.span.offset + entry.span.count
        }
        guard capacity - offset >= count else { return nil }
        let span = Span(offset: offset, count: count, sequence: nextSequence)
        nextSequence += 1
        live.insert((span, key), at: position)
        return span
    }

    /// Takes back the newest span named `key`.
    mutating func release(key: UInt64) {
        if let newest = newestIndex(key: key) { live.remove(at: newest) }
    }

    /// Where in `live` the newest span named `key` is.
    private func newestIndex(key: UInt64) -> Int? {
        var newest: Int?
        for (index, entry) in live.enumerated() where entry.key == key {
            if newest == nil || entry.span.sequence > live[newest!].span.sequence { newest = index }
        }
        return newest
    }

    /// Keeps the newest span named `key` past its item's reply, until ``releasePinned(_:)``
    /// names its sequence number (or the reader already did).
    mutating func pin(key: UInt64) {
        guard let newest = newestIndex(key: key) else { return }
        let sequence = live[newest].span.sequence
        if releasedEarly.remove(sequence) != nil {
            live.remove(at: newest)
        } else {
            pinned.insert(sequence)
        }
    }

    /// Takes back the pinned span with sequence number `sequence`, which the reader no longer
    /// holds; a number not pinned yet is remembered for when its pin arrives.
    mutating func releasePinned(_ sequence: UInt64) {
        if pinned.remove(sequence) != nil {
            release(sequence: sequence)
        } else {
            if releasedEarly.count >= Self.earlyReleaseLimit { releasedEarly.removeAll() }
            releasedEarly.insert(sequence)
        }
    }

    /// Takes back every span handed out up to sequence number `sequence`: the reader consumed
    /// them in order.
    mutating func release(through sequence: UInt64) {
        live.removeAll { $0.span.sequence <= sequence }
    }

    /// Takes back the span with sequence number `sequence`; false if it is not live.
    @discardableResult
    mutating func release(sequence: UInt64) -> Bool {
        guard let index = live.firstIndex(where: { $0.span.sequence == sequence }) else { return false }
        live.remove(at: index)
        return true
    }

    /// Cuts a live span down to its first `count` bytes (at least one), giving the rest back.
    mutating func shrink(_ span: Span, to count: Int) -> Span {
        guard count > 0, count <= span.count,
            let index = live.firstIndex(where: { $0.span.sequence == span.sequence })
        else { return span }
        let shrunk = Span(offset: span.offset, count: count, sequence: span.sequence)
        live[index].span = shrunk
        return shrunk
    }
}
