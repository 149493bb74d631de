import Glibc
internal import PoolSystem
import PoolWire
import Synchronization

/// Shared memory between a pool and one worker for values too large to copy through a pipe
/// cheaply: one side encodes a value into the arena, the other decodes it in place, and only a
/// reference crosses the pipe. Two copies where a pipe takes four (encode, write, read, decode),
/// and no system call per byte.
///
/// Each worker has two arenas, one per direction (arguments: the pool writes, the worker reads;
/// results: the reverse), made by the pool with the worker's progress page and inherited at
/// spawn (descriptors 6 and 7). An arena is an anonymous memory file, sealed at its size so the
/// other process cannot shrink it under this one's mapping, and sparse: its pages are
/// allocated as values need them (``SharedMemory/reserve(_:offset:bytes:)``, so that running
/// out of memory is an error for that value, not a SIGBUS) and mostly returned when the arena
/// empties. A worker that dies leaves nothing behind: its mappings go with it, and the pool
/// closes its side when it accounts for the death.
///
/// The writer owns the bookkeeping (``ArenaSpans``: first fit, so values cycle through warm pages
/// at the start). The arguments arena's spans are released when their item's reply arrives; the
/// results arena's when the pool has decoded them, which it says through the progress page
/// (``ProgressPage/resultsConsumed``, the sequence number of the last one).
// @unchecked: `space`, `reserved` and `emptiedAt` are used under `lock`; the rest are lets or
// Atomics.
final class SharedArena: @unchecked Sendable {
    /// A span of an arena as it crosses the pipe: `[offset u64][count u64][sequence u64]`.
    static let referenceBytes = 24
    /// Bytes kept allocated when the arena empties, so a steady stream of values reuses warm
    /// pages; above it, pages go back to the system once the arena has stayed empty for
    /// ``idleGraceNanoseconds``.
    static let warmBytes = 32 << 20
    /// How long an emptied arena keeps the pages above ``warmBytes``: one map of large values
    /// after another (or an auto run's batches) finds them warm, where giving them back at
    /// once cost every map a fault and a page of zeros per 4 KiB again (64 MB arguments moved
    /// about a quarter faster kept warm); an idle pool still gives them back within a second.
    static let idleGraceNanoseconds: UInt64 = 1_000_000_000
    /// The grace when the owner looks in between items of other work: giving many pages back
    /// takes a system call long enough to show in a short job's figures (1 MB results ran about
    /// 15 % slower when it fell inside them), so a side kept busy by small items waits ten times
    /// as long, and an idle side gives the pages back after the short grace.
    static let busyGraceNanoseconds: UInt64 = 10 * idleGraceNanoseconds

    /// The grace that applies when the owner looks in: idle or busy with other work.
    static func grace(idle: Bool) -> UInt64 { idle ? idleGraceNanoseconds : busyGraceNanoseconds }

    /// How long an idle owner may wait before looking in again while a give-back is due: just
    /// past the idle grace.
    static let idleWaitMilliseconds = Int32(idleGraceNanoseconds / 1_000_000) + 10

    let descriptor: Int32
    let capacity: Int
    private let base: UnsafeRawPointer
    private let writable: Bool
    private let lock = ConditionLock()
    private var space: ArenaSpans
    /// Bytes from the start of the file whose pages are allocated: stores there cannot fault.
    private var reserved = 0
    /// When the arena last emptied holding more than ``warmBytes`` (monotonic nanoseconds);
    /// nil once those pages are given back or a value is stored again.
    private var emptiedAt: UInt64? {
        didSet { trimPending.store(emptiedAt != nil, ordering: .relaxed) }
    }
    /// Whether `emptiedAt` is set, readable without the lock: the conductor asks on every reply.
    private let trimPending = Atomic<Bool>(false)
    /// Reader side: bytes from the start this side has mapped (read) so far.
    private var readerMapped = 0
    /// For the fault-injection tests: reservations fail as if memory were exhausted.
    private let failsReservations: Bool
    /// Whether reading a span maps its pages in one call first (only where the writer is trusted).
    private let populatesOnRead: Bool

    /// A new arena of `capacity` bytes (pool side), mapped for writing if this side writes.
    convenience init(capacity: Int, name: String, writable: Bool, failsReservations: Bool = false)
        throws(SystemCallError)
    {
        let fd = try SharedMemory.createSealed(name: name, bytes: capacity)
        let mapped: UnsafeRawPointer
        do {
            mapped = try Self.map(fd, bytes: capacity, writable: writable)
        } catch {
            Descriptor.close(fd)
            throw error
        }
        // The pool reads what a worker wrote: a corrupt reference must not make it populate
        // (allocate) pages the worker never reserved.
        self.init(
            descriptor: fd, base: mapped, capacity: capacity, writable: writable, failsReservations: failsReservations,
            populatesOnRead: false)
    }

