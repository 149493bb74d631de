internal import PoolSystem
import Synchronization

/// The engine of a ``ThreadPool``: its lock, the conditions its threads sleep on, and the
/// workers' loop.
///
/// The pool's mutable state is one ``ThreadPoolState``, read and changed only with `lock`
/// held. Each change is a transition of that state that returns what to do next, and the core
/// does it after releasing the lock: signal a worker or a submitter, resume continuations,
/// fail jobs, run a job. Every function here takes and releases the lock in its own scope
/// (a condition wait lets it go and retakes it within that scope). Workers hold the core,
/// never the `ThreadPool` facade, so dropping the last reference to the pool can start its
/// shutdown from `deinit`.
///
/// An idle worker first spins for a few microseconds on `queuedHint` (a lock-free copy of
/// the queue length) before it sleeps: a task submitted in that window needs no system call
/// on either side, which is most of the cost of a hand-off on a VM.
@usableFromInline
// @unchecked: `state` is read and written only under `lock` (`queuedHint`, read without it, is an Atomic).
final class ThreadPoolCore: @unchecked Sendable {
    let name: String
    let workerCount: Int
    let maxPending: Int?
    private let initializer: (@Sendable (Int) throws -> Void)?

    private let lock = ConditionLock()
    private let workAvailable = Condition()
    private let spaceAvailable = Condition()
    private let workersExited = Condition()
    private var state: ThreadPoolState
    /// The queue's length, stored under the lock after each change and read without it.
    private let queuedHint = Atomic<Int>(0)

    init(name: String, workerCount: Int, maxPending: Int?, initializer: (@Sendable (Int) throws -> Void)?) {
        self.name = name
        self.workerCount = workerCount
        self.maxPending = maxPending
        self.initializer = initializer
        state = ThreadPoolState(name: name, maxPending: maxPending)
    }

    /// Publishes the queue's length for spinning workers; called with the lock held.
    @inline(__always)
    private func publishQueueLength() {
        queuedHint.store(state.pendingCount, ordering: .relaxed)
    }

    /// The CPU time the workers not yet joined have used, in nanoseconds. Read under the lock,
    /// which joining takes first to empty the list, so no handle read here has been joined.
    func workersCPUNanoseconds() -> Int64 {
        lock.withLock { state.workersNotJoined.reduce(Int64(0)) { $0 + ($1.cpuNanoseconds() ?? 0) } }
    }

    /// Starts the workers; a thread that cannot start breaks the pool (the others then exit).
    /// The lock is held while they start, so none of them runs before all are counted.
    func startWorkers() {
        let drain = lock.withLock { () -> ThreadPoolState.Drain? in
            for index in 0..<workerCount {
                do {
                    let thread = try PlatformThread.start(name: "\(name)-\(index)") { [self] in
                        workerMain(index: index)
                    }
                    state.workerStarted(thread)
                } catch {
                    let failure = PoolError(
                        .broken, "thread pool '\(name)' could not start worker \(index)",
                        underlying: error, workerIndex: index)
                    defer { publishQueueLength() }
                    return state.breakPool(failure)
                }
            }
            return nil
        }
        if let drain { perform(drain) }
    }

    // MARK: - Submitting

    /// Queues `job`, blocking while the queue is at `maxPending`.
    /// - Throws: ``PoolError`` when the pool is shut down or broken.
    @usableFromInline
    func enqueue(_ job: any PoolJob) throws {
        let wake = try lock.withLock {
            while state.isFull {
                state.submitterBlocks()
                spaceAvailable.wait(releasing: lock)
                state.submitterWoke()
            }
            return try append(job)
        }
        if wake { workAvailable.signal() }
    }

