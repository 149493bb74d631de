internal import PoolSystem
import Synchronization

/// Dispatch and replies: cutting queued work into batches for workers with room, and recording
/// the replies that come back. Each method runs under the core's lock.
extension ProcessPoolState {
    /// Worker time a batch should take: long enough to amortise a round trip (tens of
    /// microseconds) a hundred times over, short enough that the cores stay balanced.
    static let targetBatchNanoseconds = 2_000_000.0

    /// Gives every worker with room a batch, as long as work is queued.
    /// - Returns: the batches to send, and the items of sources a worker cannot run (their
    ///   task is missing from it) to fail.
    mutating func dispatch() -> Action {
        var action = Action()
        switch lifecycle {
        case .running, .shuttingDown: break
        case .killing, .broken: return action
        }
        while let slot = leastLoadedSlot(window: window), let connection = slots[slot].connection,
            let (source, indexes, taskIndex) = cutBatch(for: connection, refused: &action.failures)
        {
            let batch = Batch(id: nextBatchID, source: source, indexes: indexes)
            nextBatchID += 1
            if slots[slot].inFlight.isEmpty && connection.page == nil {
                connection.progressMark.store(MonotonicClock.nanoseconds(), ordering: .releasing)
            }
            slots[slot].inFlight.append(batch)
            action.sends.append(Dispatch(slot: slot, connection: connection, batch: batch, taskIndex: taskIndex))
        }
        // What looked like work still to send may have gone meanwhile (a map's failure lowers
        // its limit, a cancelled future drops its item, outside this lock): a shutting-down
        // pool closes every idle worker now, or one found idle before would wait for ever.
        if case .shuttingDown = lifecycle {
            action.closes = slots.indices.compactMap { closeIfDone($0) ? slots[$0].connection : nil }
        }
        return action
    }

    /// Batches a worker may hold for the next queued work. Queuing a second batch behind a
    /// running one only saves a round trip, worth it for short batches; for long or not yet
    /// timed ones it would pile work on whichever worker said hello first while the others are
    /// still starting.
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

    /// The next batch for a worker, refusing sources whose task the worker lacks.
    private mutating func cutBatch(
        for connection: WorkerConnection, refused: inout [Failure]
    ) -> (WorkSource, [Int], Int)? {
        while let source = queue.first {
            guard source.hasUndispatched else {
                queue.removeFirst()
                continue
            }
            guard let entry = connection.tasks[source.taskName], entry.signature == source.signature else {
                refused.append(
                    Failure(source: source, indexes: source.takeAll(), error: unknownTask(source, connection)))
                queue.removeFirst()
                continue
            }
            let indexes = source.take(upTo: chunkSize(for: source))
            // A source whose last items leave now leaves the queue too: left for the next cut,
            // it kept its inputs alive after the job whenever no cut came (a pool shut down as
            // its last reply arrived). Its batches hold it while they run; a requeue puts it back.
            if !source.hasUndispatched { queue.removeFirst() }
            if indexes.isEmpty { continue }
            return (source, indexes, entry.index)
        }
        return nil
    }

    /// Items per batch: the fixed chunk size, or enough items for about 2 ms of worker time,
    /// capped so that at least four batches per worker remain for balance.
    private func chunkSize(for source: WorkSource) -> Int {
        if let fixed = source.fixedChunk { return max(1, fixed) }
        let remaining = source.count - source.nextIndex + source.retryIndexes.count
        let balanced = max(1, remaining / (slots.count * 4))
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

    /// Takes back a batch that could not be sent (its request is too large).
    /// - Returns: whether it was still in flight; if not, its worker's end accounted for it.
    mutating func withdraw(_ batch: Batch, fromSlot slot: Int) -> Bool {
        guard let position = slots[slot].inFlight.firstIndex(where: { $0 === batch }) else { return false }
        slots[slot].inFlight.remove(at: position)
        return true
    }

    // MARK: Replies

    /// The batch a results frame from slot `slot`'s worker is for: batch `id`, items
    /// `first..<first + count`, which must come next (workers answer in order). Nil if the
    /// worker holds no such batch.
    func batchAwaitingReply(slot: Int, id: UInt64, first: Int, count: Int) -> Batch? {
        guard let batch = slots[slot].inFlight.first(where: { $0.id == id }), first == batch.answered,
            first + count <= batch.indexes.count
        else { return nil }
        return batch
    }

    /// Records a validated reply for `count` items of `batch` from `first`, before they are
    /// delivered: a caller woken by a result that submits again must find the slot's window
    /// and retirement already up to date.
    /// - Returns: whether slot `slot`'s worker should now be told to exit.
    mutating func recordReply(_ batch: Batch, slot: Int, first: Int, count: Int, busyNanoseconds: UInt64) -> Bool {
        batch.answered = first + count
        batch.source.observe(busyNanoseconds: busyNanoseconds, items: count)
        nanosPerItem[batch.source.taskName] = batch.source.nanosPerItem
        slots[slot].itemsRun += count
        if count > 0 { hostServed(slotHosts[slot]) }
        if batch.answered == batch.indexes.count {
            slots[slot].inFlight.removeAll { $0 === batch }
        }
        if let connection = slots[slot].connection, connection.page == nil {
            let now = slots[slot].inFlight.isEmpty ? 0 : MonotonicClock.nanoseconds()
            connection.progressMark.store(now, ordering: .releasing)
        }
        if let limit = configuration.maxTasksPerWorker, slots[slot].itemsRun >= limit {
            slots[slot].retiring = true
        }
        return closeIfDone(slot)
    }

    /// Whether slot `slot`'s worker should be told to exit now, marking it closed: it is idle
    /// and either retiring or the pool is shutting down with nothing left to send.
    mutating func closeIfDone(_ slot: Int) -> Bool {
        guard slots[slot].connection != nil, !slots[slot].closed, slots[slot].inFlight.isEmpty else { return false }
        var shuttingDown = false
        if case .shuttingDown = lifecycle { shuttingDown = !hasUndispatchedWork }
        guard slots[slot].retiring || shuttingDown else { return false }
        slots[slot].closed = true
        return true
    }
}
