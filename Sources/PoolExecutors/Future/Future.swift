internal import PoolSystem
import Synchronization

/// The eventual result of work submitted to a pool.
///
/// A future starts *pending*, becomes *running* when a worker picks it up, and ends *done*:
/// with a value, with the error the work threw (unchanged), or cancelled. Wait for it by
/// blocking (``result()``, ``get(timeout:)``) on your own threads, or with `await`
/// (``value``) in async code, which suspends without blocking a cooperative thread.
///
/// ```swift
/// let future = try pool.submit { try checksum(path) }
/// let sum = try future.result()          // or: try await future.value
/// ```
///
/// ``cancel()`` stops work that has not started; work already running completes.
// @unchecked: `storage` is read and written only under `lock` (a SpinLock); `finished` is an
// Atomic; `published` is written once, under `lock`, before `finished` is set (releasing), and
// read without the lock only after `finished` was seen set (acquiring).
public final class Future<Value: Sendable>: @unchecked Sendable {
    @usableFromInline typealias Body = @Sendable () throws -> any Sendable
    @usableFromInline typealias Callback = @Sendable (FutureOutcome) -> Void

    /// Guards `storage`; inline, so a future is one allocation.
    private let lock = SpinLock()
    private var storage: FutureState
    /// Set once the future is done, readable without the lock (fast `isDone` checks).
    private let finished = Atomic<Bool>(false)
    /// The outcome, once the waiters are released: a done future's readers (most `result()`
    /// calls, on work that finished before it was waited for) take no lock.
    private var published: FutureOutcome?
    /// See ``init(receiveWhileWaiting:)``.
    private let receiveWhileWaiting: (@Sendable (any AwaitedFuture) -> Void)?

    /// A pending future that runs `body` when a pool calls ``run()``.
    @usableFromInline
    init(body: @escaping Body) {
        storage = FutureState(body: body)
        receiveWhileWaiting = nil
    }

    /// A pending future that some other code completes (a promise).
    @usableFromInline
    init() {
        storage = FutureState()
        receiveWhileWaiting = nil
    }

    /// A promise whose blocked waiters call `receive` with it while they spin, before they
    /// sleep: a process pool has them read this future's own reply if it has arrived, so the
    /// result need not wait for the pool's reader thread to wake.
    package init(receiveWhileWaiting receive: @escaping @Sendable (any AwaitedFuture) -> Void) {
        storage = FutureState()
        receiveWhileWaiting = receive
    }

