/// The mutable state of a ``ProcessPool``: its lifecycle, the queue of submitted work, one slot
/// per worker process, and the conductor threads.
///
/// It has no lock of its own. ``ProcessPoolCore`` keeps it under its mutex and changes it only
/// inside `lock.withLock`, through the mutating methods here and in the `ProcessPoolState+`
/// files (dispatch and replies; a worker's end). Each method is one transition and returns
/// what to do once the lock is released: an ``Action`` (kill workers, close request pipes,
/// send batches, deliver recovered results, fail items), a ``ConductorStep`` (start a worker,
/// or finish), or whether to close a worker's pipe. Those write to pipes, send signals or run
/// the user's code (a future's callbacks, a stream's consumer), and must never run under the
/// lock. This is swift-nio's pattern (`NIOThreadPool` and its state machines): the state
/// decides, the core acts.
///
/// The per-source dispatch counters (``WorkSource``'s `nextIndex`, `retryIndexes`, `attempts`,
/// `nanosPerItem`) and each ``Batch``'s `answered` live in those objects, reachable from here;
/// they too are changed only by these transitions, under the same lock.
///
/// Lifecycle: `running → shuttingDown`, `running | shuttingDown → killing`
/// (``ProcessPool/terminate()``), or `running | shuttingDown → broken` (a worker could not start).
/// The pool is *terminated*, as a ``ThreadPool`` is, once it was shut down (either way) and every
/// worker has been reaped: ``isTerminated``. The word names that end state only; `terminate()`,
/// the public call that gets there by killing the workers, keeps its name, and so does the
/// error its work fails with ("was terminated": by that call).
struct ProcessPoolState {
    enum Lifecycle {
        /// Accepting work.
        case running
        /// `shutdown`: no new work; queued work still runs, then the workers exit.
        case shuttingDown
        /// `terminate()`: the workers are being killed; queued and running work fails.
        case killing
        /// A worker could not start: every submission fails with this error.
        case broken(PoolError)
    }

    /// One worker process's place in the pool, refilled when its worker ends.
    struct Slot {
        var connection: WorkerConnection?
        /// What `kill` takes to stop a worker still in its handshake (so `terminate` can): its
        /// pid, or a launcher's process group as a negative number.
        var startingPID: Int32?
        var inFlight: [Batch] = []
        var itemsRun = 0
        /// No new batches: the worker reached `maxTasksPerWorker`.
        var retiring = false
        /// The request pipe was closed on purpose (shutdown or recycling).
        var closed = false
        /// Its worker's end is being collected: its pid (a launcher's process group) may be
        /// reaped at any moment, so nothing may signal it any more.
        var reaping = false
    }

    /// What a transition leaves for the core to do once the lock is released, in this order:
    /// deliver results recovered from a dead worker's log, fail items, kill workers, close
    /// request pipes, send batches.
    struct Action {
        var recovered: RecoveredItems?
        var failures: [Failure] = []
        var kills: [Int32] = []
        var closes: [WorkerConnection] = []
        var sends: [Dispatch] = []
        /// For ``ProcessPool/Configuration/onWarning``: a host dropped, a restart put off.
        var warnings: [String] = []
    }

    /// Items of one source that fail with one error.
    struct Failure {
        let source: WorkSource
        let indexes: [Int]
        let error: any Error
    }

    /// A batch cut for slot `slot`'s worker, to encode and send.
    struct Dispatch {
        let slot: Int
        let connection: WorkerConnection
        let batch: Batch
        let taskIndex: Int
    }

    // Changed only by this type's methods (here and in its `+` files), under the core's lock.
    let configuration: ProcessPool.Configuration
    var lifecycle = Lifecycle.running
    var queue: [WorkSource] = []
    var slots: [Slot]
    var nextBatchID: UInt64 = 1
    var conductorsRunning = 0
    var conductors: [PlatformThread] = []
    /// Worker time per item of each task seen so far (the latest source's estimate), so that
    /// single submissions of a known task are paced like a map of it.
    var nanosPerItem: [String: Double] = [:]

    /// For each slot, the index of its host in the configuration's `effectiveHosts`.
    let slotHosts: [Int]
    /// Per host: how its workers have fared lately (remote hosts only).
    var hostHealth: [HostHealth]

    init(configuration: ProcessPool.Configuration) {
        self.configuration = configuration
        slotHosts = configuration.slotHosts
        slots = Array(repeating: Slot(), count: slotHosts.count)
        hostHealth = Array(repeating: HostHealth(), count: configuration.effectiveHosts.count)
    }

    // MARK: Observing

    /// The error a submission gets when the pool no longer accepts work.
    var refusal: PoolError? {
        switch lifecycle {
        case .running: return nil
        case .shuttingDown, .killing:
            return PoolError(.shutDown, "process pool '\(configuration.name)' is shut down and accepts no more work")
        case .broken(let error): return error
        }
    }

    /// What queued and running work fails with after ``ProcessPool/terminate()``.
    var terminationError: PoolError {
        PoolError(.shutDown, "process pool '\(configuration.name)' was terminated")
    }

    /// Shut down (by `shutdown` or `terminate()`) and every worker reaped: every conductor has
    /// finished, and each reaps its worker before it does.
    var isTerminated: Bool {
        switch lifecycle {
        case .shuttingDown, .killing: return conductorsRunning == 0
        case .running, .broken: return false
        }
    }

    /// Whether any queued work is still waiting to be dispatched.
    var hasUndispatchedWork: Bool { queue.contains { $0.hasUndispatched } }

    /// Pids of the live workers, in slot order.
    var workerProcessIDs: [Int32] { slots.compactMap { $0.connection?.pid } }

