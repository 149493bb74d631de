import Synchronization

/// The mutable state of a ``ThreadPool``: its queue, its lifecycle and the count of its workers
/// in each phase (idle, woken, exited).
///
/// It has no lock of its own. ``ThreadPoolCore`` keeps it under its mutex and changes it only
/// inside the lock's scope, through the mutating methods below. Each method is one transition
/// and returns what must happen once the lock is released (wake workers, resume suspended
/// submitters, fail abandoned jobs, run a job): those run other threads or the user's code, and
/// must never run under the lock. This is swift-nio's pattern (`NIOThreadPool` and its state
/// machines): the state decides, the core acts.
///
/// Lifecycle: `running → shuttingDown → terminated`, or `running → broken` when a worker's
/// initializer fails or a thread cannot start. *Terminated* means what it means for the
/// process pool: shut down, and every worker has exited (``isTerminated``); it is not a case of
/// its own because the last worker's exit, not a call, completes it. Every transition of
/// `lifecycle` is in this file.
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
    private var queue = RingBuffer<any PoolJob>(capacity: 64) {
        didSet { queuedHint.store(queue.count) }
    }
    /// The queue's length, published for workers that spin without the lock.
    let queuedHint = QueueLengthHint()
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
        case .running: return .running
        case .shuttingDown: return isTerminated ? .terminated : .shuttingDown
        case .broken(let error): return .broken(error)
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

    /// What a submitter does once the lock is released.
    enum SubmitAction {
        /// Queued; no idle worker lacks a wake-up already on its way.
        case none
        /// Queued; signal one idle worker.
        case wakeWorker
        /// Not queued: the pool is shut down or broken.
        case reject(PoolError)
    }

    /// Queues `job` unless the pool no longer accepts work.
    mutating func submit(_ job: any PoolJob) -> SubmitAction {
        if let rejection { return .reject(rejection) }
        queue.append(job)
        guard idleWorkers > wakeupsInFlight else { return .none }
        wakeupsInFlight += 1
        return .wakeWorker
    }

    private var rejection: PoolError? {
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

    /// A blocking submitter starts waiting on the core's `spaceAvailable` condition.
    mutating func submitterBlocks() { blockedSubmitters += 1 }

    /// A blocking submitter woke up (and will check ``isFull`` again).
    mutating func submitterUnblocks() { blockedSubmitters -= 1 }

    /// What an async submitter does next.
    enum AsyncSubmitStep {
        case submitted(SubmitAction)
        /// The queue is full: suspend with this ticket (see ``parkForSpace(_:_:isCancelled:)``).
        case waitForSpace(ticket: UInt64)
    }

    mutating func submitOrTakeTicket(_ job: any PoolJob) -> AsyncSubmitStep {
        if isFull { return .waitForSpace(ticket: spaceWaiters.nextTicket()) }
        return .submitted(submit(job))
    }

    /// Parks a suspended submitter until a worker frees a slot; returns it instead, to be resumed
    /// at once, when there is room already, the pool stopped, or its task was cancelled (which
    /// the caller reads under the lock: cancellation is flagged before its handler runs, so a
    /// cancel either finds this continuation parked or happened before the check).
    mutating func parkForSpace(_ ticket: UInt64, _ continuation: Waiter, isCancelled: Bool) -> Waiter? {
        if !isFull || isCancelled { return continuation }
        spaceWaiters.park(ticket, continuation)
        return nil
    }

    /// A cancelled submitter withdraws its continuation, if still parked, to resume it.
    mutating func withdrawSpaceWaiter(_ ticket: UInt64) -> Waiter? {
        spaceWaiters.withdraw(ticket)
    }

    // MARK: - Workers

    /// A worker thread started; counted before it can run, so it cannot exit uncounted.
    mutating func workerStarted(_ thread: PlatformThread) {
        liveWorkers += 1
        unjoinedThreads.append(thread)
        workerThreads.append(thread)
    }

    /// A job taken from the queue, and who to wake now that it left.
    struct Taken {
        let job: any PoolJob
        /// More work is queued and an idle worker has no wake-up coming: chain one.
        let wakeAnotherWorker: Bool
        /// A thread blocked in `submit` may now find room.
        let wakeBlockedSubmitter: Bool
        /// The first suspended async submitter, to resume.
        let suspendedSubmitter: Waiter?
    }

    /// What a worker does next.
    enum WorkerStep {
        case run(Taken)
        /// The queue is empty: spin briefly without the lock before sleeping.
        case spin
        /// The queue is still empty: sleep on `workAvailable` (counted idle; call ``workerWoke()``
        /// after the wait).
        case sleep
        /// The pool stopped and the queue is empty: the worker ends (already counted out).
        case exit(WorkerExit)
    }

    /// What the last exits leave to do: wake blocked and suspended `shutdown` callers.
    struct WorkerExit {
        let wasLast: Bool
        let exitWaiters: [Waiter]
    }

    /// The next step of a worker that has spun (`hasSpun`) since its last job, or not.
    mutating func nextWorkerStep(hasSpun: Bool) -> WorkerStep {
        if let job = queue.popFirst() {
            let wakeAnother = !queue.isEmpty && idleWorkers > wakeupsInFlight
            if wakeAnother { wakeupsInFlight += 1 }
            let bounded = maxPending != nil
            return .run(
                Taken(
                    job: job, wakeAnotherWorker: wakeAnother, wakeBlockedSubmitter: bounded && blockedSubmitters > 0,
                    suspendedSubmitter: bounded ? spaceWaiters.takeFirst() : nil))
        }
        guard isRunning else { return .exit(workerExited()) }
        guard hasSpun else { return .spin }
        idleWorkers += 1
        return .sleep
    }

    /// A sleeping worker woke (signalled, or spuriously).
    mutating func workerWoke() {
        idleWorkers -= 1
        if wakeupsInFlight > 0 { wakeupsInFlight -= 1 }
    }

    /// A worker ends (its loop saw the pool stopped, or its initializer failed).
    mutating func workerExited() -> WorkerExit {
        liveWorkers -= 1
        guard liveWorkers == 0 else { return WorkerExit(wasLast: false, exitWaiters: []) }
        defer { exitWaiters = [] }
        return WorkerExit(wasLast: true, exitWaiters: exitWaiters)
    }

    // MARK: - Lifecycle transitions

    /// Jobs taken out of the queue when it stops, and the submitters to wake.
    struct Drain {
        /// Fail these jobs with `error` (they never run).
        var jobs: [any PoolJob] = []
        var error: any Error = CancellationError()
        /// Suspended submitters: they resume and find the pool stopped.
        var suspendedSubmitters: [Waiter] = []
    }

    /// `running → broken`: every queued job fails with `failure`; later submits throw it.
    /// - Returns: nil when the pool had already stopped (nothing changed).
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

    /// Parks an async `shutdown` until the last worker exits; returns it instead, to be resumed
    /// at once, when none is left.
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

/// The queue length, published without the lock so that an idle worker can spin on it.
final class QueueLengthHint: Sendable {
    private let count = Atomic<Int>(0)

    @inline(__always)
    func store(_ value: Int) { count.store(value, ordering: .relaxed) }

    @inline(__always)
    func load() -> Int { count.load(ordering: .relaxed) }
}
