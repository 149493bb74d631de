import Synchronization

/// A request to end a running job early without losing work already done: once ``stop()`` is
/// called no more inputs start, the inputs already running finish, and their results are still
/// handed over before the job's call returns. Like `concurrent.futures`'
/// `shutdown(cancel_futures=True)` followed by collecting what finished, or GNU parallel's
/// `--halt soon`.
///
/// ```swift
/// let stop = JobStop()
/// try executor.forEachResult(of: Upload.self, files, stopping: stop) { index, result in
///     if case .failure = result { stop.stop() }   // the uploads already running still report
///     record(index, result)
/// }
/// ```
///
/// Call ``stop()`` from any thread: a signal watcher, the job's own callback, a deadline.
public final class JobStop: Sendable {
    private struct State: Sendable {
        var isStopped = false
        /// What stops the starts of the stream running now (set by the job, replaced per stream).
        var action: (@Sendable () -> Void)?
    }

    private let state = Locked(State())
    /// ``isStopped``, read without the lock (a chunk of work asks between items).
    private let stopped = Atomic<Bool>(false)

    /// A request not yet made.
    public init() {}

    /// Starts no more inputs of the job; the running ones finish and are delivered.
    public func stop() {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            guard !state.isStopped else { return nil }
            state.isStopped = true
            stopped.store(true, ordering: .relaxed)
            return state.action
        }
        action?()
    }

    /// Whether ``stop()`` was called.
    public var isStopped: Bool { stopped.load(ordering: .relaxed) }

    /// Makes `action` what ``stop()`` does for the part of the job running now (a stream's
    /// `stopStarting`), replacing the one before; runs it at once when the stop came already.
    package func whileRunning(_ action: @escaping @Sendable () -> Void) {
        let stoppedAlready = state.withLock { state -> Bool in
            state.action = action
            return state.isStopped
        }
        if stoppedAlready { action() }
    }

    /// Forgets the running part's action (it ended).
    package func finishedRunning() { state.withLock { $0.action = nil } }
}

/// The error a stream reports for an item its job stopped before it started
/// (``Completions/stopStarting()``): the stream still ends, and the executors skip such items
/// (they ran nowhere, so a resumed job runs them). Distinct from `CancellationError`, which a
/// task may throw itself.
public struct ItemNotStarted: Error, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "not started: the job was stopped first" }
}