    /// Maps an arena the pool made (worker side); nil if `fd` is not a usable one: not a
    /// memory file of the pool's named `expectedName` with its size sealed (a program's own
    /// descriptor that happens to have that number must never be written into).
    convenience init?(inherited fd: Int32, writable: Bool, expectedName: String, failsReservations: Bool = false) {
        guard let target = try? Files.linkTarget("/proc/self/fd/\(fd)", capacity: 256),
            target.hasPrefix("/memfd:\(expectedName) "), SharedMemory.seals(of: fd)?.size == true,
            let size = try? Files.status(of: fd).size, size > 0,
            let mapped = try? Self.map(fd, bytes: size, writable: writable)
        else { return nil }
        // The worker reads what its pool wrote: mapping a span's pages in one call is safe.
        self.init(
            descriptor: fd, base: mapped, capacity: size, writable: writable, failsReservations: failsReservations,
            populatesOnRead: !writable)
    }

    private init(
        descriptor: Int32, base: UnsafeRawPointer, capacity: Int, writable: Bool, failsReservations: Bool,
        populatesOnRead: Bool
    ) {
        self.descriptor = descriptor
        self.base = base
        self.capacity = capacity
        self.writable = writable
        self.failsReservations = failsReservations
        self.populatesOnRead = populatesOnRead
        space = ArenaSpans(capacity: capacity)
    }

    /// `bytes` bytes of `fd` mapped shared, for writing or read-only.
    private static func map(_ fd: Int32, bytes: Int, writable: Bool) throws(SystemCallError) -> UnsafeRawPointer {
        writable
            ? UnsafeRawPointer(try SharedMemory.map(fd, bytes: bytes)) : try SharedMemory.mapReadOnly(fd, bytes: bytes)
    }

    deinit {
        SharedMemory.unmap(base, bytes: capacity)
        Descriptor.close(descriptor)
    }

    // MARK: Writer side

    /// Copies `bytes` into a new span of the arena, named `key` for ``releaseAll(keys:)``.
    ///
    /// - Returns: the span, or nil when the arena has no room for it now (the caller sends the
    ///   value through the pipe instead).
    /// - Throws: ``SystemCallError`` when the system has no memory for the span's pages.
    func store(_ bytes: UnsafeRawBufferPointer, key: UInt64) throws(SystemCallError) -> ArenaSpans.Span? {
        guard let span = try claim(bytes.count, key: key) else { return nil }
        // The span is this caller's alone until released: copy without the lock.
        if let source = bytes.baseAddress {
            memory(of: span).baseAddress!.copyMemory(from: source, byteCount: span.count)
        }
        return span
    }

    /// A new span of `count` bytes with its pages allocated, for the caller to fill (through
    /// ``memory(of:)``); nil when the arena has no room for it now.
    ///
    /// - Throws: ``SystemCallError`` when the system has no memory for the span's pages.
    func claim(_ count: Int, key: UInt64) throws(SystemCallError) -> ArenaSpans.Span? {
        precondition(writable, "BUG: writing into a read-only arena")
        lock.lock()
        defer { lock.unlock() }
        guard let span = space.allocate(count, key: key) else { return nil }
        let needed = span.offset + span.count
        if needed > reserved {
            do throws(SystemCallError) {
                if failsReservations { throw SystemCallError(call: "fallocate", errno: ENOSPC) }
                try reserve(from: reserved, to: needed)
            } catch {
                // Empty again, and still holding what it held: its give-back stays due.
                space.release(sequence: span.sequence)
                trimIfEmpty()
                throw error
            }
            reserved = needed
        }
        // In use again: the emptied pages are warm for this value, not due back.
        if emptiedAt != nil { emptiedAt = nil }
        return span
    }

    /// Allocates the pages of bytes `start..<end` and maps them here, in one call where the
    /// kernel can (a fault per page otherwise, on first touch), with `fallocate` as the
    /// fallback that still turns exhaustion into an error.
    private func reserve(from start: Int, to end: Int) throws(SystemCallError) {
        do {
            try SharedMemory.populate(base + start, bytes: end - start, forWriting: true)
        } catch  where error.errno == EINVAL {
            try SharedMemory.reserve(descriptor, offset: start, bytes: end - start)
        }
    }

