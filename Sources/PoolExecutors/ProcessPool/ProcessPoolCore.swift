internal import PoolSystem
import PoolWire
import Synchronization

// Data flow across the pool's threads (drawn after CPython's Lib/concurrent/futures/process.py):
//
//  submitting thread       any thread, under the lock                     worker process k (one per slot)
// +---------------+       +------------------+  dispatch  +-------------+  fd 3   +-------------------+
// | submit, map,  | ====> | work sources     | =========> | Batch: id,  | ======> | WorkerEntry: read |
// | mapUnordered: |enqueue| (state.queue):   | a batch per| source,     | request | a request, run    |
// | a TaskSource  |       | inputs, next     | slot with  | items; kept | frames  | the task on each  |
// +---------------+       | index, retries   | room       | in slots[k] |         | item in turn      |
//        ^                +------------------+            +-------------+         +-------------------+
//        |                         ^                encoded without the lock;       |               |
//        |                         | requeued: not  sent by WorkerConnection k      | before and    | reply frames,
//        |                         | started, or    (small frames from the sending  | after each    | batched
//        |                         | lost and       thread, large ones by its       | item          | (fd 4)
//        |                         | idempotent     writer thread)                  v               |
//        |              +-------------------------+                       +-------------------+     |
//        |              | conductor k             |  reads: the timeout   | progress page     |     |
//        |              | (one thread per slot):  | <-------------------- | (memfd, fd 5):    |     |
//        |              | spawn and handshake,    |  check; after a death | running item and  |     |
//        |              | serve replies, reap,    |  the culprit and the  | its start; log of |     |
//        |              | account for the end,    |  logged results       | finished results  |     |
//        |              | spawn the next worker   |                       +-------------------+     |
//        |              |                         | <===============================================+
//        |              +-------------------------+   replies (FrameReader), handleResults
//        |                           |
//        |                           | deliver or fail each item, no lock held
//        |                           v
//        |      Future (submit):       | OrderedResults (map): in    | CompletionChannel (mapUnordered):
//        +===== result(), value,       | input order, behind the     | Completions, read with for await
//               whenComplete           | map's done future           | or .blocking
//
// - A submission becomes a WorkSource (TaskSource holds the task's types) in the queue; pump() runs on any thread
//   that changed the state (submitter, conductor) and cuts batches for slots with room: a transition of the
//   ProcessPoolState under the lock, which returns the batches to encode and send after unlocking.
// - Each worker writes on its progress page which item it is running and, once the item is done, its reply record
//   in the page's log, before the batched reply frame goes out. The conductor reads the page for the timeout while
//   the worker runs, and after the worker dies (no message from it needed) to blame the item it was running and to
//   deliver finished results it never sent.
// - Results go to the source's destination from the conductor thread (failures of work never sent, from the thread
//   that found them), never under the lock: completing a future or pushing to a channel runs the caller's code.

/// The engine of a ``ProcessPool``: its lock, the ``ProcessPoolState`` it guards, and the work
/// done outside the lock (encoding, sending, delivering).
///
/// The state is read and changed only inside `lock.withLock`, by its transitions; each returns
/// what to do after the lock is released, which ``perform(_:)`` does. Encoding, decoding and
/// pipe I/O happen outside the lock, on the submitting thread or the worker's conductor thread.
// @unchecked: `state` is read and written only under `lock`; the other properties are lets of Sendable values.
final class ProcessPoolCore: @unchecked Sendable {
    let configuration: ProcessPool.Configuration
    let launch: WorkerLaunch
    let lock = ConditionLock()
    let conductorsFinished = Condition()
    /// Guarded by `lock`.
    var state: ProcessPoolState
    /// Request builders ready for reuse, so a large input encodes into warm memory.
    let builders = Locked<[FrameBuilder]>([])
    /// The encoded size of the last input sent: a guess at the next one's.
    let lastInputBytes = Atomic<Int>(0)

    /// For each worker slot, the index of its host in the configuration's `effectiveHosts`.
    let slotHosts: [Int]

    init(configuration: ProcessPool.Configuration, launch: WorkerLaunch) {
        self.configuration = configuration
        self.launch = launch
        slotHosts = configuration.slotHosts
        state = ProcessPoolState(configuration: configuration)
    }

    /// Runs what a transition left for after the lock, in the order ``ProcessPoolState/Action``
    /// gives (no lock held).
    func perform(_ action: ProcessPoolState.Action) {
        if let recovered = action.recovered { deliverRecovered(recovered) }
        for failure in action.failures {
            for index in failure.indexes { failure.source.fail(index, with: failure.error) }
        }
        for pid in action.kills { Processes.kill(pid) }
        for connection in action.closes { connection.closeRequests(discardQueued: false) }
        for dispatch in action.sends { send(dispatch) }
        for warning in action.warnings {
            if let onWarning = configuration.onWarning { onWarning(warning) } else { Processes.printWarning(warning) }
        }
    }

