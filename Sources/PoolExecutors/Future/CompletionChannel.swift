internal import PoolSystem

/// One finished item, its value type erased (see ``FutureOutcome``).
@usableFromInline
struct CompletedItem: Sendable {
    @usableFromInline let index: Int
    @usableFromInline let outcome: FutureOutcome
}

/// A multi-producer queue of finished items, read by blocking or by awaiting.
///
/// Producers are pool workers (or future callbacks); it ends when the expected number of
/// items has been pushed, or when closed early. Not generic: workers push into it without
/// generic metadata lookups.
@usableFromInline
// @unchecked: every var is read and written under `lock`.
final class CompletionChannel: @unchecked Sendable {
    private let lock = ConditionLock()
    private let itemAvailable = Condition()
    private var buffer = RingBuffer<CompletedItem>()
    private var remaining: Int
    private var closed = false
    private var blockedReaders = 0
    private var readers = WaiterQueue<CompletedItem?>()
    /// Stops the work that feeds the channel (the consumer went away).
    private let stopWork: @Sendable () -> Void
    /// Starts no more of that work; what started finishes and arrives, and the channel still
    /// ends (``Completions/stopStarting()``).
    private let stopStartingWork: @Sendable () -> Void

    init(
        expecting count: Int, stopWork: @escaping @Sendable () -> Void = {},
        stopStarting: @escaping @Sendable () -> Void = {}
    ) {
        remaining = count
        closed = count == 0
        self.stopWork = stopWork
        self.stopStartingWork = stopStarting
    }

    @usableFromInline
    func stop() { stopWork() }

    func stopStarting() { stopStartingWork() }

    func push(_ item: CompletedItem) {
        lock.lock()
        guard !closed else {
            lock.unlock()
            return
        }
        remaining -= 1
        let ending = remaining == 0
        if ending { closed = true }
        if let reader = readers.takeFirst() {
            let others = ending ? readers.takeAll() : []
            lock.unlock()
            reader.resume(returning: item)
            for other in others { other.resume(returning: nil) }
            if ending { itemAvailable.broadcast() }
            return
        }
        buffer.append(item)
        let wake = blockedReaders > 0
        lock.unlock()
        if wake { ending ? itemAvailable.broadcast() : itemAvailable.signal() }
    }

    /// Ends the stream now; items already buffered are still delivered.
    func close() {
        lock.lock()
        closed = true
        let waiting = readers.takeAll()
        lock.unlock()
        itemAvailable.broadcast()
        for reader in waiting { reader.resume(returning: nil) }
    }

    /// The next item, blocking until one arrives; `nil` once the stream has ended or the
    /// timeout passed.
    @usableFromInline
    func next(timeout: Duration? = nil) -> CompletedItem? {
        let deadline = timeout.map(MonotonicClock.deadline(after:))
        lock.lock()
        defer { lock.unlock() }
        while buffer.isEmpty && !closed {
            blockedReaders += 1
            defer { blockedReaders -= 1 }
            if let deadline {
                if !itemAvailable.wait(releasing: lock, until: deadline) { return buffer.popFirst() }
            } else {
                itemAvailable.wait(releasing: lock)
            }
        }
        return buffer.popFirst()
    }

    /// The next item, suspending until one arrives; `nil` once the stream has ended or the
    /// calling task is cancelled.
    @usableFromInline
    func next() async -> CompletedItem? {
        lock.lock()
        if let item = buffer.popFirst() {
            lock.unlock()
            return item
        }
        if closed {
            lock.unlock()
            return nil
        }
        let ticket = readers.nextTicket()
        lock.unlock()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                lock.lock()
                if let item = buffer.popFirst() {
                    lock.unlock()
                    continuation.resume(returning: item)
                } else if closed || Task.isCancelled {
                    lock.unlock()
                    continuation.resume(returning: nil)
                } else {
                    readers.park(ticket, continuation)
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.withLock { readers.withdraw(ticket) }?.resume(returning: nil)
        }
    }
}
