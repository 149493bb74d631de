import Synchronization

/// The shared state of one ordered ``ThreadPool/map(_:chunkSize:_:)``.
///
/// Not generic on purpose: `process(index)` is a closure built by the `@inlinable` `map` in
/// the caller's module, so the per-item code is specialised for the caller's types while the
/// runner loop here needs no generic metadata.
final class OrderedMapJob: MapRunners, Sendable {
    let cursor: ChunkCursor
    let progress: MapProgress
    /// Completes when every item is stored, with the first failure, or with cancellation.
    let done = Future<Void>()
    private let process: @Sendable (Int) throws -> Void
    private let failure = Locked<MapError?>(nil)

    init(count: Int, chunkSize: Int?, runners: Int, process: @escaping @Sendable (Int) throws -> Void) {
        self.process = process
        cursor = ChunkCursor(count: count, chunkSize: chunkSize, runners: runners)
        progress = MapProgress(runners: runners + 1, items: count)
    }

    func work() {
        while let range = cursor.claim() {
            for index in range {
                if cursor.skips(index) { return }
                do {
                    try process(index)
                } catch {
                    record(MapError(index: index, error: error))
                    return
                }
            }
            chunkDone(range)
        }
    }

    /// Keeps the failure with the lowest index; items above it do not start, items below it
    /// finish, so the reported failure is the lowest failing input's.
    private func record(_ error: MapError) {
        failure.withLock { current in
            if current == nil || error.index < current!.index { current = error }
        }
        cursor.stop(from: error.index)
    }

    func finish() {
        if let failure = failure.withLock({ $0 }) {
            done.complete(with: .failure(failure))
        } else if cursor.isStopped || !cursor.isExhausted || cursor.isTruncated {
            // Runners were cancelled (shutdown with cancelPending) before finishing the input,
            // or the map was cut at the items its runners had claimed.
            done.complete(with: .failure(CancellationError()))
        } else {
            done.complete(with: .success(()))
        }
    }
}

/// The shared state of one ``ThreadPool/mapUnordered(_:chunkSize:_:)``: each item's outcome
/// goes to a ``CompletionChannel`` as soon as it is known.
final class StreamingMapJob: MapRunners, Sendable {
    let cursor: ChunkCursor
    let progress: MapProgress
    let channel: CompletionChannel
    private let process: @Sendable (Int) -> FutureOutcome

    init(count: Int, chunkSize: Int?, runners: Int, process: @escaping @Sendable (Int) -> FutureOutcome) {
        self.process = process
        cursor = ChunkCursor(count: count, chunkSize: chunkSize, runners: runners)
        progress = MapProgress(runners: runners + 1, items: count)
        let startsStopped = StartsStopped()
        self.startsStopped = startsStopped
        channel = CompletionChannel(
            expecting: count, stopWork: { [cursor] in cursor.stop() },
            // No claim after this, and no item of a claimed chunk starts either: a stop waits
            // for the items running, not for a whole chunk of an automatic size (a quarter of
            // an even share of the job).
            stopStarting: { [cursor] in
                startsStopped.flag.store(true, ordering: .relaxed)
                cursor.truncate()
            })
    }

    /// Set by the channel's `stopStarting`: items not started stay so.
    private let startsStopped: StartsStopped

    /// A flag the channel's closure and the runners share.
    final class StartsStopped: Sendable {
        let flag = Atomic<Bool>(false)
    }

    func work() {
        while let range = cursor.claim() {
            for index in range {
                if cursor.isStopped { return }
                if startsStopped.flag.load(ordering: .relaxed) {
                    for unstarted in index..<range.upperBound {
                        channel.push(CompletedItem(index: unstarted, outcome: .failure(ItemNotStarted())))
                    }
                    break
                }
                channel.push(CompletedItem(index: index, outcome: process(index)))
            }
            chunkDone(range)
        }
    }

    func finish() {
        // Items no runner reached (cancelled runners) still get an element each, so the
        // consumer sees every index exactly once and the stream ends; after a stop, those past
        // the cut were never started.
        for index in cursor.claimRest() {
            channel.push(CompletedItem(index: index, outcome: .failure(CancellationError())))
        }
        if let cut = cursor.cutPoint {
            for index in cut..<cursor.count {
                channel.push(CompletedItem(index: index, outcome: .failure(ItemNotStarted())))
            }
        }
        channel.close()
    }
}

/// One result slot per input of an ordered map, typed and specialised in the caller.
///
/// Each slot is written by exactly one runner (the one that claimed its index) and read
/// only after the map finished, so the slots need no lock.
@usableFromInline
final class ResultSlots<Output> {
    @usableFromInline let base: UnsafeMutablePointer<Output?>
    @usableFromInline let count: Int

    @inlinable
    init(count: Int) {
        self.count = count
        base = .allocate(capacity: count)
        base.initialize(repeating: nil, count: count)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    @inlinable
    func store(_ value: Output, at index: Int) {
        base[index] = value
    }

    /// Moves every value out, in index order; call once, after a successful map.
    @inlinable
    func collect() -> [Output] {
        var results: [Output] = []
        results.reserveCapacity(count)
        for index in 0..<count { results.append(base[index].take()!) }
        return results
    }

    /// Moves the values out in index order, from the first up to `prefix` or the first slot no
    /// item wrote (a cancelled map's runners stop between items, below a failure too).
    func collectWritten(prefix: Int) -> [Output] {
        var results: [Output] = []
        for index in 0..<min(max(0, prefix), count) {
            guard let value = base[index].take() else { break }
            results.append(value)
        }
        return results
    }
}

// @unchecked: each slot is written by the runner that claimed it and read once the map finished.
extension ResultSlots: @unchecked Sendable where Output: Sendable {}
