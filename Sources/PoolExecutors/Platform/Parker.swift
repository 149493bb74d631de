internal import PoolSystem

/// A one-shot wake-up for one blocked thread: `park` sleeps until `unpark` is called.
// @unchecked: `unparked` is read and written under `lock`.
final class Parker: @unchecked Sendable {
    private let lock = ConditionLock()
    private let condition = Condition()
    private var unparked = false

    /// Sleeps until ``unpark()`` or the deadline. - Returns: `true` if unparked.
    func park(until deadline: UInt64? = nil) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        while !unparked {
            if let deadline {
                if !condition.wait(releasing: lock, until: deadline) { return unparked }
            } else {
                condition.wait(releasing: lock)
            }
        }
        return true
    }

    func unpark() {
        lock.lock()
        unparked = true
        lock.unlock()
        condition.signal()
    }
}
