/// The mutable state of a ``ThreadPool``: its queue, its lifecycle and its workers' counts.
///
/// It has no lock of its own: ``ThreadPoolCore`` holds it under its mutex and changes it only
/// through these methods, with the lock held. Each method is one transition and returns what
/// must happen once the lock is released (signal a worker or a blocked submitter, resume
/// suspended continuations, fail abandoned jobs, run a job); those wake other threads or run
/// the user's code, which must never happen under the lock. No method takes, releases or waits
/// on the lock: the core's waits on its conditions are the only places the lock is let go
/// inside a locked scope. This is swift-nio's pattern (`NIOThreadPool`'s state and actions).
///
/// Lifecycle: `running → shuttingDown → terminated`, or `running → broken` when a worker's
/// initializer fails or a thread cannot start. *Terminated* means what it means for the
/// process pool: shut down, and every worker has exited (``isTerminated``). It is not a case
/// of its own because the last worker's exit, not a call, completes it.
struct ThreadPoolState {
    enum Lifecycle {
        case running
        case shuttingDown
        case broken(PoolError)
    }

    typealias Waiter = CheckedContinuation<Void, Never>

    let name: String
    let maxPending: Int?
    private(set) var lifecycle = Lifecycle.running
    private var queue = RingBuffer<any PoolJob>(capacity: 64)
    private var idleWorkers = 0
    /// Signals sent to idle workers that they have not yet woken for: avoids waking more
    /// workers than there are jobs, and a futex call per submit while they are all busy.
    private var wakeupsInFlight = 0
    private var blockedSubmitters = 0
    private var spaceWaiters = WaiterQueue<Void>()
    private(set) var liveWorkers = 0
    private var exitWaiters: [Waiter] = []
    private var unjoinedThreads: [PlatformThread] = []
    /// Every worker this pool started (never cleared), to recognise calls from inside a task.
    private var workerThreads: [PlatformThread] = []

    init(name: String, maxPending: Int?) {
        self.name = name
        self.maxPending = maxPending
    }

    // MARK: - Observing

    /// Jobs queued and not yet taken by a worker.
    var pendingCount: Int { queue.count }

    var isRunning: Bool {
        if case .running = lifecycle { return true }
        return false
    }

    /// Shut down, and every worker has exited: nothing will run again.
    var isTerminated: Bool {
        if case .shuttingDown = lifecycle { return liveWorkers == 0 }
        return false
    }

    var publicState: ThreadPool.State {
        switch lifecycle {
        case .running: .running
        case .shuttingDown: isTerminated ? .terminated : .shuttingDown
        case .broken(let error): .broken(error)
        }
    }

    /// Whether the calling thread is one of this pool's workers.
    var isCalledFromWorker: Bool { workerThreads.contains { $0.isCurrent } }

    /// The workers not yet joined (their CPU clocks can still be read).
    var workersNotJoined: [PlatformThread] { unjoinedThreads }

    /// Whether a submitter must wait for room: the queue is at `maxPending` and the pool runs.
    var isFull: Bool {
        guard let maxPending else { return false }
        return queue.count >= maxPending && isRunning
    }

    // MARK: - Submitting

    /// Queues `job`; returns whether to signal an idle worker (one that no wake-up is already
    /// on its way to).
    /// - Throws: the pool's ``PoolError`` when it no longer accepts work.
    mutating func submit(_ job: any PoolJob) throws(PoolError) -> Bool {
        guard isRunning else { throw rejection }
        queue.append(job)
        guard idleWorkers > wakeupsInFlight else { return false }
        wakeupsInFlight += 1
        return true
    }

    /// Why a submit is refused once the pool stopped running.
    private var rejection: PoolError {
        if case .broken(let error) = lifecycle { return error }
        return PoolError(
            .shutDown, "thread pool '\(name)' is shut down; submit work before calling shutdown, or create a new pool")
    }

    /// A blocking submitter starts waiting for room on the core's `spaceAvailable` condition.
    mutating func submitterBlocks() { blockedSubmitters += 1 }

    /// A blocking submitter woke (it checks ``isFull`` again).
    mutating func submitterWoke() { blockedSubmitters -= 1 }

    /// A ticket for an async submitter about to wait for room.
    mutating func spaceTicket() -> UInt64 { spaceWaiters.nextTicket() }

    /// Parks a suspended submitter until a worker frees a slot; returns it instead, to be
    /// resumed at once, when there is room already, the pool stopped, or its task was cancelled
    /// (read under the lock by the caller: cancellation is flagged before its handler runs, so
    /// a cancel either finds this continuation parked or happened before the check).
    mutating func parkForSpace(_ ticket: UInt64, _ continuation: Waiter, isCancelled: Bool) -> Waiter? {
        guard isFull, !isCancelled else { return continuation }
        spaceWaiters.park(ticket, continuation)
        return nil
    }

