import PoolWire

/// The shared state of a ``ProcessPool``: the queue of submitted work, one slot per worker
/// process, and the dispatcher that cuts work into batches for workers with room.
///
/// One pthread mutex guards it all. Encoding, decoding and pipe I/O happen outside the lock,
/// on the submitting thread or the worker's conductor thread.
// @unchecked: every var (here and in the extensions) is read and written under `lock`.
final class ProcessPoolCore: @unchecked Sendable {
    enum Lifecycle {
        case running
        case shuttingDown
        case terminated
        case broken(PoolError)
    }

    struct Slot {
        var connection: WorkerConnection?
        /// The pid of a worker still in its handshake (so `terminate` can kill it).
        var startingPID: Int32?
        var inFlight: [Batch] = []
        var itemsRun = 0
        /// No new batches: the worker reached `maxTasksPerWorker`.
        var retiring = false
        /// The request pipe was closed on purpose (shutdown or recycling).
        var closed = false
    }

    let configuration: ProcessPool.Configuration
    let launch: WorkerLaunch
    let lock = ConditionLock()
    let conductorsFinished = Condition()
    var lifecycle = Lifecycle.running
    var queue: [WorkSource] = []
    var slots: [Slot]
    var nextBatchID: UInt64 = 1
    var conductorsRunning = 0
    var conductors: [PlatformThread] = []
    /// Worker time per item of each task seen so far (the latest source's estimate), so that
    /// single submissions of a known task are paced like a map of it.
    var nanosPerItem: [String: Double] = [:]

    /// Worker time a batch should take: long enough to amortise a round trip (tens of
    /// microseconds) a hundred times over, short enough that the cores stay balanced.
    static let targetBatchNanoseconds = 2_000_000.0

    init(configuration: ProcessPool.Configuration, launch: WorkerLaunch) {
        self.configuration = configuration
        self.launch = launch
        slots = Array(repeating: Slot(), count: configuration.workers)
    }

    /// The error a submission gets when the pool no longer accepts work (lock held).
    var refusal: PoolError? {
        switch lifecycle {
        case .running: return nil
        case .shuttingDown, .terminated:
            return PoolError(.shutDown, "process pool '\(configuration.name)' is shut down and accepts no more work")
        case .broken(let error): return error
        }
    }

    /// Queues `source` and dispatches what workers have room for.
    func enqueue(_ source: WorkSource) throws {
        try lock.withLock {
            if let refusal { throw refusal }
            queue.append(source)
        }
        pump()
    }

    /// Whether any queued work is still waiting to be dispatched (lock held).
    var hasUndispatchedWork: Bool { queue.contains { $0.hasUndispatched } }

    // MARK: Dispatch

    private struct Dispatch {
        let slot: Int
        let connection: WorkerConnection
        let batch: Batch
        let taskIndex: Int
    }

    /// Gives every worker with room a batch, as long as work is queued. Safe from any thread.
    func pump() {
        var dispatches: [Dispatch] = []
        var refused: [(WorkSource, [Int], PoolError)] = []
        lock.withLock {
            switch lifecycle {
            case .running, .shuttingDown: break
            case .terminated, .broken: return
            }
            while let slot = leastLoadedSlot(window: window), let connection = slots[slot].connection,
                let (source, indexes, taskIndex) = cutBatch(for: connection, refused: &refused)
            {
                let batch = Batch(id: nextBatchID, source: source, indexes: indexes)
                nextBatchID += 1
                slots[slot].inFlight.append(batch)
                dispatches.append(Dispatch(slot: slot, connection: connection, batch: batch, taskIndex: taskIndex))
            }
        }
        for (source, indexes, error) in refused {
            for index in indexes { source.fail(index, with: error) }
        }
        for dispatch in dispatches { send(dispatch) }
    }

