import PoolWire
import Synchronization

/// Work submitted to a process pool for one task: a single `submit` or a whole `map`.
///
/// The pool's dispatcher cuts it into batches lazily (so chunk sizes can follow what it learns
/// about the task), and conductors hand each item's reply back to it. The base class is not
/// generic, so the pool's machinery never touches the task's types; ``TaskSource`` holds them.
// @unchecked: its vars are used under the pool's lock; `reportedIndexes` is set before the source is queued.
class WorkSource: @unchecked Sendable {
    let taskName: String
    let signature: String
    let isIdempotent: Bool
    let count: Int
    let fixedChunk: Int?
    /// The indexes the caller knows the inputs by, for errors, when they are not `0..<count`
    /// (a pipeline submits one item at a time; auto mode runs a job in pieces).
    var reportedIndexes: [Int]?
    /// The pool's relative timeout, which learns from each successful call's length (set when
    /// the source is queued).
    var timeLimit: TaskTimeLimit?
    /// The task's name in messages: a wrapper's (`run`'s recorded form) is the task it wraps.
    var displayName: String { taskName }

    /// The index errors give for item `index`.
    func reportedIndex(_ index: Int) -> Int {
        guard let reportedIndexes, reportedIndexes.indices.contains(index) else { return index }
        return reportedIndexes[index]
    }

    // Guarded by the pool's lock.
    var nextIndex = 0
    var retryIndexes: [Int] = []
    var attempts: [Int: Int] = [:]
    /// Smoothed worker time per item, in nanoseconds, once a reply has been seen.
    var nanosPerItem: Double?

    /// Items at this index or above are not started: 0 once the consumer left, the failing
    /// index once an ordered map failed (the items below it still run, so the failure it
    /// reports is the lowest failing input's).
    let dispatchLimit = Atomic<Int>(.max)

    init(taskName: String, signature: String, isIdempotent: Bool, count: Int, fixedChunk: Int?) {
        self.taskName = taskName
        self.signature = signature
        self.isIdempotent = isIdempotent
        self.count = count
        self.fixedChunk = fixedChunk
    }

    /// Starts no more items.
    func stop() { dispatchLimit.store(0, ordering: .relaxed) }

    /// Starts no more items at `index` or above.
    func stop(from index: Int) { dispatchLimit.lower(to: index) }

    /// Whether items remain to be dispatched (pool lock held).
    var hasUndispatched: Bool {
        let limit = dispatchLimit.load(ordering: .relaxed)
        return nextIndex < min(count, limit) || retryIndexes.contains { $0 < limit }
    }

    /// Takes up to `limit` items to dispatch, retries first (pool lock held).
    func take(upTo limit: Int) -> [Int] {
        let stop = dispatchLimit.load(ordering: .relaxed)
        if !retryIndexes.isEmpty {
            retryIndexes.removeAll { $0 >= stop }
            let taken = Array(retryIndexes.prefix(limit))
            retryIndexes.removeFirst(taken.count)
            if !taken.isEmpty { return taken }
        }
        let end = min(count, stop, nextIndex + limit)
        guard nextIndex < end else { return [] }
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
    /// Encodes item `index`'s input into `region` if it fits (returning its size), else into
    /// the request being built (returning nil).
    func encodeInput(_ index: Int, into builder: FrameBuilder, preferring region: UnsafeMutableRawBufferPointer)
        throws -> Int?
    { fatalError("BUG: abstract") }
    /// Item `index`'s encoded size when it is known without encoding (a block of bytes or of
    /// trivial values: `WireEncoder.blockSize(of:)`), else nil.
    func blockSize(ofInput index: Int) -> Int? { nil }
    /// Whether this source's results go to `future`.
    func completes(_ future: AnyObject) -> Bool { false }
    /// Item `index` succeeded with these encoded output bytes.
    func deliver(_ index: Int, output: UnsafeRawBufferPointer) { fatalError("BUG: abstract") }
    /// Item `index` failed.
    func fail(_ index: Int, with error: any Error) { fatalError("BUG: abstract") }
}

/// A ``WorkSource`` for task `Task`: its inputs, and where its results go.
// @unchecked: restates WorkSource's (a subclass must); its own stored properties are lets of Sendable values.
final class TaskSource<Task: PoolTask>: WorkSource, @unchecked Sendable {
    enum Destination {
        case future(Future<Task.Output>)
        case ordered(OrderedResults<Task.Output>)
        case stream(CompletionChannel)
    }

