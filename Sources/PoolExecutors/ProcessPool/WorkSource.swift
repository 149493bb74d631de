import PoolWire
import Synchronization

/// Work submitted to a process pool for one task: a single `submit` or a whole `map`.
///
/// The pool's dispatcher cuts it into batches lazily (so chunk sizes can follow what it learns
/// about the task), and conductors hand each item's reply back to it. The base class is not
/// generic, so the pool's machinery never touches the task's types; ``TaskSource`` holds them.
class WorkSource: @unchecked Sendable {
    let taskName: String
    let signature: String
    let isIdempotent: Bool
    let count: Int
    let fixedChunk: Int?

    // Guarded by the pool's lock.
    var nextIndex = 0
    var retryIndexes: [Int] = []
    var attempts: [Int: Int] = [:]
    /// Smoothed worker time per item, in nanoseconds, once a reply has been seen.
    var nanosPerItem: Double?

    /// Set when no more items should start: the consumer left or the map already failed.
    let stopped = Atomic<Bool>(false)

    init(taskName: String, signature: String, isIdempotent: Bool, count: Int, fixedChunk: Int?) {
        self.taskName = taskName
        self.signature = signature
        self.isIdempotent = isIdempotent
        self.count = count
        self.fixedChunk = fixedChunk
    }

    /// Whether items remain to be dispatched (pool lock held).
    var hasUndispatched: Bool {
        !stopped.load(ordering: .relaxed) && (!retryIndexes.isEmpty || nextIndex < count)
    }

    /// Takes up to `limit` items to dispatch, retries first (pool lock held).
    func take(upTo limit: Int) -> [Int] {
        if !retryIndexes.isEmpty {
            let taken = Array(retryIndexes.prefix(limit))
            retryIndexes.removeFirst(taken.count)
            return taken
        }
        let end = min(count, nextIndex + limit)
        defer { nextIndex = end }
        return Array(nextIndex..<end).filter(claimForDispatch)
    }

    /// Takes every undispatched item (pool lock held), for failing them all at once.
    func takeAll() -> [Int] {
        let taken = retryIndexes + Array(nextIndex..<count)
        retryIndexes = []
        nextIndex = count
        return taken
    }

    /// Records one worker reply's timing: an exponentially weighted average per item.
    func observe(busyNanoseconds: UInt64, items: Int) {
        guard items > 0 else { return }
        let sample = Double(busyNanoseconds) / Double(items)
        nanosPerItem = nanosPerItem.map { $0 * 0.7 + sample * 0.3 } ?? sample
    }

    // MARK: Overridden by TaskSource

    /// Claims item `index` for a worker: `false` if it no longer needs running (its future was
    /// cancelled). Pool lock held.
    func claimForDispatch(_ index: Int) -> Bool { true }
    /// Encodes item `index`'s input into the request being built.
    func encodeInput(_ index: Int, into builder: FrameBuilder) throws { fatalError("BUG: abstract") }
    /// Item `index` succeeded with these encoded output bytes.
    func deliver(_ index: Int, output: UnsafeRawBufferPointer) { fatalError("BUG: abstract") }
    /// Item `index` failed.
    func fail(_ index: Int, with error: any Error) { fatalError("BUG: abstract") }
}

/// A ``WorkSource`` for task `Task`: its inputs, and where its results go.
final class TaskSource<Task: PoolTask>: WorkSource, @unchecked Sendable {
    enum Destination {
        case future(Future<Task.Output>)
        case ordered(OrderedResults<Task.Output>)
        case stream(CompletionChannel)
    }

    let inputs: [Task.Input]
    let destination: Destination

    init(_ task: Task.Type, inputs: [Task.Input], chunkSize: Int?, destination: Destination) {
        self.inputs = inputs
        self.destination = destination
        super.init(
            taskName: Task.name, signature: TaskSignature.of(task), isIdempotent: Task.isIdempotent,
            count: inputs.count, fixedChunk: chunkSize)
    }

    /// A single submit's future becomes running here, so `cancel()` stops it only while queued.
    override func claimForDispatch(_ index: Int) -> Bool {
        if case .future(let future) = destination { return future.markRunning() }
        return true
    }

    override func encodeInput(_ index: Int, into builder: FrameBuilder) throws {
        try builder.encode(inputs[index])
    }

    override func deliver(_ index: Int, output: UnsafeRawBufferPointer) {
        do {
            let value = try WireDecoder().decode(Task.Output.self, from: output)
            record(index, .success(value))
        } catch {
            record(index, .failure(error))
        }
    }

    override func fail(_ index: Int, with error: any Error) {
        record(index, .failure(error))
    }

    private func record(_ index: Int, _ outcome: FutureOutcome) {
        switch destination {
        case .future(let future):
            future.complete(with: outcome)
        case .ordered(let results):
            if !results.record(index, outcome) { stopped.store(true, ordering: .relaxed) }
        case .stream(let channel):
            channel.push(CompletedItem(index: index, outcome: outcome))
        }
    }
}

/// The results of an ordered process-pool map, filled by conductors and read once `done`.
final class OrderedResults<Output: Sendable>: @unchecked Sendable {
    let slots: ResultSlots<Output>
    let done = Future<Void>()
    private let remaining: Locked<Int>

    init(count: Int) {
        slots = ResultSlots(count: count)
        remaining = Locked(count)
        if count == 0 { done.complete(with: .success(())) }
    }

    /// Stores one outcome; returns `false` once the map has failed (stop dispatching).
    func record(_ index: Int, _ outcome: FutureOutcome) -> Bool {
        switch outcome {
        case .success(let value):
            slots.store(value as! Output, at: index)
            let last = remaining.withLock {
                $0 -= 1
                return $0 == 0
            }
            if last { done.complete(with: .success(())) }
            return true
        case .failure(let error):
            done.complete(with: .failure(MapError(index: index, error: error)))
            return false
        }
    }
}

/// Items of one source sent to one worker in one request.
final class Batch {
    let id: UInt64
    let source: WorkSource
    let indexes: [Int]
    /// Items answered so far (workers answer in order).
    var answered = 0

    init(id: UInt64, source: WorkSource, indexes: [Int]) {
        self.id = id
        self.source = source
        self.indexes = indexes
    }
}