    /// Batches a worker may hold for the next queued work (lock held). Queuing a second batch
    /// behind a running one only saves a round trip, worth it for short batches; for long or
    /// not yet timed ones it would pile work on whichever worker said hello first while the
    /// others are still starting.
    private var window: Int {
        guard let source = queue.first(where: { $0.hasUndispatched }),
            let perItem = source.nanosPerItem ?? nanosPerItem[source.taskName]
        else { return 1 }
        let batchNanoseconds = perItem * Double(chunkSize(for: source))
        return batchNanoseconds <= 10 * Self.targetBatchNanoseconds ? max(1, configuration.batchesInFlightPerWorker) : 1
    }

    private func leastLoadedSlot(window: Int) -> Int? {
        var best: Int?
        for index in slots.indices {
            let slot = slots[index]
            guard slot.connection != nil, !slot.retiring, !slot.closed, slot.inFlight.count < window else { continue }
            if best == nil || slot.inFlight.count < slots[best!].inFlight.count { best = index }
        }
        return best
    }

    /// The next batch for a worker, refusing sources whose task the worker lacks (lock held).
    private func cutBatch(
        for connection: WorkerConnection, refused: inout [(WorkSource, [Int], PoolError)]
    ) -> (WorkSource, [Int], Int)? {
        while let source = queue.first {
            guard source.hasUndispatched else {
                queue.removeFirst()
                continue
            }
            guard let entry = connection.tasks[source.taskName], entry.signature == source.signature else {
                refused.append((source, source.takeAll(), unknownTask(source, connection)))
                queue.removeFirst()
                continue
            }
            let indexes = source.take(upTo: chunkSize(for: source))
            if indexes.isEmpty { continue }
            return (source, indexes, entry.index)
        }
        return nil
    }

    /// Items per batch: the fixed chunk size, or enough items for about 2 ms of worker time,
    /// capped so that at least four batches per worker remain for balance (lock held).
    private func chunkSize(for source: WorkSource) -> Int {
        if let fixed = source.fixedChunk { return max(1, fixed) }
        let remaining = source.count - source.nextIndex + source.retryIndexes.count
        let balanced = max(1, remaining / (configuration.workers * 4))
        guard let perItem = source.nanosPerItem else { return 1 }
        let ideal = Int(min(Self.targetBatchNanoseconds / max(perItem, 20), 1e9))
        return max(1, min(ideal, balanced, 1 << 24))
    }

    private func unknownTask(_ source: WorkSource, _ connection: WorkerConnection) -> PoolError {
        let executable = connection.hello.executable
        if let entry = connection.tasks[source.taskName] {
            return PoolError(
                .unknownTask,
                "task '\(source.taskName)' has signature \(source.signature) here but \(entry.signature) in the worker (\(executable)): rebuild both from the same sources"
            )
        }
        let known = connection.hello.taskNames.isEmpty ? "none" : connection.hello.taskNames.joined(separator: ", ")
        return PoolError(
            .unknownTask,
            "task '\(source.taskName)' is not registered in the worker (\(executable)); add \(source.taskName).self to WorkerEntry.runIfWorker(tasks:) at the top of main (registered: \(known))"
        )
    }