    /// Sends none of `source`'s items not yet sent: each fails with ``ItemNotStarted``, so a
    /// stream of them still ends once the items already in workers arrive (and items a dying
    /// worker hands back later fail the same way: see `requeue`).
    func cancelUndispatched(_ source: WorkSource) {
        let indexes = lock.withLock { () -> [Int] in
            source.stop()
            return source.takeAll()
        }
        for index in indexes { source.fail(index, with: ItemNotStarted()) }
        pump()  // a shutting-down pool may now close idle workers
    }

    /// Queues `source` and dispatches what workers have room for.
    func enqueue(_ source: WorkSource) throws {
        if configuration.adjustableTaskTimeout?.percent != nil {
            source.timeLimit = configuration.adjustableTaskTimeout
        }
        try lock.withLock { try state.enqueue(source) }
        pump()
    }

    // MARK: Dispatch

    /// Gives every worker with room a batch, as long as work is queued. Safe from any thread.
    func pump() {
        perform(lock.withLock { state.dispatch() })
    }

    /// Encodes a batch and hands it to its worker's connection (no lock held).
    ///
    /// A request is `[batch u64][task u32][count u32]` then per item an ``InputPlacement``
    /// byte, a 4-byte length and the field: the encoded input, a reference to it in the
    /// worker's arguments arena (at least ``Configuration/sharedMemoryThreshold`` bytes), or a
    /// failure record. An input that fails to encode or to find shared memory is sent as that
    /// record, which the worker echoes back as the item's error, so every item completes
    /// exactly once.
    private func send(_ dispatch: ProcessPoolState.Dispatch) {
        let builder = builders.withLock { $0.popLast() } ?? FrameBuilder()
        defer {
            // Pooled with at most a few MiB of buffer: a large frame's memory goes back now.
            builder.trim()
            builders.withLock { if $0.count < slotHosts.count { $0.append(builder) } }
        }
        builder.begin(kind: FrameKind.run.rawValue)
        builder.append(fixed: dispatch.batch.id)
        builder.append(fixed: UInt32(dispatch.taskIndex))
        builder.append(fixed: UInt32(dispatch.batch.indexes.count))
        let arena = configuration.sharedMemoryThreshold.flatMap { _ in dispatch.connection.arguments }
        for (position, index) in dispatch.batch.indexes.enumerated() {
            let placementOffset = builder.payloadCount
            builder.append(fixed: InputPlacement.inline.rawValue)
            let lengthOffset = builder.beginLengthPrefix()
            let mark = builder.payloadCount
            do {
                let key = Self.arenaKey(dispatch.batch.id, position: position)
                if let arena {
                    if let span = try encodeInput(index, of: dispatch.batch.source, into: builder, arena, key: key) {
                        builder.truncate(toPayloadCount: mark)
                        builder.append(reference: span)
                        builder.patchPayload(InputPlacement.shared.rawValue, at: placementOffset)
                    }
                } else {
                    try dispatch.batch.source.encodeInput(index, into: builder)
                }
                builder.endLengthPrefix(lengthOffset)
            } catch {
                let encoded = builder.payloadCount - mark
                let message =
                    error is SystemCallError
                    ? "the input (\(encoded) bytes encoded) found no shared memory to travel in (\(error)) and is too large for a frame: free memory, or raise ProcessPool.Configuration.maximumFrameBytes"
                    : "the input could not be encoded: \(error)"
                builder.truncate(toPayloadCount: mark)
                try? builder.encode(RemoteFailure(typeName: String(reflecting: type(of: error)), message: message))
                builder.patchPayload(InputPlacement.failedInParent.rawValue, at: placementOffset)
                builder.endLengthPrefix(lengthOffset)
            }
        }
        guard builder.payloadCount <= configuration.maximumFrameBytes else {
            let error = PoolError(
                .broken,
                "a request of \(builder.payloadCount) bytes exceeds the pool's maximum frame of \(configuration.maximumFrameBytes) bytes (Configuration.maximumFrameBytes); send smaller inputs or a smaller chunk size"
            )
            if let arena = dispatch.connection.arguments {
                arena.release(batch: dispatch.batch.id, positions: dispatch.batch.indexes.indices)
                // No reply will come to wake the conductor to the arena's grace: give back now.
                arena.trimIfIdle(grace: 0)
            }
            let owned = lock.withLock { state.withdraw(dispatch.batch, fromSlot: dispatch.slot) }
            if owned { for index in dispatch.batch.indexes { dispatch.batch.source.fail(index, with: error) } }
            pump()
            return
        }
        // If the connection is closing, its conductor requeues the batch with the rest.
        dispatch.connection.send(builder.finish())
    }

