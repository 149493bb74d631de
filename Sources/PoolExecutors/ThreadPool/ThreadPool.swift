/// A pool of named operating-system threads that runs closures and returns ``Future``s.
///
/// Use it for work that blocks (I/O, sleeps, remote calls) or computes, when the work scales
/// on threads. The pool owns its threads, so a blocking task never starves Swift's
/// cooperative pool, and async callers never block: every wait has an `async` form that
/// suspends on a continuation.
///
/// ```swift
/// let pool = ThreadPool(workers: 8)
/// let page = try pool.submit { try fetch(url) }
/// let sizes = try pool.map(paths) { try fileSize($0) }     // in input order
/// pool.shutdown()
/// ```
///
/// Lifecycle: ``State/running`` → ``State/shuttingDown`` → ``State/terminated``, or
/// ``State/broken`` when a worker's initializer fails. Submitting to a pool that is not
/// running throws a ``PoolError``. Dropping the last reference shuts the pool down without
/// cancelling queued work; its threads exit when the queue is empty.
public final class ThreadPool: Sendable {
    /// Where a pool is in its life.
    public enum State: Sendable, CustomStringConvertible {
        /// Accepting and running work.
        case running
        /// ``shutdown(wait:cancelPending:)`` was called; queued work is still finishing.
        case shuttingDown
        /// Shut down and every worker has exited. A ``ProcessPool`` uses the word the same way
        /// (shut down, every worker reaped).
        case terminated
        /// A worker's initializer failed or a thread could not start; nothing more will run.
        case broken(PoolError)

        public var description: String {
            switch self {
            case .running: return "running"
            case .shuttingDown: return "shutting down"
            case .terminated: return "terminated"
            case .broken(let error): return "broken (\(error))"
            }
        }
    }

    @usableFromInline let core: ThreadPoolCore

    /// Creates a pool and starts its threads.
    ///
    /// - Parameters:
    ///   - workers: Number of threads; by default the cores this process may use
    ///     (``Machine/usableCores``). For work that mostly waits, use more.
    ///   - name: Prefix of the threads' names (`name-0`, `name-1`, …; Linux keeps 15 bytes).
    ///   - maxPending: If set, at most this many submitted tasks wait in the queue; `submit`
    ///     then blocks (or, from async code, suspends) until a worker takes one. This is the
    ///     backpressure a producer needs when it is faster than the pool.
    ///   - initializer: Runs once on each worker thread, with the worker's index, before that
    ///     worker takes any task. If it throws, the pool becomes ``State/broken``: queued and
    ///     later work fails with a ``PoolError`` whose `underlying` is the initializer's error.
    public init(
        workers: Int = Machine.usableCores,
        name: String = "pool",
        maxPending: Int? = nil,
        initializer: (@Sendable (_ workerIndex: Int) throws -> Void)? = nil
    ) {
        precondition(workers >= 1, "ThreadPool needs at least 1 worker, got \(workers)")
        precondition(maxPending.map { $0 >= 1 } ?? true, "maxPending must be at least 1")
        core = ThreadPoolCore(name: name, workerCount: workers, maxPending: maxPending, initializer: initializer)
        core.startWorkers()
    }

    deinit {
        core.beginShutdown(cancelPending: false)
        core.detachUnjoinedThreads()
    }

    /// Number of worker threads.
    public var workerCount: Int { core.workerCount }

    /// The CPU time the pool's workers have used so far, in seconds: what this pool's threads
    /// computed, whatever other threads of the process do (the auto executor's idle-thread check
    /// reads it). Work that a task hands to threads of its own is not in it.
    package var workersCPUSeconds: Double { Double(core.workersCPUNanoseconds()) / 1e9 }

    /// The name given at creation; worker threads are named after it.
    public var name: String { core.name }

    /// Where the pool is in its lifecycle.
    public var state: State { core.publicState }

    /// Tasks submitted and not yet taken by a worker.
    public var pendingCount: Int { core.pendingCount }

    // MARK: - Submitting

    /// Queues `work` and returns its future at once (or, with `maxPending`, once there is room).
    ///
    /// - Parameter work: The task. What it returns or throws comes back through the future
    ///   unchanged.
    /// - Returns: A future for the task's result.
    /// - Throws: ``PoolError`` with code ``PoolError/Code/shutDown`` after shutdown, or the
    ///   pool's ``PoolError/Code/broken`` error.
    @inlinable
    @discardableResult
    public func submit<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) throws -> Future<Value> {
        let future = Future<Value>(body: { try work() })
        try core.enqueue(future)
        return future
    }

    /// Queues `work`; when the queue is at `maxPending`, suspends the calling task (never
    /// blocking its thread) until there is room.
    ///
    /// - Throws: what the blocking ``submit(_:)-(()->Value)`` throws, and `CancellationError` if
    ///   the calling task is cancelled while waiting for room.
    @inlinable
    @discardableResult
    public func submit<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Future<Value> {
        let future = Future<Value>(body: { try work() })
        try await core.enqueue(future)
        return future
    }

    // MARK: - Shutting down

    /// Stops accepting work and, by default, waits for queued and running work to finish.
    ///
    /// Calling it again is harmless. Called from one of this pool's own tasks it never waits
    /// (a thread cannot wait for itself to exit).
    /// - Parameters:
    ///   - wait: Block until every worker has exited (and its thread is joined).
    ///   - cancelPending: Cancel tasks still in the queue: their futures end with
    ///     `CancellationError` and they never run. Running tasks always complete.
    public func shutdown(wait: Bool = true, cancelPending: Bool = false) {
        core.beginShutdown(cancelPending: cancelPending)
        if wait && !core.isCalledFromWorker {
            core.waitForWorkersToExit()
        }
    }

    /// Stops accepting work and suspends until every worker has exited, without blocking a
    /// cooperative thread.
    /// - Parameter cancelPending: Cancel tasks still in the queue (see the blocking form).
    public func shutdown(cancelPending: Bool = false) async {
        core.beginShutdown(cancelPending: cancelPending)
        await core.waitForWorkersToExit()
    }
}
