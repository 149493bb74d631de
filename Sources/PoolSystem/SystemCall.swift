import Glibc

/// Every system call pool-advisor makes goes through one of these: retried while the call is
/// interrupted by a signal (`EINTR`: the CLI catches SIGINT and SIGTERM, and a profile's timer
/// may fire at any moment), and its failure turned into a ``SystemCallError`` naming the call,
/// as swift-system's `valueOrErrno(retryOnInterrupt:)` does.
package enum SystemCall {
    /// `call()`'s result once it is not an interrupted failure: -1 with `errno` `EINTR` is
    /// retried; any other result, failures included, is returned with `errno` as the call left
    /// it (for callers that treat `EAGAIN` or `ECHILD` as answers, not errors).
    @inlinable
    package static func retryingInterrupts<Result: FixedWidthInteger>(_ call: () -> Result) -> Result {
        while true {
            let result = call()
            if result == -1 && errno == EINTR { continue }
            return result
        }
    }

    /// `call()`'s result, retried on `EINTR`; -1 throws the `errno` it left, named `name`.
    @inlinable
    package static func value<Result: FixedWidthInteger>(_ name: String, _ call: () -> Result)
        throws(SystemCallError) -> Result
    {
        let result = retryingInterrupts(call)
        if result == -1 { throw SystemCallError(call: name, errno: errno) }
        return result
    }

    /// For calls that return the error number itself (0 on success), as the `pthread_*` and
    /// `clock_nanosleep` families do: retried while it is `EINTR`.
    @inlinable
    package static func retryingInterruptedStatus(_ call: () -> Int32) -> Int32 {
        while true {
            let status = call()
            if status != EINTR { return status }
        }
    }

    /// What the last failed call's `errno` says, in words.
    package static var lastErrorText: String { errorText(errno) }

    /// What error number `code` says, in words: the one `strerror` call.
    package static func errorText(_ code: Int32) -> String {
        strerror(code).map { String(cString: $0) } ?? "unknown error"
    }
}