    /// Encodes item `index` of `source`, into the worker's arguments arena if it is large.
    ///
    /// Returns the span it lies in; nil when it went into the frame instead (small, or no room
    /// in the arena). Once the pool has seen a large input, the next is encoded straight into a
    /// span as large as the last one and a quarter: one copy, where encoding into the frame
    /// and moving it takes two. A guess that was wrong costs a copy of a value that turned out
    /// small, or the two-copy path for one that did not fit.
    ///
    /// - Throws: the encoding error, or ``SystemCallError`` when no memory can be had for it.
    private func encodeInput(
        _ index: Int, of source: WorkSource, into builder: FrameBuilder, _ arena: SharedArena, key: UInt64
    ) throws -> ArenaSpans.Span? {
        let threshold = configuration.sharedMemoryThreshold ?? .max
        let mark = builder.payloadCount
        // A block's size is known exactly without encoding it: no guess, and no large value
        // encoded into the frame (fresh pages) and moved because the last input was small.
        let exact = source.blockSize(ofInput: index)
        let expected = exact ?? lastInputBytes.load(ordering: .relaxed)
        let claim = exact ?? expected + expected / 4 + 64
        // A guess that finds no memory is no verdict on this input: it takes the usual path.
        if expected >= threshold, let claimed = try? arena.claim(claim, key: key) {
            let written: Int?
            do {
                written = try source.encodeInput(index, into: builder, preferring: arena.memory(of: claimed))
            } catch {
                arena.abandon(claimed)
                throw error
            }
            guard let written else {
                arena.abandon(claimed)
                return try placeInFrame(encodedFrom: mark, builder, arena, key: key)
            }
            lastInputBytes.store(written, ordering: .relaxed)
            guard written >= threshold else {
                builder.append(bytes: UnsafeRawBufferPointer(rebasing: arena.memory(of: claimed).prefix(written)))
                arena.abandon(claimed)
                return nil
            }
            return arena.shrink(claimed, to: written)
        }
        try source.encodeInput(index, into: builder)
        return try placeInFrame(encodedFrom: mark, builder, arena, key: key)
    }

    /// Moves an input just encoded into the frame (after payload offset `mark`) into the arena
    /// if it is large and fits; returns its span.
    private func placeInFrame(
        encodedFrom mark: Int, _ builder: FrameBuilder, _ arena: SharedArena, key: UInt64
    ) throws -> ArenaSpans.Span? {
        let encoded = builder.payloadCount - mark
        lastInputBytes.store(encoded, ordering: .relaxed)
        guard encoded >= configuration.sharedMemoryThreshold ?? .max else { return nil }
        do {
            return try arena.store(builder.payload(from: mark), key: key)
        } catch {
            // No memory for it: the pipe carries it if a frame can hold it.
            guard builder.payloadCount + FrameHeader.size > configuration.maximumFrameBytes else { return nil }
            throw error
        }
    }

    // MARK: Replies

    /// Handles one results frame from slot `slot`'s worker (on its conductor thread).
    ///
    /// - Throws: ``WireError`` if the frame does not match a batch in flight.
    func handleResults(_ payload: UnsafeRawBufferPointer, slot: Int, connection: WorkerConnection) throws {
        var cursor = FrameCursor(payload)
        let batchID = try cursor.read(UInt64.self)
        let first = Int(try cursor.read(UInt32.self))
        let count = Int(try cursor.read(UInt32.self))
        let busy = try cursor.read(UInt64.self)
        guard
            let batch = lock.withLock({
                state.batchAwaitingReply(slot: slot, id: batchID, first: first, count: count)
            })
        else {
            throw WireError(
                .invalidValue, at: 0, "results for batch \(batchID) items \(first)..<\(first + count) were not expected"
            )
        }
        let pinned = try cursor.checkItems(count: count)
        // Bookkeeping first, then delivery (see `recordReply`).
        let closeNow = lock.withLock {
            state.recordReply(batch, slot: slot, first: first, count: count, busyNanoseconds: busy)
        }
        connection.arguments?.release(batch: batchID, positions: first..<(first + count), pinned: pinned)
        try deliver(batch, positions: first..<(first + count), from: &cursor, results: connection.sharedResults)
        if closeNow { connection.closeRequests(discardQueued: false) }
        pump()
    }

