import PoolWire
import Synchronization

/// A pool of worker processes that run ``PoolTask``s: Python's `ProcessPoolExecutor`, with
/// typed tasks, cheap start-up, and crashes that cost one task instead of the pool.
///
/// Workers are this executable (or one named in ``Configuration/executable``), started with
/// `posix_spawn` and turned into workers by ``WorkerEntry/runIfWorker(tasks:)`` at the top of
/// `main`. Inputs and outputs cross over pipes encoded with PoolWire.
///
/// ```swift
/// let pool = try ProcessPool(workers: 4)
/// let sum = try pool.submit(Checksum.self, "/data/a.bin").result()
/// let sums = try pool.map(Checksum.self, paths)            // input order; automatic chunks
/// for try await item in try pool.mapUnordered(Checksum.self, paths) { … }
/// pool.shutdown()
/// ```
///
/// **Failures.** An error thrown by a task arrives as ``RemoteTaskError`` (type name, message,
/// input index) and the worker keeps serving. A worker that dies — a signal, `fatalError`,
/// `exit` — fails only the item it was running, with a ``PoolError`` of code
/// ``PoolError/Code/workerCrashed`` naming the pid, the signal or status and the input index;
/// items it had not started go to other workers, and a replacement worker starts. Items that
/// exceed ``Configuration/taskTimeout`` fail with ``PoolError/Code/taskTimedOut``.
///
/// **Stopping.** ``shutdown(wait:cancelPending:)`` lets queued work finish; ``terminate()`` kills
/// the workers and fails what they held. Either way the pool ends *terminated*, the word meaning
/// what ``ThreadPool/State/terminated`` means: shut down, and every worker has exited (here:
/// been reaped). `shutdown(wait: true)` and `terminate()` return once it is.
///
/// **Hygiene.** Every descriptor is close-on-exec, workers get only their protocol pipes and
/// the standard streams (stdin is `/dev/null`), `SIGPIPE` is ignored unless the program handles
/// it, only the pool's own pids are reaped, and workers exit when their request pipe closes, so
/// killing the parent leaves none behind.
public final class ProcessPool: Sendable {
    let core: ProcessPoolCore

    /// The pool's settings.
    public var configuration: Configuration { core.configuration }

    /// Starts `workers` worker processes (default: the usable core count) with default settings.
    ///
    /// Workers start in the background; the first submission waits for the first to be ready.
    /// - Throws: ``PoolError`` when called inside a worker process (pools do not nest), or when
    ///   the conductor threads cannot be created. A worker that cannot start fails the pool and
    ///   every submission with a ``PoolError/Code/workerStartFailed`` error naming the cause.
    public convenience init(workers: Int? = nil) throws {
        try self.init(configuration: Configuration(workers: workers))
    }

    /// Starts a pool with `configuration`.
    public init(configuration: Configuration) throws {
        try WorkerEntry.checkPoolCreationAllowed()
        try configuration.validate()
        Processes.ignoreBrokenPipeSignals()
        core = ProcessPoolCore(configuration: configuration, launch: try WorkerLaunch(configuration: configuration))
        try core.startConductors()
    }

    deinit {
        core.beginShutdown(cancelPending: false)
        core.detachConductors()
    }

    // MARK: Submitting

    /// Runs `task` on `input` in a worker process.
    ///
    /// Never blocks: the input is encoded when a worker has room for it.
    /// - Returns: a future with the task's output, a ``RemoteTaskError`` if it threw, or a
    ///   ``PoolError`` if its worker crashed or timed out.
    /// - Throws: ``PoolError`` if the pool is shut down or broken.
    public func submit<Task: PoolTask>(_ task: Task.Type, _ input: Task.Input) throws -> Future<Task.Output> {
        try submit(task, input, inputIndex: 0)
    }

    /// ``submit(_:_:)`` for an input the caller knows as `inputIndex` of a larger job: the
    /// errors of a crash, timeout or throw name that index.
    package func submit<Task: PoolTask>(_ task: Task.Type, _ input: Task.Input, inputIndex: Int) throws
        -> Future<Task.Output>
    {
        // A thread blocked on the result reads the reply itself if it arrives while it spins.
        let future = Future<Task.Output>(receiveWhileWaiting: { [weak core] in core?.receiveReply(of: $0) })
        let source = TaskSource(task, inputs: [input], chunkSize: 1, destination: .future(future))
        source.reportedIndexes = [inputIndex]
        try core.enqueue(source)
        return future
    }