    /// Encodes a batch and hands it to its worker's connection (no lock held).
    ///
    /// A request is `[batch u64][task u32][count u32]` then per item a 4-byte length and the
    /// encoded input. An input that fails to encode is sent as a flagged failure record, which
    /// the worker echoes back as that item's error, so every item completes exactly once.
    private func send(_ dispatch: Dispatch) {
        let builder = FrameBuilder()
        builder.begin(kind: FrameKind.run.rawValue)
        builder.append(fixed: dispatch.batch.id)
        builder.append(fixed: UInt32(dispatch.taskIndex))
        builder.append(fixed: UInt32(dispatch.batch.indexes.count))
        for index in dispatch.batch.indexes {
            let lengthOffset = builder.beginLengthPrefix()
            let mark = builder.payloadCount
            do {
                try dispatch.batch.source.encodeInput(index, into: builder)
                builder.endLengthPrefix(lengthOffset)
            } catch {
                builder.truncate(toPayloadCount: mark)
                try? builder.encode(
                    RemoteFailure(
                        typeName: String(reflecting: type(of: error)),
                        message: "the input could not be encoded: \(error)"))
                builder.endLengthPrefix(lengthOffset, flag: WorkerProtocol.failedInputFlag)
            }
        }
        guard builder.payloadCount <= configuration.maximumFrameBytes else {
            let error = PoolError(
                .broken,
                "a request of \(builder.payloadCount) bytes exceeds the pool's maximum frame of \(configuration.maximumFrameBytes) bytes (Configuration.maximumFrameBytes); send smaller inputs or a smaller chunk size"
            )
            let owned = lock.withLock { () -> Bool in
                guard let position = slots[dispatch.slot].inFlight.firstIndex(where: { $0 === dispatch.batch }) else {
                    return false
                }
                slots[dispatch.slot].inFlight.remove(at: position)
                return true
            }
            if owned { for index in dispatch.batch.indexes { dispatch.batch.source.fail(index, with: error) } }
            pump()
            return
        }
        // If the connection is closing, its conductor requeues the batch with the rest.
        dispatch.connection.send(builder.finish())
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
        guard let batch = lock.withLock({ slots[slot].inFlight.first { $0.id == batchID } }),
            first == batch.answered, first + count <= batch.indexes.count
        else {
            throw WireError(
                .invalidValue, at: 0, "results for batch \(batchID) items \(first)..<\(first + count) were not expected"
            )
        }
        try validateItems(cursor, count: count)
        // Bookkeeping first, then delivery: a caller woken by a result that submits again must
        // find the slot's window and retirement already up to date.
        let closeNow = lock.withLock { () -> Bool in
            batch.answered = first + count
            batch.source.observe(busyNanoseconds: busy, items: count)
            nanosPerItem[batch.source.taskName] = batch.source.nanosPerItem
            slots[slot].itemsRun += count
            if batch.answered == batch.indexes.count {
                slots[slot].inFlight.removeAll { $0 === batch }
            }
            if let limit = configuration.maxTasksPerWorker, slots[slot].itemsRun >= limit {
                slots[slot].retiring = true
            }
            return shouldCloseLocked(slot)
        }
        try deliver(batch, positions: first..<(first + count), from: &cursor)
        if closeNow { connection.closeRequests(discardQueued: false) }
        pump()
    }

    /// Hands the items at `positions` of `batch`, read from `cursor` (already validated), to
    /// their source: outputs decoded, errors as ``RemoteTaskError``s (no lock held).
    func deliver(_ batch: Batch, positions: Range<Int>, from cursor: inout FrameCursor) throws {
        for position in positions {
            let status = try cursor.read(UInt8.self)
            let bytes = try cursor.readLengthPrefixed()
            let index = batch.indexes[position]
            if status == ItemStatus.success.rawValue {
                batch.source.deliver(index, output: bytes)
            } else {
                let failure =
                    (try? WireDecoder().decode(RemoteFailure.self, from: bytes))
                    ?? RemoteFailure(typeName: "unknown", message: "the worker's error report could not be decoded")
                batch.source.fail(
                    index,
                    with: RemoteTaskError(
                        taskName: batch.source.taskName, typeName: failure.typeName, message: failure.message,
                        inputIndex: batch.source.reportedIndex(index)))
            }
        }
    }

    /// Walks `count` items (status byte and length-prefixed payload) so a malformed frame is
    /// rejected before any bookkeeping or delivery.
    func validateItems(_ cursor: FrameCursor, count: Int) throws {
        var probe = cursor
        for _ in 0..<count {
            _ = try probe.read(UInt8.self)
            _ = try probe.readLengthPrefixed()
        }
    }

    /// Whether slot `slot`'s worker should be told to exit now, marking it closed (lock held):
    /// it is idle and either retiring or the pool is shutting down with nothing left to send.
    func shouldCloseLocked(_ slot: Int) -> Bool {
        guard slots[slot].connection != nil, !slots[slot].closed, slots[slot].inFlight.isEmpty else { return false }
        var shuttingDown = false
        if case .shuttingDown = lifecycle { shuttingDown = !hasUndispatchedWork }
        guard slots[slot].retiring || shuttingDown else { return false }
        slots[slot].closed = true
        return true
    }
}