    /// Hands the items at `positions` of `batch`, read from `cursor` (already validated), to
    /// their source: outputs decoded, errors as ``RemoteTaskError``s (no lock held). Outputs in
    /// shared memory are decoded in place from `results`, then given back to the worker.
    func deliver(
        _ batch: Batch, positions: Range<Int>, from cursor: inout FrameCursor, results: SharedResults?
    ) throws {
        for position in positions {
            let statusByte = try cursor.read(UInt8.self)
            var bytes = try cursor.readLengthPrefixed()
            let index = batch.indexes[position]
            var consumed: UInt64?
            // Read or not, decoded or failed, the worker may reuse the span after this item.
            defer { if let consumed { results?.page?.resultsConsumed = consumed } }
            if statusByte & WorkerProtocol.sharedResultFlag != 0 {
                do {
                    guard let results else {
                        throw WireError(.invalidValue, at: 0, "it refers to shared memory this worker does not have")
                    }
                    var field = FrameCursor(bytes)
                    let reference = try field.readReference()
                    consumed = reference.sequence
                    bytes = try results.arena.bytes(at: reference.offset, count: reference.count)
                } catch {
                    // This item's result cannot be found; the others of the reply still can,
                    // and the stream itself is whole: the worker goes on serving.
                    batch.source.fail(
                        index,
                        with: PoolError(
                            .resultLost,
                            "worker finished input \(batch.source.reportedIndex(index)) but its result's shared-memory reference is corrupt: \(error)",
                            inputIndexes: [batch.source.reportedIndex(index)]))
                    continue
                }
            }
            if statusByte & ~WorkerProtocol.statusFlags == ItemStatus.success.rawValue {
                batch.source.deliver(index, output: bytes)
            } else {
                let failure =
                    (try? WireDecoder().decode(RemoteFailure.self, from: bytes))
                    ?? RemoteFailure(typeName: "unknown", message: "the worker's error report could not be decoded")
                batch.source.fail(
                    index,
                    with: RemoteTaskError(
                        taskName: batch.source.displayName, typeName: failure.typeName, message: failure.message,
                        inputIndex: batch.source.reportedIndex(index)))
            }
        }
    }

    /// The key of position `position` of batch `batch` in a worker's arguments arena.
    static func arenaKey(_ batch: UInt64, position: Int) -> UInt64 {
        batch &<< 32 | UInt64(truncatingIfNeeded: position) & 0xFFFF_FFFF
    }
}

/// A worker's results arena and the page through which the pool says what it has read.
struct SharedResults {
    let arena: SharedArena
    let page: ProgressPage?
}

extension WorkerConnection {
    /// Where this worker's large results are.
    var sharedResults: SharedResults? { results.map { SharedResults(arena: $0, page: page) } }
}

extension SharedArena {
    /// Takes back the spans of the items at `positions` of batch `batch`, once their replies
    /// arrived (or the batch was never sent).
    func release<Positions: Sequence<Int>>(batch: UInt64, positions: Positions) {
        releaseAll(keys: positions.lazy.map { ProcessPoolCore.arenaKey(batch, position: $0) })
    }

    /// Like ``release(batch:positions:)``, but keeps the spans of the positions in `pinned`
    /// (offsets from the range's start) until the worker says it no longer holds them.
    func release(batch: UInt64, positions: Range<Int>, pinned: [Int]) {
        guard !pinned.isEmpty else { return release(batch: batch, positions: positions) }
        let keep = Set(pinned.map { positions.lowerBound + $0 })
        pinAll(keys: keep.map { ProcessPoolCore.arenaKey(batch, position: $0) })
        release(batch: batch, positions: positions.filter { !keep.contains($0) })
    }
}

extension FrameCursor {
    /// Walks `count` reply items (a status byte and a length-prefixed payload each) without
    /// moving this cursor, so a malformed frame or log is rejected before any bookkeeping or
    /// delivery. Returns the items (by position in the frame) whose worker still holds their
    /// input's span of the arguments arena.
    @discardableResult
    func checkItems(count: Int) throws -> [Int] {
        var probe = self
        var pinned: [Int] = []
        for item in 0..<count {
            if try probe.read(UInt8.self) & WorkerProtocol.pinnedArgumentFlag != 0 { pinned.append(item) }
            _ = try probe.readLengthPrefixed()
        }
        return pinned
    }

    /// Reads a ``FrameKind/released`` frame's sequence numbers.
    mutating func readReleasedSequences() throws -> [UInt64] {
        let count = Int(try read(UInt32.self))
        guard count <= WorkerProtocol.maximumReleasesPerFrame else {
            throw WireError(.lengthOutOfRange, at: 0, "a released frame claims \(count) spans")
        }
        return try (0..<count).map { _ in try read(UInt64.self) }
    }
}
