import Synchronization

extension Future {
    /// The work's value, awaited without blocking a thread.
    ///
    /// The awaiting task suspends on a continuation that the pool's worker resumes, so Swift's
    /// cooperative pool stays free. Cancelling the awaiting task does not cancel the work (the
    /// future may have other waiters); call ``cancel()`` for that.
    /// - Throws: what ``result()`` throws.
    public var value: Value {
        get async throws {
            if let outcome { return try outcome.get() }
            return try await withCheckedThrowingContinuation { continuation in
                whenComplete { continuation.resume(with: $0) }
            }
        }
    }

    /// Calls `callback` once with the outcome when the future is done.
    ///
    /// If the future is already done the callback runs at once on the calling thread; otherwise
    /// it runs on the thread that completes the future (a pool worker), so keep it short and
    /// never block in it. Callbacks registered before completion run before blocked
    /// ``result()`` callers are released.
    public func whenComplete(_ callback: @escaping @Sendable (Result<Value, any Error>) -> Void) {
        let ready: Result<Value, any Error>? = state.withLock {
            if case .done(let result) = $0.phase { return result }
            $0.callbacks.append(callback)
            return nil
        }
        if let ready { callback(ready) }
    }

    /// A future already done with `value`.
    public static func succeeded(_ value: Value) -> Future<Value> {
        let future = Future<Value>()
        future.complete(with: .success(value))
        return future
    }

    /// A future already done with `error`.
    public static func failed(_ error: any Error) -> Future<Value> {
        let future = Future<Value>()
        future.complete(with: .failure(error))
        return future
    }
}
