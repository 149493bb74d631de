#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// File-scope names for the C calls, which `Descriptor`'s own `read`/`write` would shadow.
private func cRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
private func cWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
private func cClose(_ fd: Int32) -> Int32 { close(fd) }

/// The raw descriptor calls frames need, each retried on `EINTR` and turned into a
/// ``SystemCallError`` otherwise: the only place in PoolWire that touches the C library.
public enum Descriptor {
    /// Outcome of a read or write on a descriptor that may be non-blocking.
    public enum Progress: Equatable, Sendable {
        /// This many bytes moved (0 on a read means end of file).
        case moved(Int)
        /// The descriptor is non-blocking and not ready.
        case wouldBlock
    }

    /// `read(2)`, retried on `EINTR`.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) throws(SystemCallError)
        -> Progress
    {
        while true {
            let result = cRead(fd, buffer, count)
            if result >= 0 { return .moved(result) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case let code: throw SystemCallError(call: "read", errno: code)
            }
        }
    }

    /// `write(2)`, retried on `EINTR`. `EPIPE` (the reader is gone) is thrown like any error;
    /// callers ignore `SIGPIPE` so that it arrives as this error instead of killing the process.
    public static func write(_ fd: Int32, from buffer: UnsafeRawPointer, count: Int) throws(SystemCallError) -> Progress
    {
        while true {
            let result = cWrite(fd, buffer, count)
            if result >= 0 { return .moved(result) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case let code: throw SystemCallError(call: "write", errno: code)
            }
        }
    }

    /// Waits until `fd` is readable (or writable), or `timeoutMilliseconds` pass (-1: forever).
    /// Returns `false` on timeout. Hang-up and errors count as ready: the next read reports them.
    public static func wait(
        _ fd: Int32, forWriting: Bool = false, timeoutMilliseconds: Int32 = -1
    ) throws(SystemCallError) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(forWriting ? POLLOUT : POLLIN), revents: 0)
        while true {
            let result = poll(&entry, 1, timeoutMilliseconds)
            if result > 0 { return true }
            if result == 0 { return false }
            if errno == EINTR { continue }
            throw SystemCallError(call: "poll", errno: errno)
        }
    }

    /// Writes all of `bytes`, waiting for room when the descriptor is non-blocking.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
        guard var cursor = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            switch try write(fd, from: cursor, count: left) {
            case .moved(let count):
                cursor += count
                left -= count
            case .wouldBlock:
                _ = try wait(fd, forWriting: true)
            }
        }
    }

    /// `close(2)`; errors other than `EINTR` are ignored because nothing useful can follow.
    public static func close(_ fd: Int32) {
        _ = cClose(fd)
    }
}