    /// Runs `task` on every input and returns the outputs in input order, blocking until done.
    ///
    /// - Parameter chunkSize: inputs per request. `nil` (the default) starts with single items
    ///   and then sizes batches to about 2 ms of worker time each, never so large that fewer
    ///   than four batches per worker remain.
    /// - Throws: ``MapError`` with the index and error of the lowest failing input: once an item
    ///   fails, items above it are not started and the items below it finish first, so the
    ///   error is the one a serial loop would have met first. ``PoolError`` if the pool is shut
    ///   down or broken.
    public func map<Task: PoolTask>(_ task: Task.Type, _ inputs: some Collection<Task.Input>, chunkSize: Int? = nil)
        throws -> [Task.Output]
    {
        let results = try startOrderedMap(task, Array(inputs), chunkSize: chunkSize)
        try results.done.result()
        return results.slots.collect()
    }

    /// Runs `task` on every input and returns the outputs in input order, suspending (never
    /// blocking a cooperative thread) until done.
    public func map<Task: PoolTask>(_ task: Task.Type, _ inputs: some Collection<Task.Input>, chunkSize: Int? = nil)
        async throws -> [Task.Output]
    {
        let results = try startOrderedMap(task, Array(inputs), chunkSize: chunkSize)
        try await results.done.value
        return results.slots.collect()
    }

    private func startOrderedMap<Task: PoolTask>(_ task: Task.Type, _ inputs: [Task.Input], chunkSize: Int?) throws
        -> OrderedResults<Task.Output>
    {
        let results = OrderedResults<Task.Output>(count: inputs.count)
        if !inputs.isEmpty {
            try core.enqueue(TaskSource(task, inputs: inputs, chunkSize: chunkSize, destination: .ordered(results)))
        }
        return results
    }

    /// Runs `task` on every input and yields each result as it completes, with its input index.
    ///
    /// Iterate with `for await` or, on your own thread, through `.blocking`. Dropping or
    /// cancelling the stream stops items not yet sent.
    public func mapUnordered<Task: PoolTask>(
        _ task: Task.Type, _ inputs: some Collection<Task.Input>, chunkSize: Int? = nil
    ) throws -> Completions<Task.Output> {
        try mapUnordered(task, inputs, chunkSize: chunkSize, reportingIndexes: nil)
    }

    /// ``mapUnordered(_:_:chunkSize:)`` for inputs the caller knows by `reportingIndexes` (one
    /// per input) in a larger job: errors name those indexes; completions keep positions.
    package func mapUnordered<Task: PoolTask>(
        _ task: Task.Type, _ inputs: some Collection<Task.Input>, chunkSize: Int?, reportingIndexes: [Int]?
    ) throws -> Completions<Task.Output> {
        let inputs = Array(inputs)
        // The channel's stop callback must reach the source, which is created after it.
        let stop = Locked<WorkSource?>(nil)
        let channel = CompletionChannel(
            expecting: inputs.count, stopWork: { stop.withLock { $0 }?.stop() },
            stopStarting: { [core] in
                if let source = stop.withLock({ $0 }) { core.cancelUndispatched(source) }
            })
        let source = TaskSource(task, inputs: inputs, chunkSize: chunkSize, destination: .stream(channel))
        source.reportedIndexes = reportingIndexes
        stop.withLock { $0 = source }
        if !inputs.isEmpty { try core.enqueue(source) }
        return Completions(channel: channel)
    }

    // MARK: Stopping

    /// Stops accepting work and lets the workers exit once the queue is done.
    ///
    /// - Parameters:
    ///   - wait: block until every worker has exited and been reaped.
    ///   - cancelPending: fail queued items that were not sent with `CancellationError`;
    ///     items already in workers still complete.
    public func shutdown(wait: Bool = true, cancelPending: Bool = false) {
        core.beginShutdown(cancelPending: cancelPending)
        if wait { core.waitForConductors() }
    }

    /// Stops accepting work and suspends until every worker has exited and been reaped.
    public func shutdown(cancelPending: Bool = false) async {
        core.beginShutdown(cancelPending: cancelPending)
        let core = self.core
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            do {
                let thread = try PlatformThread.start(name: "\(core.configuration.name)-stop") {
                    core.waitForConductors()
                    continuation.resume()
                }
                thread.detach()
            } catch {
                core.waitForConductors()  // no thread to spare: wait here rather than leak
                continuation.resume()
            }
        }
    }

    /// Kills every worker now (`SIGKILL`) and fails everything queued or running with
    /// ``PoolError/Code/shutDown``; returns once all workers are reaped, the pool terminated.
    public func terminate() {
        core.terminate()
        core.waitForConductors()
    }

    /// The pids of the workers currently serving, in slot order.
    public var workerProcessIDs: [Int32] { core.workerProcessIDs }

    /// Bytes of memory the workers' shared-memory arenas hold now: pages taken by large values
    /// in flight, and those kept warm for the next ones.
    public var sharedMemoryBytesInUse: Int { core.sharedMemoryAllocatedBytes }
}
