/// One unit of work in a pool's queue.
///
/// A job is either run by a worker or, when the pool cancels it (shutdown with
/// `cancelPending`) or cannot run it (broken), abandoned with an error, exactly once.
@usableFromInline
protocol PoolJob: AnyObject, Sendable {
    /// Runs the work on the calling worker thread.
    func run()
    /// Drops the work without running it; its waiters receive `error`.
    func abandon(with error: any Error)
}

extension Future: PoolJob {
    @usableFromInline
    func abandon(with error: any Error) {
        if error is CancellationError {
            cancel()
        } else {
            complete(with: .failure(error))
        }
    }
}