    @inline(__always)
    private func withState<Result>(_ body: (inout FutureState) -> Result) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return body(&storage)
    }

    // MARK: - Inspecting

    /// Whether the future has a value, an error, or was cancelled (and its completion callbacks
    /// have run). Never blocks.
    public var isDone: Bool { finished.load(ordering: .acquiring) }

    /// Whether ``cancel()`` stopped the work before it started.
    public var isCancelled: Bool { withState { $0.cancelled } }

    /// Whether a worker is running the work now.
    public var isRunning: Bool {
        withState {
            if case .running = $0.phase { return true }
            return false
        }
    }

    /// The outcome if the future is done, otherwise `nil`. Never blocks.
    @inlinable
    public var outcome: Result<Value, any Error>? {
        currentOutcome?.result(as: Value.self)
    }

    @usableFromInline
    var currentOutcome: FutureOutcome? {
        if finished.load(ordering: .acquiring) { return published }
        return withState {
            if case .done(let outcome) = $0.phase { return outcome }
            return nil
        }
    }

    // MARK: - Waiting

    /// Blocks the calling thread until the work is done, then returns its value.
    ///
    /// Call it from your own threads; in async code use ``value`` instead.
    /// - Throws: the error the work threw, unchanged; `CancellationError` if it was cancelled;
    ///   a ``PoolError`` if the pool could not run it (broken).
    @inlinable
    public func result() throws -> Value {
        try waitForOutcome(timeout: nil)!.get(as: Value.self)
    }

    /// Blocks until the work is done or `timeout` has passed.
    ///
    /// A timeout does not cancel the work; call ``cancel()`` for that.
    /// - Throws: ``PoolError`` with code ``PoolError/Code/timedOut`` when the time runs out,
    ///   otherwise what ``result()`` throws.
    @inlinable
    public func get(timeout: Duration) throws -> Value {
        guard let outcome = waitForOutcome(timeout: timeout) else {
            throw PoolError.timedOut(after: timeout)
        }
        return try outcome.get(as: Value.self)
    }

    /// Waits until done or until `timeout` passes; `nil` means it passed.
    @usableFromInline
    func waitForOutcome(timeout: Duration?) -> FutureOutcome? {
        if isDone { return currentOutcome }
        if let receive = receiveWhileWaiting {
            if receiveBriefly(receive) { return currentOutcome }
        } else if spinBriefly(until: { isDone }) {
            return currentOutcome
        }
        let deadline = timeout.map(MonotonicClock.deadline(after:))
        let parker = Parker()
        let early: FutureOutcome? = withState {
            if $0.notified, case .done(let outcome) = $0.phase { return outcome }
            $0.parkers.append(parker)
            return nil
        }
        if let early { return early }
        if parker.park(until: deadline) { return currentOutcome }
        // Timed out: withdraw the parker so repeated short waits do not pile up.
        return withState {
            if $0.notified, case .done(let outcome) = $0.phase { return outcome }
            $0.parkers.removeAll { $0 === parker }
            return nil
        }
    }

    /// Spins about as long as ``spinBriefly(iterations:until:)`` does, calling `receive` every
    /// few hints (each call is a system call or two).
    private func receiveBriefly(_ receive: (any AwaitedFuture) -> Void) -> Bool {
        for _ in 0..<32 {
            receive(self)
            if spinBriefly(iterations: 16, until: { isDone }) { return true }
        }
        return false
    }

    // MARK: - Cancelling

    /// Cancels the work if it has not started.
    ///
    /// A pending future becomes done with `CancellationError` and its work never runs; waiters
    /// and callbacks are told at once. Running or finished work is not affected.
    /// - Returns: `true` if this call cancelled the work.
    @discardableResult
    public func cancel() -> Bool {
        finish(.failure(CancellationError()), onlyIfPending: true, cancelling: true)
    }

    // MARK: - Completing (for pools)

    /// Runs the body if the future is still pending; a cancelled future is skipped.
    @usableFromInline
    func run() {
        let body: Body? = withState {
            guard case .pending = $0.phase, let body = $0.body else { return nil }
            $0.phase = .running
            $0.body = nil
            return body
        }
        guard let body else { return }
        let outcome: FutureOutcome
        do { outcome = .success(try body()) } catch { outcome = .failure(error) }
        _ = finish(outcome, onlyIfPending: false, cancelling: false)
    }

    /// Marks a pending future as running, for work run elsewhere (a worker process): from then
    /// on ``cancel()`` no longer stops it. - Returns: `false` if it was not pending.
    @discardableResult
    func markRunning() -> Bool {
        withState {
            guard case .pending = $0.phase else { return false }
            $0.phase = .running
            return true
        }
    }

    /// Completes a future that is not done yet. - Returns: `false` if it was already done.
    @usableFromInline
    @discardableResult
    func complete(with outcome: FutureOutcome) -> Bool {
        finish(outcome, onlyIfPending: false, cancelling: false)
    }

    /// Registers `callback`, or runs it now if the future is done.
    @usableFromInline
    func addCallback(_ callback: @escaping Callback) {
        let ready = currentOutcomeOrAppending(callback)
        if let ready { callback(ready) }
    }

    private func currentOutcomeOrAppending(_ callback: @escaping Callback) -> FutureOutcome? {
        withState {
            if case .done(let outcome) = $0.phase { return outcome }
            $0.callbacks.append(callback)
            return nil
        }
    }

    private func finish(_ outcome: FutureOutcome, onlyIfPending: Bool, cancelling: Bool) -> Bool {
        // With no callback to run first (a plain submit), the waiters are released in the same
        // critical section that records the outcome: one lock a completion, not two.
        let taken: (callbacks: [Callback], parkers: [Parker]?)? = withState { state in
            switch state.phase {
            case .done: return nil
            case .running where onlyIfPending: return nil
            case .pending, .running: break
            }
            state.phase = .done(outcome)
            state.body = nil
            state.cancelled = cancelling
            let callbacks = state.callbacks
            state.callbacks = []
            guard callbacks.isEmpty else { return (callbacks, nil) }
            return ([], releaseWaiters(&state, outcome))
        }
        guard let taken else { return false }
        // Callbacks first, then the blocked waiters: when `result()` returns, every callback
        // registered before completion has run (progress counters rely on it).
        for callback in taken.callbacks { callback(outcome) }
        let parkers = taken.parkers ?? withState { releaseWaiters(&$0, outcome) }
        finished.store(true, ordering: .releasing)
        for parker in parkers { parker.unpark() }
        return true
    }

    /// Marks the waiters notified and takes them, and publishes `outcome` for lock-free
    /// readers; called under `lock`, before `finished` is set.
    private func releaseWaiters(_ state: inout FutureState, _ outcome: FutureOutcome) -> [Parker] {
        state.notified = true
        published = outcome
        defer { state.parkers = [] }
        return state.parkers
    }
}

/// The future a waiting thread's helper was called for (see `Future.init(receiveWhileWaiting:)`).
package protocol AwaitedFuture: AnyObject, Sendable {
    var isDone: Bool { get }
}

extension Future: AwaitedFuture {}

/// A future's mutable state. Nothing here depends on the future's `Value` (see
/// ``FutureOutcome``), so the workers' code path needs no generic metadata; it is declared
/// outside `Future` because a nested type would be generic too.
struct FutureState {
    typealias Body = @Sendable () throws -> any Sendable
    typealias Callback = @Sendable (FutureOutcome) -> Void

    enum Phase {
        case pending
        case running
        case done(FutureOutcome)
    }

    var phase = Phase.pending
    var body: Body?
    var cancelled = false
    /// Set after the completion callbacks ran; only then are blocked waiters released.
    var notified = false
    var callbacks: [Callback] = []
    var parkers: [Parker] = []

    init(body: Body? = nil) {
        self.body = body
    }
}