    let inputs: [Task.Input]
    let destination: Destination
    /// Whether the inputs' encoded sizes are known without encoding them.
    private let inputIsBlock = WireEncoder.encodesAsBlock(Task.Input.self)

    override var displayName: String { (Task.self as? any WrappingTask.Type)?.wrappedName ?? Task.name }

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

    override func encodeInput(
        _ index: Int, into builder: FrameBuilder, preferring region: UnsafeMutableRawBufferPointer
    ) throws -> Int? {
        try builder.encode(inputs[index], preferring: region)
    }

    override func completes(_ future: AnyObject) -> Bool {
        if case .future(let own) = destination { return own === future }
        return false
    }

    override func blockSize(ofInput index: Int) -> Int? {
        inputIsBlock ? WireEncoder.blockSize(of: inputs[index]) : nil
    }

    override func deliver(_ index: Int, output: UnsafeRawBufferPointer) {
        do {
            let value = try WireDecoder().decode(Task.Output.self, from: output)
            if let timeLimit, let seconds = (value as? any SuccessfulCallTiming)?.successfulCallSeconds {
                timeLimit.observe(successfulCallSeconds: seconds)
            }
            record(index, .success(value))
        } catch {
            record(index, .failure(error))
        }
    }

    override func fail(_ index: Int, with error: any Error) {
        record(index, .failure(error))
    }

    private func record(_ index: Int, _ outcome: FutureOutcome) {
        var outcome = outcome
        // A recorded task's item failure is its output, so a crash fails that item alone in
        // every caller (auto mode's batches and profiles included), never the job.
        if case .failure(let error) = outcome, let recording = Task.self as? any PoolFailureRecording.Type,
            PoolError.isItemFailure(error)
        {
            outcome = .success(recording.output(recordingPoolFailure: error))
        }
        switch destination {
        case .future(let future):
            future.complete(with: outcome)
        case .ordered(let results):
            results.record(index, outcome) { failing in stop(from: failing) }
        case .stream(let channel):
            channel.push(CompletedItem(index: index, outcome: outcome))
        }
    }
}

/// The results of an ordered process-pool map, filled by conductors and read once `done`.
///
/// A failure completes `done` only once every item below it has finished, keeping the lowest
/// failing index: the error a map reports is that of the first input, in input order, that
/// failed, as a serial loop would report it.
final class OrderedResults<Output: Sendable>: Sendable {
    private struct Progress {
        var finished: [Bool]
        /// Every item below this one has finished.
        var prefix = 0
        var failure: MapError?
        var isDone = false
    }

    let slots: ResultSlots<Output>
    let done = Future<Void>()
    private let progress: Locked<Progress>

    init(count: Int) {
        slots = ResultSlots(count: count)
        progress = Locked(Progress(finished: Array(repeating: false, count: count)))
        if count == 0 { done.complete(with: .success(())) }
    }

    /// Stores one outcome. Once there is a failure, calls `stop` with the lowest failing index
    /// (items at or above it need not start), before `done` completes: a caller woken by the
    /// failure then always finds the work stopped (a shutdown it starts at once must not see
    /// items that are about to be dropped as work still to send).
    func record(_ index: Int, _ outcome: FutureOutcome, stop: (Int) -> Void) {
        if case .success(let value) = outcome { slots.store(value as! Output, at: index) }
        let (completion, failing) = progress.withLock { state -> (Result<Void, MapError>?, Int?) in
            guard !state.isDone, !state.finished[index] else { return (nil, state.failure?.index) }
            state.finished[index] = true
            if case .failure(let error) = outcome, state.failure.map({ index < $0.index }) ?? true {
                state.failure = MapError(index: index, error: error)
            }
            while state.prefix < state.finished.count && state.finished[state.prefix] { state.prefix += 1 }
            if let failure = state.failure, state.prefix > failure.index {
                state.isDone = true
                return (.failure(failure), failure.index)
            }
            if state.prefix == state.finished.count {
                state.isDone = true
                return (.success(()), nil)
            }
            return (nil, state.failure?.index)
        }
        if let failing { stop(failing) }
        switch completion {
        case .success?: done.complete(with: .success(()))
        case .failure(let error)?: done.complete(with: .failure(error))
        case nil: break
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