    /// A cancelled submitter's continuation, if still parked, to resume.
    mutating func withdrawSpaceWaiter(_ ticket: UInt64) -> Waiter? { spaceWaiters.withdraw(ticket) }

    // MARK: - Workers

    /// A worker thread started: counted before it can run, so it cannot exit uncounted.
    mutating func workerStarted(_ thread: PlatformThread) {
        liveWorkers += 1
        unjoinedThreads.append(thread)
        workerThreads.append(thread)
    }

    /// Whether a worker finds no job to take.
    var hasNoWork: Bool { queue.isEmpty }

    /// An idle worker goes to sleep on the core's `workAvailable` condition.
    mutating func workerSleeps() { idleWorkers += 1 }

    /// A sleeping worker woke (signalled, or spuriously).
    mutating func workerWoke() {
        idleWorkers -= 1
        if wakeupsInFlight > 0 { wakeupsInFlight -= 1 }
    }

    /// A job taken from the queue, and who to wake now that it left.
    struct Taken {
        let job: any PoolJob
        /// More work is queued and an idle worker has no wake-up coming: chain one.
        let wakeAnotherWorker: Bool
        /// A thread blocked in a bounded `submit` may now find room.
        let wakeBlockedSubmitter: Bool
        /// The first suspended async submitter of a bounded queue, to resume.
        let suspendedSubmitter: Waiter?
    }

    /// Takes the first job (the caller checked ``hasNoWork``).
    mutating func takeJob() -> Taken {
        let job = queue.popFirst()!
        let wakeAnother = !queue.isEmpty && idleWorkers > wakeupsInFlight
        if wakeAnother { wakeupsInFlight += 1 }
        guard maxPending != nil else {
            return Taken(job: job, wakeAnotherWorker: wakeAnother, wakeBlockedSubmitter: false, suspendedSubmitter: nil)
        }
        return Taken(
            job: job, wakeAnotherWorker: wakeAnother, wakeBlockedSubmitter: blockedSubmitters > 0,
            suspendedSubmitter: spaceWaiters.takeFirst())
    }

    /// What a worker's exit leaves to do: when it was the last, wake the blocked `shutdown`
    /// callers and resume the suspended ones.
    struct WorkerExit {
        let wasLast: Bool
        let exitWaiters: [Waiter]
    }

    /// A worker ends (its loop found the pool stopped and the queue empty, or its
    /// initializer failed).
    mutating func workerExited() -> WorkerExit {
        liveWorkers -= 1
        guard liveWorkers == 0 else { return WorkerExit(wasLast: false, exitWaiters: []) }
        defer { exitWaiters = [] }
        return WorkerExit(wasLast: true, exitWaiters: exitWaiters)
    }

    // MARK: - Lifecycle transitions

    /// Jobs taken out of a stopping queue, and the submitters to wake.
    struct Drain {
        /// Fail these jobs with `error` (they never run).
        var jobs: [any PoolJob]
        var error: any Error
        /// Suspended submitters: they resume and find the pool stopped.
        var suspendedSubmitters: [Waiter]
    }

    /// `running → broken`: every queued job fails with `failure`; later submits throw it.
    /// Nil when the pool had already stopped (nothing changes).
    mutating func breakPool(_ failure: PoolError) -> Drain? {
        guard isRunning else { return nil }
        lifecycle = .broken(failure)
        return Drain(jobs: queue.removeAll(), error: failure, suspendedSubmitters: spaceWaiters.takeAll())
    }

    /// `running → shuttingDown`: no new work; queued work still runs unless `cancelPending`.
    mutating func beginShutdown(cancelPending: Bool) -> Drain {
        if isRunning { lifecycle = .shuttingDown }
        return Drain(
            jobs: cancelPending ? queue.removeAll() : [], error: CancellationError(),
            suspendedSubmitters: spaceWaiters.takeAll())
    }

    /// Parks an async `shutdown` until the last worker exits; returns it instead, to be
    /// resumed at once, when none is left.
    mutating func parkUntilWorkersExit(_ continuation: Waiter) -> Waiter? {
        guard liveWorkers > 0 else { return continuation }
        exitWaiters.append(continuation)
        return nil
    }

    /// Hands over the threads to join or detach, once; later calls get none.
    mutating func takeUnjoinedThreads() -> [PlatformThread] {
        defer { unjoinedThreads = [] }
        return unjoinedThreads
    }
}
