extension Future {
    /// The work's value, awaited without blocking a thread.
    ///
    /// The awaiting task suspends on a continuation that the pool's worker resumes, so Swift's
    /// cooperative pool stays free. Cancelling the awaiting task does not cancel the work (the
    /// future may have other waiters); call ``cancel()`` for that.
    /// - Throws: what ``result()`` throws.
    @inlinable
    public var value: Value {
        get async throws {
            if let outcome = currentOutcome { return try outcome.get(as: Value.self) }
            let outcome = await withCheckedContinuation { continuation in
                addCallback { continuation.resume(returning: $0) }
            }
            return try outcome.get(as: Value.self)
        }
    }

    /// Calls `callback` once with the outcome when the future is done.
    ///
    /// If the future is already done the callback runs at once on the calling thread; otherwise
    /// it runs on the thread that completes the future (a pool worker), so keep it short and
    /// never block in it. Callbacks registered before completion run before blocked
    /// ``result()`` callers are released.
    @inlinable
    public func whenComplete(_ callback: @escaping @Sendable (Result<Value, any Error>) -> Void) {
        addCallback { callback($0.result(as: Value.self)) }
    }

    /// A future already done with `value`.
    @inlinable
    public static func succeeded(_ value: Value) -> Future<Value> {
        let future = Future<Value>()
        future.complete(with: .success(value))
        return future
    }

    /// A future already done with `error`.
    @inlinable
    public static func failed(_ error: any Error) -> Future<Value> {
        let future = Future<Value>()
        future.complete(with: .failure(error))
        return future
    }
}
