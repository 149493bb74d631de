/// An error thrown by a task inside a worker process, brought back to the caller.
///
/// The error value itself cannot cross the process boundary in general, so what comes back is
/// its type name (as `String(reflecting:)` prints it) and its description, with the task and the
/// input index. The worker stays alive and the pool healthy.
public struct RemoteTaskError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The task's ``PoolTask/name``.
    public let taskName: String
    /// The full type name of the error the task threw, such as `MyApp.ParseError`.
    public let typeName: String
    /// `String(describing:)` of the thrown error.
    public let message: String
    /// The position of the input in the submitted collection (0 for a single submit).
    public let inputIndex: Int

    public var description: String {
        "\(taskName) threw \(typeName) on input \(inputIndex): \(message)"
    }
}

extension PoolError.Code {
    /// The worker running the task died (a signal, `fatalError`, `exit`): see the message for the
    /// pid, the signal or status and the input index. The pool started a replacement.
    public static let workerCrashed = PoolError.Code(storage: .workerCrashed)
    /// The task ran longer than the pool's task timeout; its worker was killed and replaced.
    public static let taskTimedOut = PoolError.Code(storage: .taskTimedOut)
    /// The task finished in a worker that died before sending its result, and it is not
    /// idempotent, so it was not run again.
    public static let resultLost = PoolError.Code(storage: .resultLost)
    /// Workers could not be started or failed the handshake (missing entry guard, different
    /// build, exec failure); the message says which and what to change.
    public static let workerStartFailed = PoolError.Code(storage: .workerStartFailed)
    /// The worker executable does not register a task of this name (or registers a different
    /// signature under it).
    public static let unknownTask = PoolError.Code(storage: .unknownTask)
    /// A ``ProcessPool/Configuration`` value is outside what the pool can honour; the message
    /// names the setting and its range.
    public static let invalidConfiguration = PoolError.Code(storage: .invalidConfiguration)
}
