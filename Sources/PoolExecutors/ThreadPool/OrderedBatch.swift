/// An ordered map running on a ``ThreadPool`` whose finished outputs can be taken even when an
/// item failed: the lowest failing item is reported, every item below it has finished, and
/// their outputs come back with the failure. ``ThreadPool/map(_:chunkSize:_:)`` throws those
/// outputs away; a caller that must deliver every finished result (the auto executor's watched
/// batches) uses this instead.
///
/// Started with ``ThreadPool/startBatch(_:_:chunkSize:_:)``, which returns at once, so a
/// caller can queue the next batch before waiting for this one: the pool's threads then move
/// from one batch to the next without idling at the boundary.
package final class OrderedBatch<Output: Sendable>: Sendable {
    private let slots: ResultSlots<Output>
    private let job: OrderedMapJob
    /// Items in the batch.
    package let count: Int

    init(slots: ResultSlots<Output>, job: OrderedMapJob, count: Int) {
        self.slots = slots
        self.job = job
        self.count = count
    }

    /// Waits for the batch to end. Returns every output in order when no item failed; else the
    /// outputs below the first item that did not finish, and a ``MapError`` with its index (the
    /// batch's own, from 0): the lowest failing item's error, or `CancellationError` for an item
    /// a ``cancel()`` kept from starting. After ``truncate()`` (and no ``cancel()``), the
    /// outputs of the items claimed before the cut and no failure. Call once, on the thread
    /// that called ``truncate()`` if any.
    package func wait() -> (outputs: [Output], failure: MapError?) {
        do {
            try job.done.result()
            return (slots.collect(), nil)
        } catch let failure as MapError {
            // Below a failure every claimed item ran, unless a cancel stopped the runners
            // between items: the outputs then end at the first item that did not run.
            let outputs = slots.collectWritten(prefix: failure.index)
            guard outputs.count < failure.index else { return (outputs, failure) }
            return (outputs, MapError(index: outputs.count, error: CancellationError()))
        } catch {
            // Cut short (``truncate()``), and not cancelled too (a cancel leaves holes in the
            // claimed chunks): every claimed item ran, and they are the prefix up to the cut.
            if job.cursor.isTruncated, !job.cursor.isStopped, let cut = job.cursor.cutPoint {
                let outputs = slots.collectWritten(prefix: cut)
                if outputs.count == cut { return (outputs, nil) }
            }
            // Cancelled: the items that ran before the first that did not (all, when the
            // cancel came after the last item started).
            let outputs = slots.collectWritten(prefix: count)
            return (outputs, outputs.count == count ? nil : MapError(index: outputs.count, error: error))
        }
    }

    /// Waits up to `seconds` for the batch to end; returns whether it has.
    package func waitUntilDone(seconds: Double) -> Bool {
        let nanoseconds = seconds.isFinite ? Int64(max(0, min(seconds, 3600)) * 1e9) : 0
        return job.done.waitForOutcome(timeout: .nanoseconds(nanoseconds)) != nil
    }

    /// Whether some items were not yet handed to a runner: the pool's threads have work waiting.
    package var hasUnclaimedItems: Bool { !job.cursor.isExhausted }

    /// Items not yet started never start; items running finish. ``wait()`` still returns.
    package func cancel() { job.cursor.stop() }

    /// Ends the batch at the items its runners have already claimed (a whole chunk each, with
    /// automatic chunks a quarter of an even share of what was left): those run and finish,
    /// no other starts, and ``wait()`` returns their outputs, a prefix of the batch, with no
    /// failure (unless one of them failed). What a caller that changes its plan mid-job uses
    /// for the batch queued behind the one it just judged: the rest can run on the new plan,
    /// and nothing runs twice or is lost.
    package func truncate() { job.cursor.truncate() }
}

extension ThreadPool {
    /// Starts `transform` on `inputs[range]` in order, in chunks of `chunkSize` (automatic when
    /// nil), and returns at once. The inputs are read in place: nothing is copied per batch.
    /// - Throws: ``PoolError`` when the pool is shut down.
    package func startBatch<Element: Sendable, Output: Sendable>(
        _ inputs: [Element], _ range: Range<Int>, chunkSize: Int?,
        _ transform: @escaping @Sendable (Element) throws -> Output
    ) throws -> OrderedBatch<Output> {
        let slots = ResultSlots<Output>(count: range.count)
        let base = range.lowerBound
        let runners = core.runnerCount(for: range.count, chunkSize: chunkSize)
        let job = OrderedMapJob(count: range.count, chunkSize: chunkSize, runners: runners) { index in
            slots.store(try transform(inputs[base + index]), at: index)
        }
        try core.start(job, runners: runners)
        return OrderedBatch(slots: slots, job: job, count: range.count)
    }
}
