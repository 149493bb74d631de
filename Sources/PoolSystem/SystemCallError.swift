/// A failed operating-system call: which call, and the `errno` it left.
///
/// Pools report it as the underlying cause of a ``PoolError`` (for example when the system
/// refuses to create another thread), so the user sees the C call and the system's reason.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The C function that failed, such as `pthread_create`.
    public let call: String
    /// The `errno` value the call reported.
    public let errno: Int32

    /// Creates an error for `call` failing with `errno`.
    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// What ``errno`` says, in words (`strerror`), for messages that name the call themselves.
    package var reason: String { SystemCall.errorText(errno) }

    public var description: String {
        "\(call) failed: \(reason) (errno \(errno))"
    }
}
