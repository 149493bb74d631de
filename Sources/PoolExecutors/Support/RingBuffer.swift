/// A growable FIFO queue with O(1) append and removal at the front.
///
/// The pools keep their pending work here: `Array.removeFirst` would be O(n) and a
/// head-index array never gives its memory back.
struct RingBuffer<Element> {
    private var storage: [Element?]
    private var head = 0
    private(set) var count = 0

    /// Capacity is kept a power of two so wrapping is a mask, not a division.
    init(capacity: Int = 16) {
        var size = 1
        while size < capacity { size <<= 1 }
        storage = Array(repeating: nil, count: size)
    }

    @inline(__always)
    private func slot(_ offset: Int) -> Int { (head &+ offset) & (storage.count &- 1) }

    var isEmpty: Bool { count == 0 }

    mutating func append(_ element: Element) {
        if count == storage.count { grow() }
        storage[slot(count)] = element
        count += 1
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head].take()
        head = slot(1)
        count -= 1
        return element
    }

    /// Removes and returns every element, oldest first.
    mutating func removeAll() -> [Element] {
        var elements: [Element] = []
        elements.reserveCapacity(count)
        while let element = popFirst() { elements.append(element) }
        return elements
    }

    /// Removes the first element that matches, keeping the order of the others.
    mutating func removeFirst(where predicate: (Element) -> Bool) -> Element? {
        var kept = RingBuffer(capacity: storage.count)
        var found: Element?
        while let element = popFirst() {
            if found == nil && predicate(element) { found = element } else { kept.append(element) }
        }
        self = kept
        return found
    }

    private mutating func grow() {
        var larger = [Element?](repeating: nil, count: storage.count * 2)
        for offset in 0..<count {
            larger[offset] = storage[slot(offset)].take()
        }
        storage = larger
        head = 0
    }
}