    /// The live worker whose oldest batch in flight completes `future`, with its slot: that
    /// worker's next results frame is the future's.
    func connection(answering future: AnyObject) -> (slot: Int, connection: WorkerConnection)? {
        for slot in slots.indices {
            guard let batch = slots[slot].inFlight.first, batch.source.completes(future),
                let connection = slots[slot].connection
            else { continue }
            return (slot, connection)
        }
        return nil
    }

    /// Pids of every worker, serving or still in its handshake.
    private var everyWorkerPID: [Int32] {
        slots.compactMap { $0.reaping ? nil : $0.connection?.process.killTarget ?? $0.startingPID }
    }

    /// A worker about to be reaped before its handshake ended: never signal its pid again.
    mutating func forgetStarting(pid: Int32) {
        for index in slots.indices where slots[index].startingPID == pid || slots[index].startingPID == -pid {
            slots[index].startingPID = nil
        }
    }

    // MARK: Submitting and stopping

    /// Queues `source`.
    /// - Throws: ``refusal`` when the pool no longer accepts work.
    mutating func enqueue(_ source: WorkSource) throws {
        if let refusal { throw refusal }
        queue.append(source)
    }

    /// `running → shuttingDown`: idle workers are told to exit, busy ones exit once the queue
    /// drains; with `cancelPending`, queued items not yet sent fail with `CancellationError`.
    mutating func beginShutdown(cancelPending: Bool) -> Action {
        if case .running = lifecycle { lifecycle = .shuttingDown }
        var action = Action()
        if cancelPending { action.failures = takeQueued(failingWith: CancellationError()) }
        // Sources with nothing left to send (cancelled, stopped) leave now: a pool that stops
        // cutting batches would otherwise keep their inputs as long as it lives. Their running
        // batches hold them; a requeue puts them back.
        queue.removeAll { !$0.hasUndispatched }
        action.closes = slots.indices.compactMap { closeIfDone($0) ? slots[$0].connection : nil }
        return action
    }

    /// `running | shuttingDown → killing`: every worker is killed; queued work fails now, and
    /// running work as each conductor accounts for its dead worker.
    mutating func terminate() -> Action {
        switch lifecycle {
        case .running, .shuttingDown: lifecycle = .killing
        case .killing, .broken: break
        }
        return Action(failures: takeQueued(failingWith: terminationError), kills: everyWorkerPID)
    }

    /// `running | shuttingDown → broken`: queued work fails with `error`, workers are killed.
    mutating func breakPool(_ error: PoolError) -> Action {
        switch lifecycle {
        case .running, .shuttingDown: lifecycle = .broken(error)
        case .killing, .broken: break
        }
        return Action(failures: takeQueued(failingWith: error), kills: everyWorkerPID)
    }

    private mutating func takeQueued(failingWith error: any Error) -> [Failure] {
        defer { queue.removeAll() }
        return queue.map { Failure(source: $0, indexes: $0.takeAll(), error: error) }
    }

    // MARK: Conductors and worker starts

    /// A conductor thread started; counted under the lock it waits for, so it cannot finish
    /// uncounted.
    mutating func conductorStarted(_ thread: PlatformThread) {
        conductorsRunning += 1
        conductors.append(thread)
    }

    enum ConductorStep {
        /// Start a worker (again) in the slot, not before this monotonic time (a back-off after
        /// its host failed; 0 for now).
        case startWorker(notBefore: UInt64)
        /// The pool stopped for good, or is draining with nothing left to send: the conductor
        /// ends (already counted out; it broadcasts `conductorsFinished`).
        case finish
    }

    /// Whether slot `slot`'s conductor starts a(nother) worker: while the pool runs, or drains
    /// queued work, and its host was not dropped.
    mutating func nextConductorStep(slot: Int) -> ConductorStep {
        let health = hostHealth[slotHosts[slot]]
        switch lifecycle {
        case .running where !health.dropped: return .startWorker(notBefore: health.retryAt)
        case .shuttingDown where hasUndispatchedWork && !health.dropped: return .startWorker(notBefore: health.retryAt)
        case .running, .shuttingDown, .killing, .broken:
            conductorsRunning -= 1
            return .finish
        }
    }

    /// Whether a conductor waiting out a back-off should stop waiting: the pool stopped.
    var isStopping: Bool {
        switch lifecycle {
        case .running: return false
        case .shuttingDown: return !hasUndispatchedWork
        case .killing, .broken: return true
        }
    }

    /// Hands over the conductor threads to join or detach, once; later calls get none.
    mutating func takeConductors() -> [PlatformThread] {
        defer { conductors = [] }
        return conductors
    }

    /// Slot `slot`'s new worker was spawned and is in its handshake.
    mutating func workerSpawned(slot: Int, pid: Int32) {
        slots[slot].startingPID = pid
    }

    /// Slot `slot`'s worker could not start (it was reaped, if spawned). On this machine the
    /// pool breaks (the next start would fail the same way); a remote host is tried again
    /// after a back-off when the failure may pass (``PoolError/isTransient``), else dropped.
    mutating func workerFailedToStart(slot: Int, _ error: PoolError) -> Action {
        slots[slot].startingPID = nil
        let host = slotHosts[slot]
        guard !configuration.effectiveHosts[host].launcher.isLocal else { return breakPool(error) }
        return hostFailed(host, error, permanent: !error.isTransient)
    }

    /// Slot `slot`'s worker said hello and serves from now on; killed at once if `terminate()`
    /// raced its handshake, told to exit if there is nothing for it.
    mutating func workerConnected(slot: Int, _ connection: WorkerConnection) -> Action {
        slots[slot].startingPID = nil
        slots[slot].connection = connection
        if case .killing = lifecycle { return Action(kills: [connection.process.killTarget]) }
        return closeIfDone(slot) ? Action(closes: [connection]) : Action()
    }
}
