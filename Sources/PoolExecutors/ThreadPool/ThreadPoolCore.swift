/// The engine of a ``ThreadPool``: its lock, the conditions its threads sleep on, and the
/// workers' loop.
///
/// The pool's mutable state is one ``ThreadPoolState``, read and changed only inside
/// `lock.withLock`. Each change is a transition of that state which returns an action, and the
/// core runs the action after the lock is released: wake workers, resume continuations, fail
/// jobs, run a job. No function here releases a lock it did not take (a condition wait releases
/// and retakes it within the same scope). Workers hold the core, never the `ThreadPool` facade,
/// so dropping the last reference to the pool can start its shutdown from `deinit`.
///
/// An idle worker first spins for a few microseconds on the state's `queuedHint` (a lock-free
/// copy of the queue length) before it sleeps: a task submitted in that window needs no system
/// call on either side, which is most of the cost of a hand-off on a VM.
@usableFromInline
// @unchecked: `state` is read and written only under `lock`; the other properties are lets of Sendable values.
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
    private let queuedHint: QueueLengthHint

    init(name: String, workerCount: Int, maxPending: Int?, initializer: (@Sendable (Int) throws -> Void)?) {
        self.name = name
        self.workerCount = workerCount
        self.maxPending = maxPending
        self.initializer = initializer
        state = ThreadPoolState(name: name, maxPending: maxPending)
        queuedHint = state.queuedHint
    }

    /// The CPU time the workers not yet joined have used, in nanoseconds. Read under the lock,
    /// which joining takes first to empty the list, so no handle read here has been joined.
    func workersCPUNanoseconds() -> Int64 {
        lock.withLock { state.workersNotJoined.reduce(Int64(0)) { $0 + ($1.cpuNanoseconds() ?? 0) } }
    }

    /// Starts the workers; a thread that cannot start breaks the pool (the others then exit).
    ///
    /// The lock is held while the threads start, so none of them runs before all are counted.
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
        let action = lock.withLock { () -> ThreadPoolState.SubmitAction in
            while state.isFull {
                state.submitterBlocks()
                spaceAvailable.wait(releasing: lock)
                state.submitterUnblocks()
            }
            return state.submit(job)
        }
        try perform(action)
    }

    /// Queues `job`, suspending (never blocking the thread) while the queue is full.
    @usableFromInline
    func enqueue(_ job: any PoolJob) async throws {
        while true {
            switch lock.withLock({ state.submitOrTakeTicket(job) }) {
            case .submitted(let action):
                try perform(action)
                return
            case .waitForSpace(let ticket):
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
    }

    @inline(__always)
    private func perform(_ action: ThreadPoolState.SubmitAction) throws {
        switch action {
        case .none: break
        case .wakeWorker: workAvailable.signal()
        case .reject(let error): throw error
        }
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
                let (drain, exit) = lock.withLock { (state.breakPool(failure), state.workerExited()) }
                if let drain { perform(drain) }
                perform(exit)
                return
            }
        }
        var spun = false
        while true {
            let step = lock.withLock { () -> ThreadPoolState.WorkerStep in
                var step = state.nextWorkerStep(hasSpun: spun)
                while case .sleep = step {
                    workAvailable.wait(releasing: lock)
                    state.workerWoke()
                    step = state.nextWorkerStep(hasSpun: true)
                }
                return step
            }
            switch step {
            case .run(let taken):
                if taken.wakeAnotherWorker { workAvailable.signal() }
                if taken.wakeBlockedSubmitter { spaceAvailable.signal() }
                taken.suspendedSubmitter?.resume()
                taken.job.run()
                spun = false
            case .spin:
                _ = spinBriefly { queuedHint.load() > 0 }
                spun = true
            case .sleep:
                preconditionFailure("BUG: a sleeping worker's step is taken under the lock")
            case .exit(let exit):
                perform(exit)
                return
            }
        }
    }

    private func perform(_ exit: ThreadPoolState.WorkerExit) {
        if exit.wasLast { workersExited.broadcast() }
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

    // MARK: - Stopping

    /// `running → shuttingDown`: no new work; queued work still runs unless `cancelPending`.
    func beginShutdown(cancelPending: Bool) {
        perform(lock.withLock { state.beginShutdown(cancelPending: cancelPending) })
    }

    /// Whether the calling thread is one of this pool's workers.
    var isCalledFromWorker: Bool {
        lock.withLock { state.isCalledFromWorker }
    }

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
