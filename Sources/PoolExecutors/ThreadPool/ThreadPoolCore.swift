import Synchronization

/// The shared state of a ``ThreadPool``: the pending queue, the lifecycle and the workers.
///
/// Everything below is guarded by `lock`. Workers hold the core, never the `ThreadPool`
/// facade, so dropping the last reference to the pool can start its shutdown from `deinit`.
///
/// An idle worker first spins for a few microseconds on `queuedHint` (a lock-free copy of
/// the queue length) before it sleeps: a task submitted in that window needs no system call
/// on either side, which is most of the cost of a hand-off on a VM.
///
/// Lifecycle: `running → shuttingDown → terminated`, or `running → broken` when a worker's
/// initializer fails or a thread cannot start. Every transition happens in this file.
@usableFromInline
// @unchecked: every var is read and written under `lock` (`queuedHint`, read without it, is an Atomic).
final class ThreadPoolCore: @unchecked Sendable {
    enum Lifecycle {
        case running
        case shuttingDown
        case broken(PoolError)
    }

    let name: String
    let workerCount: Int
    let maxPending: Int?
    private let initializer: (@Sendable (Int) throws -> Void)?

    private let lock = ConditionLock()
    private let workAvailable = Condition()
    private let spaceAvailable = Condition()
    private let workersExited = Condition()

    private var queue = RingBuffer<any PoolJob>(capacity: 64) {
        didSet { queuedHint.store(queue.count, ordering: .relaxed) }
    }
    private let queuedHint = Atomic<Int>(0)
    private var lifecycle = Lifecycle.running
    private var idleWorkers = 0
    /// Signals sent to idle workers that they have not yet woken for: avoids waking more
    /// workers than there are jobs, and a futex call per submit while they are all busy.
    private var wakeupsInFlight = 0
    private var blockedSubmitters = 0
    private var spaceWaiters = WaiterQueue<Void>()
    private var liveWorkers = 0
    private var exitWaiters: [CheckedContinuation<Void, Never>] = []
    private var unjoinedThreads: [PlatformThread] = []
    /// Every worker this pool started (never cleared), to recognise calls from inside a task.
    private var workerThreads: [PlatformThread] = []

    init(name: String, workerCount: Int, maxPending: Int?, initializer: (@Sendable (Int) throws -> Void)?) {
        self.name = name
        self.workerCount = workerCount
        self.maxPending = maxPending
        self.initializer = initializer
    }

    /// The CPU time the workers not yet joined have used, in nanoseconds. Read under the lock,
    /// which joining takes first to empty the list, so no handle read here has been joined.
    func workersCPUNanoseconds() -> Int64 {
        lock.withLock { unjoinedThreads.reduce(Int64(0)) { $0 + ($1.cpuNanoseconds() ?? 0) } }
    }

    /// Starts the workers; a thread that cannot start breaks the pool (the others then exit).
    func startWorkers() {
        lock.lock()
        defer { lock.unlock() }
        for index in 0..<workerCount {
            do {
                let thread = try PlatformThread.start(name: "\(name)-\(index)") { [self] in
                    workerMain(index: index)
                }
                liveWorkers += 1
                unjoinedThreads.append(thread)
                workerThreads.append(thread)
            } catch {
                let failure = PoolError(
                    .broken, "thread pool '\(name)' could not start worker \(index)",
                    underlying: error, workerIndex: index)
                breakLocked(failure)
                return
            }
        }
    }

    // MARK: - Submitting

    /// Queues `job`, blocking while the queue is at `maxPending`.
    /// - Throws: ``PoolError`` when the pool is shut down or broken.
    @usableFromInline
    func enqueue(_ job: any PoolJob) throws {
        lock.lock()
        if let maxPending {
            while queue.count >= maxPending, case .running = lifecycle {
                blockedSubmitters += 1
                spaceAvailable.wait(releasing: lock)
                blockedSubmitters -= 1
            }
        }
        try appendLocked(job)
    }

