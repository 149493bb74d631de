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
public final class Future<Value: Sendable>: @unchecked Sendable {
    typealias Body = @Sendable () throws -> Value
    typealias Callback = @Sendable (Result<Value, any Error>) -> Void

    enum Phase {
        case pending
        case running
        case done(Result<Value, any Error>)
    }

    struct State {
        var phase = Phase.pending
        var body: Body?
        var cancelled = false
        /// Set after the completion callbacks ran; only then are blocked waiters released.
        var notified = false
        var callbacks: [Callback] = []
        var parkers: [Parker] = []
    }

    let state: Mutex<State>
    /// Set once the future is done, readable without the lock (fast `isDone` checks).
    private let finished = Atomic<Bool>(false)

    /// A pending future that runs `body` when a pool calls ``run()``.
    init(body: @escaping Body) {
        state = Mutex(State(body: body))
    }

    /// A pending future that some other code completes (a promise).
    init() {
        state = Mutex(State())
    }

    // MARK: - Inspecting

    /// Whether the future has a value, an error, or was cancelled (and its completion callbacks
    /// have run). Never blocks.
    public var isDone: Bool { finished.load(ordering: .acquiring) }

    /// Whether ``cancel()`` stopped the work before it started.
    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Whether a worker is running the work now.
    public var isRunning: Bool {
        state.withLock {
            if case .running = $0.phase { return true }
            return false
        }
    }

    /// The outcome if the future is done, otherwise `nil`. Never blocks.
    public var outcome: Result<Value, any Error>? {
        state.withLock {
            if case .done(let result) = $0.phase { return result }
            return nil
        }
    }

    // MARK: - Waiting

    /// Blocks the calling thread until the work is done, then returns its value.
    ///
    /// Call it from your own threads; in async code use ``value`` instead.
    /// - Throws: the error the work threw, unchanged; `CancellationError` if it was cancelled;
    ///   a ``PoolError`` if the pool could not run it (shut down with pending work cancelled,
    ///   or broken).
    public func result() throws -> Value {
        try waitForOutcome(deadline: nil)!.get()
    }

    /// Blocks until the work is done or `timeout` has passed.
    ///
    /// A timeout does not cancel the work; call ``cancel()`` for that.
    /// - Throws: ``PoolError`` with code ``PoolError/Code/timedOut`` when the time runs out,
    ///   otherwise what ``result()`` throws.
    public func get(timeout: Duration) throws -> Value {
        guard let outcome = waitForOutcome(deadline: MonotonicClock.deadline(after: timeout)) else {
            throw PoolError(.timedOut, "the result was not ready within \(timeout)")
        }
        return try outcome.get()
    }

    /// Waits until done or until `deadline` (monotonic ns); `nil` means the deadline passed.
    func waitForOutcome(deadline: UInt64?) -> Result<Value, any Error>? {
        if isDone { return outcome }
        let parker = Parker()
        let early: Result<Value, any Error>? = state.withLock {
            if $0.notified, case .done(let result) = $0.phase { return result }
            $0.parkers.append(parker)
            return nil
        }
        if let early { return early }
        if parker.park(until: deadline) { return outcome }
        // Timed out: withdraw the parker so repeated short waits do not pile up.
        return state.withLock {
            if $0.notified, case .done(let result) = $0.phase { return result }
            $0.parkers.removeAll { $0 === parker }
            return nil
        }
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
    func run() {
        let body: Body? = state.withLock {
            guard case .pending = $0.phase, let body = $0.body else { return nil }
            $0.phase = .running
            $0.body = nil
            return body
        }
        guard let body else { return }
        let result: Result<Value, any Error>
        do { result = .success(try body()) } catch { result = .failure(error) }
        _ = finish(result, onlyIfPending: false, cancelling: false)
    }

    /// Completes a future that is not done yet. - Returns: `false` if it was already done.
    @discardableResult
    func complete(with result: Result<Value, any Error>) -> Bool {
        finish(result, onlyIfPending: false, cancelling: false)
    }

    private func finish(_ result: Result<Value, any Error>, onlyIfPending: Bool, cancelling: Bool) -> Bool {
        let callbacks: [Callback]? = state.withLock { state in
            switch state.phase {
            case .done: return nil
            case .running where onlyIfPending: return nil
            case .pending, .running: break
            }
            state.phase = .done(result)
            state.body = nil
            state.cancelled = cancelling
            defer { state.callbacks = [] }
            return state.callbacks
        }
        guard let callbacks else { return false }
        // Callbacks first, then the blocked waiters: when `result()` returns, every callback
        // registered before completion has run (progress counters rely on it).
        for callback in callbacks { callback(result) }
        let parkers = state.withLock { state in
            state.notified = true
            defer { state.parkers = [] }
            return state.parkers
        }
        finished.store(true, ordering: .releasing)
        for parker in parkers { parker.unpark() }
        return true
    }
}