    /// The writable memory of a span from ``claim(_:key:)``.
    func memory(of span: ArenaSpans.Span) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: base + span.offset), count: span.count)
    }

    /// Cuts a claimed span down to the `count` bytes its owner wrote.
    func shrink(_ span: ArenaSpans.Span, to count: Int) -> ArenaSpans.Span {
        lock.withLock { space.shrink(span, to: count) }
    }

    /// Gives back a span claimed but not used.
    func abandon(_ span: ArenaSpans.Span) {
        lock.withLock {
            space.release(sequence: span.sequence)
            trimIfEmpty()
        }
    }

    /// Takes back the spans stored with `keys`; cheap when the arena is empty.
    func releaseAll<Keys: Sequence>(keys: Keys) where Keys.Element == UInt64 {
        lock.withLock {
            guard !space.isEmpty else { return }
            for key in keys { space.release(key: key) }
            trimIfEmpty()
        }
    }

    /// Keeps the spans stored with `keys` past their items' replies: the worker still holds
    /// values borrowed from them (see ``ArenaSpans/pin(key:)``).
    func pinAll<Keys: Sequence>(keys: Keys) where Keys.Element == UInt64 {
        lock.withLock {
            for key in keys { space.pin(key: key) }
            trimIfEmpty()
        }
    }

    /// Takes back pinned spans the worker no longer holds.
    func releasePinned<Sequences: Sequence>(_ sequences: Sequences) where Sequences.Element == UInt64 {
        lock.withLock {
            for sequence in sequences { space.releasePinned(sequence) }
            trimIfEmpty()
        }
    }

    /// How many spans a worker holds past their replies (for the tests).
    var pinnedCount: Int { lock.withLock { space.pinned.count } }

    /// Takes back every span up to sequence number `sequence`: the reader consumed them in order.
    func release(through sequence: UInt64) {
        lock.withLock {
            space.release(through: sequence)
            trimIfEmpty()
        }
    }

    /// Bytes of memory the arena's file holds now.
    var allocatedBytes: Int { (try? Files.status(of: descriptor).allocatedBytes) ?? 0 }

    /// Whether any span is live.
    var hasLiveSpans: Bool { lock.withLock { !space.isEmpty } }

    /// Whether the arena holds pages above ``warmBytes``, which it gives back once it has
    /// stayed empty for its grace.
    var holdsMoreThanWarm: Bool { lock.withLock { reserved > Self.warmBytes } }

    /// Under `lock`: notes when the arena empties holding more than ``warmBytes`` (see
    /// ``trimIfIdle(now:grace:)``).
    ///
    /// Only when empty: trimming behind a steady stream of large values would give back pages
    /// the next value needs at once (each a fault and a page of zeros again). While values
    /// flow, what stays allocated is the most that was in flight at once.
    private func trimIfEmpty() {
        guard space.holdsOnlyPinned, reserved > keptBytes, emptiedAt == nil else { return }
        emptiedAt = MonotonicClock.nanoseconds()
    }

    /// Under `lock`: the bytes a trim keeps: the warm ones, and every page up to the end of
    /// the last span a worker still keeps (a task that caches one value must not hold the
    /// whole arena's pages for the worker's life).
    private var keptBytes: Int {
        let page = SharedMemory.pageSize
        return max(Self.warmBytes, (space.highestEnd + page - 1) / page * page)
    }

    /// Whether the arena is empty (but for spans workers keep) and holds pages above
    /// ``warmBytes`` and those kept spans that
    /// ``trimIfIdle(now:grace:)`` will give back: its owner then looks in again within
    /// ``idleGraceNanoseconds`` even when idle.
    var awaitsTrim: Bool { trimPending.load(ordering: .relaxed) }

    /// Gives back the pages above ``warmBytes`` (and above any span a worker keeps) of an
    /// arena that has stayed empty but for such spans for `grace`
    /// nanoseconds by `now`.
    func trimIfIdle(now: UInt64? = nil, grace: UInt64 = idleGraceNanoseconds) {
        lock.withLock {
            // The clock is read under the lock: read before it, another thread could empty the
            // arena in between and a `since` later than `now` would pass for a long wait.
            let now = now ?? MonotonicClock.nanoseconds()
            guard space.holdsOnlyPinned, let since = emptiedAt, now >= since, now - since >= grace else { return }
            emptiedAt = nil
            let kept = keptBytes
            guard reserved > kept, SharedMemory.release(descriptor, offset: kept, bytes: reserved - kept) else {
                return
            }
            reserved = kept
        }
    }

    // MARK: Reader side

    /// The `count` bytes at `offset`, read in place: valid while this arena lives and the writer
    /// has not reused them (until this side says it consumed them).
    ///
    /// - Throws: ``WireError`` if the span lies outside the arena: the reference is corrupt.
    func bytes(at offset: UInt64, count: UInt64) throws(WireError) -> UnsafeRawBufferPointer {
        guard offset <= UInt64(capacity), count <= UInt64(capacity) - offset else {
            throw WireError(
                .invalidValue, at: 0,
                "a shared-memory reference (\(count) bytes at \(offset)) lies outside its arena of \(capacity) bytes")
        }
        let end = Int(offset + count)
        // Pages this side has not read yet are mapped in one call, not a fault each.
        if populatesOnRead, lock.withLock({ end > readerMapped }) {
            try? SharedMemory.populate(base + Int(offset), bytes: Int(count), forWriting: false)
            lock.withLock { readerMapped = max(readerMapped, end) }
        }
        return UnsafeRawBufferPointer(start: base + Int(offset), count: Int(count))
    }
}

extension FrameBuilder {
    /// Appends a reference to `span` (see ``SharedArena/referenceBytes``).
    func append(reference span: ArenaSpans.Span) {
        append(fixed: UInt64(span.offset))
        append(fixed: UInt64(span.count))
        append(fixed: span.sequence)
    }
}

extension FrameCursor {
    /// Reads a reference appended by ``FrameBuilder/append(reference:)``.
    mutating func readReference() throws(WireError) -> (offset: UInt64, count: UInt64, sequence: UInt64) {
        let offset = try read(UInt64.self)
        let count = try read(UInt64.self)
        let sequence = try read(UInt64.self)
        return (offset, count, sequence)
    }
}
