import CPoolPlatform
import PoolWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
/// ```
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
    /// Worker side: bytes and items of the log in use (the worker is the log's only writer).
    private var logUsed = 0
    private var logCount: UInt64 = 0

    /// Creates a new page (parent side); nil where shared memory files are unavailable.
    init?() {
        let fd = poolsys_shared_memory("pool-advisor-progress", Self.size)
        guard fd >= 0, let mapped = Self.map(fd) else {
            if fd >= 0 { Descriptor.close(fd) }
            return nil
        }
        descriptor = fd
        base = mapped
    }

    /// Maps an inherited page (worker side); nil if it is not a page of this size.
    init?(inherited fd: Int32) {
        var status = stat()
        guard fstat(fd, &status) == 0, Int(status.st_size) == Self.size, let mapped = Self.map(fd) else { return nil }
        descriptor = fd
        base = mapped
    }

    private static func map(_ fd: Int32) -> UnsafeMutableRawPointer? {
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let address, address != MAP_FAILED else { return nil }
        return address
    }

    deinit {
        munmap(base, Self.size)
        Descriptor.close(descriptor)
    }

    // MARK: Worker side

    /// Item `index` of batch `batch` starts now.
    func markStarted(batch: UInt64, index: Int) {
        // The index first: a death between the two stores leaves the new index with the old
        // batch (fully replied, so harmless), never the new batch with the old batch's index.
        poolsys_store_release(words + 2, UInt64(index))
        poolsys_store_release(words + 1, batch)
        poolsys_store_release(words, max(MonotonicClock.nanoseconds(), 1))
    }

    /// The current item finished (batch and index stay as the last finished one).
    func markFinished() {
        poolsys_store_release(words, 0)
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

    // MARK: Parent side

    /// What the worker is doing, read consistently while it runs.
    func read() -> (startedAt: UInt64, batch: UInt64, index: Int) {
        while true {
            let started = poolsys_load_acquire(words)
            let batch = poolsys_load_acquire(words + 1)
            let index = poolsys_load_acquire(words + 2)
            if poolsys_load_acquire(words) == started { return (started, batch, Int(index)) }
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