    /// Queues `job`, suspending (never blocking the thread) while the queue is full.
    @usableFromInline
    func enqueue(_ job: any PoolJob) async throws {
        while true {
            lock.lock()
            if let maxPending, queue.count >= maxPending, case .running = lifecycle {
                let ticket = spaceWaiters.nextTicket()
                lock.unlock()
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        lock.lock()
                        // Cancellation is flagged before its handler runs: checking it under
                        // the lock means a cancel either sees this continuation parked or
                        // happened before this check.
                        if queue.count < maxPending || !isRunningLocked || Task.isCancelled {
                            lock.unlock()
                            continuation.resume()
                        } else {
                            spaceWaiters.park(ticket, continuation)
                            lock.unlock()
                        }
                    }
                } onCancel: {
                    lock.withLock { spaceWaiters.withdraw(ticket) }?.resume()
                }
                try Task.checkCancellation()
                continue
            }
            try appendLocked(job)
            return
        }
    }

    /// Appends under the lock held by the caller, then releases it and wakes a worker.
    private func appendLocked(_ job: any PoolJob) throws {
        if let rejection = rejectionLocked() {
            lock.unlock()
            throw rejection
        }
        queue.append(job)
        let wake = idleWorkers > wakeupsInFlight
        if wake { wakeupsInFlight += 1 }
        lock.unlock()
        if wake { workAvailable.signal() }
    }

    private var isRunningLocked: Bool {
        if case .running = lifecycle { return true }
        return false
    }

    private func rejectionLocked() -> PoolError? {
        switch lifecycle {
        case .running:
            return nil
        case .shuttingDown:
            return PoolError(
                .shutDown,
                "thread pool '\(name)' is shut down; submit work before calling shutdown, or create a new pool")
        case .broken(let error):
            return error
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
                lock.lock()
                breakLocked(failure)
                workerExitLocked()
                return
            }
        }
        lock.lock()
        while true {
            var spun = false
            while queue.isEmpty {
                guard isRunningLocked else {
                    workerExitLocked()
                    return
                }
                if !spun {
                    spun = true
                    lock.unlock()
                    _ = spinBriefly { queuedHint.load(ordering: .relaxed) > 0 }
                    lock.lock()
                    continue
                }
                idleWorkers += 1
                workAvailable.wait(releasing: lock)
                idleWorkers -= 1
                if wakeupsInFlight > 0 { wakeupsInFlight -= 1 }
            }
            let job = queue.popFirst()!
            // Chain the wake-up: more work queued and idle workers nobody has woken yet.
            let wakeAnother = !queue.isEmpty && idleWorkers > wakeupsInFlight
            if wakeAnother { wakeupsInFlight += 1 }
            let freed = freeSlotLocked()
            lock.unlock()
            if wakeAnother { workAvailable.signal() }
            freed?.resume()
            job.run()
            lock.lock()
        }
    }

    /// After a job leaves a bounded queue: wake one blocked submitter, or hand back one
    /// suspended async submitter for the caller to resume outside the lock.
    private func freeSlotLocked() -> CheckedContinuation<Void, Never>? {
        guard maxPending != nil else { return nil }
        if blockedSubmitters > 0 { spaceAvailable.signal() }
        return spaceWaiters.takeFirst()
    }

    /// Called with the lock held; releases it.
    private func workerExitLocked() {
        liveWorkers -= 1
        var waiters: [CheckedContinuation<Void, Never>] = []
        if liveWorkers == 0 {
            waiters = exitWaiters
            exitWaiters = []
            workersExited.broadcast()
        }
        lock.unlock()
        for waiter in waiters { waiter.resume() }
    }

    // MARK: - Lifecycle transitions

    /// `running → broken`: every queued job fails with `failure`; later submits throw it.
    private func breakLocked(_ failure: PoolError) {
        guard isRunningLocked else { return }
        lifecycle = .broken(failure)
        let abandoned = queue.removeAll()
        let suspended = spaceWaiters.takeAll()
        workAvailable.broadcast()
        spaceAvailable.broadcast()
        // Completing futures runs user callbacks: never under our lock.
        lock.unlock()
        for job in abandoned { job.abandon(with: failure) }
        for waiter in suspended { waiter.resume() }
        lock.lock()
    }

    /// `running → shuttingDown`: no new work; queued work still runs unless `cancelPending`.
    func beginShutdown(cancelPending: Bool) {
        lock.lock()
        if isRunningLocked { lifecycle = .shuttingDown }
        let cancelled = cancelPending ? queue.removeAll() : []
        let suspended = spaceWaiters.takeAll()
        lock.unlock()
        workAvailable.broadcast()
        spaceAvailable.broadcast()
        for waiter in suspended { waiter.resume() }
        for job in cancelled { job.abandon(with: CancellationError()) }
    }

    /// Whether the calling thread is one of this pool's workers.
    var isCalledFromWorker: Bool {
        lock.withLock { workerThreads.contains { $0.isCurrent } }
    }

    /// Blocks until every worker has exited, then joins them.
    func waitForWorkersToExit() {
        lock.lock()
        while liveWorkers > 0 { workersExited.wait(releasing: lock) }
        let threads = unjoinedThreads
        unjoinedThreads = []
        lock.unlock()
        for thread in threads { thread.join() }
    }

    /// Suspends until every worker has exited, then joins them (they have already returned,
    /// so the join is immediate and does not hold up the cooperative thread).
    func waitForWorkersToExit() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if liveWorkers == 0 {
                lock.unlock()
                continuation.resume()
            } else {
                exitWaiters.append(continuation)
                lock.unlock()
            }
        }
        let threads = lock.withLock {
            defer { unjoinedThreads = [] }
            return unjoinedThreads
        }
        for thread in threads { thread.join() }
    }

    /// Lets workers nobody will join release themselves when they exit (pool dropped
    /// without a waiting shutdown).
    func detachUnjoinedThreads() {
        let threads = lock.withLock {
            defer { unjoinedThreads = [] }
            return unjoinedThreads
        }
        for thread in threads { thread.detach() }
    }

    // MARK: - Observing

    /// The lifecycle as the public enum.
    var publicState: ThreadPool.State {
        lock.withLock {
            switch lifecycle {
            case .running: return .running
            case .shuttingDown: return liveWorkers == 0 ? .terminated : .shuttingDown
            case .broken(let error): return .broken(error)
            }
        }
    }

    var pendingCount: Int { lock.withLock { queue.count } }
}
