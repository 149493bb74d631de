import CPoolPlatform
internal import PoolSystem

/// Memory shared with one worker that outlives it: what it is running, and the results it
/// finished but has not yet sent.
///
/// A worker batches its replies (one `write(2)` per millisecond or megabyte, since a write per
/// item would cost more than a tiny item), so at any moment it holds finished results the parent
/// has not seen. If those lived only in the worker, its crash would take them along, and with
/// them the items of innocent inputs. Here they are copied into a log the parent can still read
/// after the worker is gone, so a crash costs exactly the item that was running.
///
/// ```
/// header (one page of UInt64 words)            log (logCapacity bytes)
/// 0 started-at ns (0: between items)           [status u8][length u32][bytes] …  the items
/// 1 batch id    2 item position                  logged since the last reply frame, in order
/// 3 log batch   4 log's first position   5 logged count   6 log bytes used
/// 7 sequence of words 0–2 (odd while the worker updates them)
/// 8 results consumed: the sequence number of the last span of the worker's results
///   ``SharedArena`` the parent has decoded (written by the parent, read by the worker)
/// ```
///
/// Words 0–2 are read while the worker runs (for timeouts), so they form a sequence lock: the
/// worker makes word 7 odd, stores, then makes it even; ``read()`` retries until it saw one
/// even value around its loads.
///
/// The worker writes an item's bytes first and publishes it by raising the count with a
/// release store; the parent reads the log only once the worker has exited, so a record is
/// either whole and counted or not counted at all.
// @unchecked: shared words are atomic loads/stores; `logUsed`/`logCount` are the worker's serving thread's alone.
final class ProgressPage: @unchecked Sendable {
    static let headerSize = 4096
    /// Room for a reply's worth of finished items (replies go out at about 1 MiB).
    static let logCapacity = 2 << 20
    static var size: Int { headerSize + logCapacity }

    let descriptor: Int32
    private let base: UnsafeMutableRawPointer
    private var words: UnsafeMutablePointer<UInt64> { base.assumingMemoryBound(to: UInt64.self) }
    private var log: UnsafeMutableRawPointer { base + Self.headerSize }
    /// Word 7: odd while the worker updates words 0–2.
    private var sequence: UnsafeMutablePointer<UInt64> { words + 7 }
    /// How many times ``read()`` finds the sequence odd and unchanged around its loads before
    /// it stops waiting for the writer: about 50–150 µs of polling.
    static let stalledReadLimit = 1_000
    /// Worker side: bytes and items of the log in use (the worker is the log's only writer).
    private var logUsed = 0
    private var logCount: UInt64 = 0

    /// Creates a new page (parent side); nil where shared memory files are unavailable.
    init?() {
        // Sealed at its size: a worker that truncated it would make the pool's reads and its
        // store of the results word fault.
        guard let fd = try? SharedMemory.createSealed(name: "pool-advisor-progress", bytes: Self.size) else {
            return nil
        }
        guard let mapped = try? SharedMemory.map(fd, bytes: Self.size) else {
            Descriptor.close(fd)
            return nil
        }
        descriptor = fd
        base = mapped
    }

    /// Maps an inherited page (worker side); nil if it is not a page of this size.
    init?(inherited fd: Int32) {
        guard let status = try? Files.status(of: fd), status.size == Self.size,
            let mapped = try? SharedMemory.map(fd, bytes: Self.size)
        else { return nil }
        descriptor = fd
        base = mapped
    }

    deinit {
        SharedMemory.unmap(base, bytes: Self.size)
        Descriptor.close(descriptor)
    }

    // MARK: Worker side

    /// Item `index` of batch `batch` starts now.
    func markStarted(batch: UInt64, index: Int) {
        let started = max(MonotonicClock.nanoseconds(), 1)
        let odd = beginUpdate()
        // The index first, the start time last: a death in between leaves a state `read()` then
        // returns as it stands (see there), never the new batch with the old batch's index.
        poolsys_store_release(words + 2, UInt64(index))
        poolsys_store_release(words + 1, batch)
        poolsys_store_release(words, started)
        endUpdate(odd)
    }

    /// The current item finished (batch and index stay as the last finished one).
    func markFinished() {
        let odd = beginUpdate()
        poolsys_store_release(words, 0)
        endUpdate(odd)
    }

    /// Makes the sequence odd (the worker is its only writer) and returns it. Internal, not
    /// private, so that a test can leave an update unfinished as a killed worker does.
    @inline(__always)
    func beginUpdate() -> UInt64 {
        // From an odd value (never left by a live writer) this still moves on to a new odd one.
        let odd = (poolsys_load_acquire(sequence) &+ 1) | 1
        poolsys_store_release(sequence, odd)
        // A release store orders only what came before it: the fence keeps the data stores
        // that follow from becoming visible ahead of the odd value.
        poolsys_fence_release()
        return odd
    }

