/// Suspended async callers, resumed first come, first served.
///
/// Each waiter holds a ticket so that a cancelled task can withdraw its own continuation.
/// The owner keeps the queue under its lock and resumes continuations after unlocking.
struct WaiterQueue<Value> {
    typealias Waiter = CheckedContinuation<Value, Never>

    private var waiting = RingBuffer<(ticket: UInt64, continuation: Waiter)>()
    private var lastTicket: UInt64 = 0

    mutating func nextTicket() -> UInt64 {
        lastTicket += 1
        return lastTicket
    }

    /// Parks `continuation`. The caller holds the owner's lock and has checked that its task
    /// is not cancelled: cancellation is flagged before its handler runs, so a later cancel
    /// finds the continuation here.
    mutating func park(_ ticket: UInt64, _ continuation: Waiter) {
        waiting.append((ticket, continuation))
    }

    /// Removes the continuation of `ticket`, if still parked, for the caller to resume.
    mutating func withdraw(_ ticket: UInt64) -> Waiter? {
        waiting.removeFirst(where: { $0.ticket == ticket })?.continuation
    }

    mutating func takeFirst() -> Waiter? {
        waiting.popFirst()?.continuation
    }

    mutating func takeAll() -> [Waiter] {
        waiting.removeAll().map(\.continuation)
    }
}