    /// Queues `job`, suspending (never blocking the thread) while the queue is full.
    @usableFromInline
    func enqueue(_ job: any PoolJob) async throws {
        while true {
            let (ticket, wake) = try lock.withLock { () throws -> (UInt64?, Bool) in
                if state.isFull { return (state.spaceTicket(), false) }
                return (nil, try append(job))
            }
            guard let ticket else {
                if wake { workAvailable.signal() }
                return
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    // `Task.isCancelled` is read under the lock (see `parkForSpace`).
                    lock.withLock {
                        state.parkForSpace(ticket, continuation, isCancelled: Task.isCancelled)
                    }?.resume()
                }
            } onCancel: {
                lock.withLock { state.withdrawSpaceWaiter(ticket) }?.resume()
            }
            try Task.checkCancellation()
        }
    }

    /// Queues `job` with the lock held (it stays held); returns whether to signal a worker.
    @inline(__always)
    private func append(_ job: any PoolJob) throws(PoolError) -> Bool {
        defer { publishQueueLength() }
        return try state.submit(job)
    }

    // MARK: - Workers

    private func workerMain(index: Int) {
        if let initializer {
            do {
                try initializer(index)
            } catch {
                let failure = PoolError(
                    .broken, "thread pool '\(name)' is broken: the initializer failed on worker \(index)",
                    underlying: error, workerIndex: index)
                let (drain, exit) = lock.withLock {
                    defer { publishQueueLength() }
                    return (state.breakPool(failure), state.workerExited())
                }
                if let drain { perform(drain) }
                perform(exit)
                return
            }
        }
        // The lock is held from here to each job's start and from its end to the next: a worker
        // that finds more work takes it without letting the lock go in between.
        lock.lock()
        while true {
            var spun = false
            while state.hasNoWork {
                guard state.isRunning else {
                    let exit = state.workerExited()
                    lock.unlock()
                    perform(exit)
                    return
                }
                if !spun {
                    spun = true
                    lock.unlock()
                    _ = spinBriefly { queuedHint.load(ordering: .relaxed) > 0 }
                    lock.lock()
                    continue
                }
                state.workerSleeps()
                workAvailable.wait(releasing: lock)
                state.workerWoke()
            }
            let taken = state.takeJob()
            publishQueueLength()
            lock.unlock()
            if taken.wakeAnotherWorker { workAvailable.signal() }
            if taken.wakeBlockedSubmitter { spaceAvailable.signal() }
            taken.suspendedSubmitter?.resume()
            taken.job.run()
            lock.lock()
        }
    }

    /// After the last worker's exit: wake blocked `shutdown` callers, resume suspended ones.
    private func perform(_ exit: ThreadPoolState.WorkerExit) {
        guard exit.wasLast else { return }
        workersExited.broadcast()
        for waiter in exit.exitWaiters { waiter.resume() }
    }

    /// Wakes every sleeping thread to see the pool stopped, then resumes suspended submitters
    /// and fails the jobs that will not run (completing futures runs user callbacks: never
    /// under the lock).
    private func perform(_ drain: ThreadPoolState.Drain) {
        workAvailable.broadcast()
        spaceAvailable.broadcast()
        for waiter in drain.suspendedSubmitters { waiter.resume() }
        for job in drain.jobs { job.abandon(with: drain.error) }
    }

    // MARK: - Lifecycle transitions

    /// `running → shuttingDown`: no new work; queued work still runs unless `cancelPending`.
    func beginShutdown(cancelPending: Bool) {
        perform(
            lock.withLock {
                defer { publishQueueLength() }
                return state.beginShutdown(cancelPending: cancelPending)
            })
    }

    /// Whether the calling thread is one of this pool's workers.
    var isCalledFromWorker: Bool { lock.withLock { state.isCalledFromWorker } }

    /// Blocks until every worker has exited, then joins them.
    func waitForWorkersToExit() {
        let threads = lock.withLock {
            while state.liveWorkers > 0 { workersExited.wait(releasing: lock) }
            return state.takeUnjoinedThreads()
        }
        for thread in threads { thread.join() }
    }

    /// Suspends until every worker has exited, then joins them (they have already returned,
    /// so the join is immediate and does not hold up the cooperative thread).
    func waitForWorkersToExit() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.withLock { state.parkUntilWorkersExit(continuation) }?.resume()
        }
        let threads = lock.withLock { state.takeUnjoinedThreads() }
        for thread in threads { thread.join() }
    }

    /// Lets workers nobody will join release themselves when they exit (pool dropped
    /// without a waiting shutdown).
    func detachUnjoinedThreads() {
        let threads = lock.withLock { state.takeUnjoinedThreads() }
        for thread in threads { thread.detach() }
    }

    // MARK: - Observing

    /// The lifecycle as the public enum.
    var publicState: ThreadPool.State { lock.withLock { state.publicState } }

    var pendingCount: Int { lock.withLock { state.pendingCount } }
}