    /// Makes the sequence even again; the release store publishes the data stores before it.
    @inline(__always)
    private func endUpdate(_ odd: UInt64) {
        poolsys_store_release(sequence, odd &+ 1)
    }

    /// Empties the log: the next logged item is position `first` of batch `batch`.
    func restartLog(batch: UInt64, first: Int) {
        poolsys_store_release(words + 5, 0)
        poolsys_store_release(words + 3, batch)
        poolsys_store_release(words + 4, UInt64(first))
        logUsed = 0
        logCount = 0
    }

    /// Appends one finished item's reply record; `false` when it does not fit (the caller then
    /// sends its reply at once instead).
    func appendToLog(_ record: UnsafeRawBufferPointer) -> Bool {
        guard record.count <= Self.logCapacity - logUsed else { return false }
        if let source = record.baseAddress { (log + logUsed).copyMemory(from: source, byteCount: record.count) }
        logUsed += record.count
        logCount += 1
        poolsys_store_release(words + 6, UInt64(logUsed))
        poolsys_store_release(words + 5, logCount)
        return true
    }

    // MARK: Shared results

    /// The sequence number of the last span of the worker's results arena the parent has
    /// decoded: the worker may reuse that span and every one before it.
    var resultsConsumed: UInt64 {
        get { poolsys_load_acquire(words + 8) }
        set { poolsys_store_release(words + 8, newValue) }
    }

    // MARK: Parent side

    /// What the worker is doing: words 0–2 as one ``markStarted(batch:index:)`` or
    /// ``markFinished()`` left them, read consistently while it runs.
    ///
    /// Bounded even when the writer is dead. A worker killed inside one of those two calls (a
    /// timeout's or the OOM killer's SIGKILL) leaves the sequence odd for good; so may one
    /// descheduled there for long. After ``stalledReadLimit`` polls that find it odd and
    /// unchanged, the words are returned as they stand. They are then a prefix of that one
    /// update, since the writer stores index, batch, start time and this reads them in the
    /// reverse order: exactly what the parent read before the page had a sequence word, so crash
    /// attribution (`ProcessPoolState.classify`) is unchanged. Killed in `markStarted` before the
    /// start time was stored, the worker reads as between items: at the last finished item, or
    /// at the new index (of the old batch, fully replied, so harmless; or of the same batch,
    /// where the new item counts as lost, re-run if idempotent). Killed after that store, it
    /// reads as running the new item; killed in `markFinished`, as running or as just past the
    /// item it finished. A sequence that changes means a live writer a few stores from done, so
    /// that wait is not bounded (nor was the loop before it).
    func read() -> (startedAt: UInt64, batch: UInt64, index: Int) {
        var stalled = 0
        while true {
            let before = poolsys_load_acquire(sequence)
            let started = poolsys_load_acquire(words)
            let batch = poolsys_load_acquire(words + 1)
            let index = poolsys_load_acquire(words + 2)
            // The data loads above complete before the sequence is read again.
            poolsys_fence_acquire()
            let after = poolsys_load_acquire(sequence)
            if before == after {
                if before & 1 == 0 { return (started, batch, Int(index)) }
                stalled += 1
                if stalled >= Self.stalledReadLimit { return (started, batch, Int(index)) }
            }
            poolsys_cpu_relax()
        }
    }

    /// What a dead worker logged but had not sent, copied out of the shared page (so a process
    /// that still maps the page cannot change it while it is read).
    final class LoggedItems {
        let batch: UInt64
        /// Position in the batch of the first logged item.
        let first: Int
        let count: Int
        /// The records: the worker's bytes, so parse them with bounds checks. Valid while this
        /// object lives.
        let records: UnsafeRawBufferPointer

        init(batch: UInt64, first: Int, count: Int, copying source: UnsafeRawBufferPointer) {
            self.batch = batch
            self.first = first
            self.count = count
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, source.count), alignment: 16)
            if let base = source.baseAddress { copy.baseAddress!.copyMemory(from: base, byteCount: source.count) }
            records = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(copy)[0..<source.count])
        }

        deinit { records.deallocate() }
    }

    /// The items the worker logged but had not sent. Read after the worker exited.
    func loggedItems() -> LoggedItems? {
        let count = Int(clamping: poolsys_load_acquire(words + 5))
        guard count > 0 else { return nil }
        let used = min(Int(clamping: poolsys_load_acquire(words + 6)), Self.logCapacity)
        return LoggedItems(
            batch: poolsys_load_acquire(words + 3), first: Int(clamping: poolsys_load_acquire(words + 4)),
            count: count, copying: UnsafeRawBufferPointer(start: log, count: used))
    }
}
