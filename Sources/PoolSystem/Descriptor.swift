import Glibc

// File-scope names for the C calls, which `Descriptor`'s own `read`/`write` would shadow.
private func cRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
private func cWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
private func cClose(_ fd: Int32) -> Int32 { close(fd) }

/// The raw descriptor calls frames, pipes and files need, each retried on `EINTR` and turned
/// into a ``SystemCallError`` otherwise.
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
        let result = SystemCall.retryingInterrupts { cRead(fd, buffer, count) }
        if result >= 0 { return .moved(result) }
        if errno == EAGAIN || errno == EWOULDBLOCK { return .wouldBlock }
        throw SystemCallError(call: "read", errno: errno)
    }

    /// `write(2)`, retried on `EINTR`. `EPIPE` (the reader is gone) is thrown like any error;
    /// callers ignore `SIGPIPE` so that it arrives as this error instead of killing the process.
    public static func write(_ fd: Int32, from buffer: UnsafeRawPointer, count: Int) throws(SystemCallError) -> Progress
    {
        let result = SystemCall.retryingInterrupts { cWrite(fd, buffer, count) }
        if result >= 0 { return .moved(result) }
        if errno == EAGAIN || errno == EWOULDBLOCK { return .wouldBlock }
        throw SystemCallError(call: "write", errno: errno)
    }

    /// Waits until `fd` is readable (or writable), or `timeoutMilliseconds` pass (-1: forever).
    /// Returns `false` on timeout. Hang-up and errors count as ready: the next read reports them.
    public static func wait(
        _ fd: Int32, forWriting: Bool = false, timeoutMilliseconds: Int32 = -1
    ) throws(SystemCallError) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(forWriting ? POLLOUT : POLLIN), revents: 0)
        return try SystemCall.value("poll") { poll(&entry, 1, timeoutMilliseconds) } > 0
    }

    /// Writes all of `bytes`, through short writes, and waiting for room when the descriptor is
    /// non-blocking: the one write-everything loop (frames, output files, the terminal).
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

    /// ``writeAll(_:_:)`` of an array's bytes.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemCallError) {
        // `withUnsafeBytes` rethrows untyped errors: the failure is carried out as a value.
        let failure = bytes.withUnsafeBytes { buffer -> SystemCallError? in
            do throws(SystemCallError) { try writeAll(fd, buffer) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// `close(2)`, once: not retried on `EINTR` (Linux has released the descriptor by then, and
    /// a retry could close one another thread just opened); other errors are ignored because
    /// nothing useful can follow.
    public static func close(_ fd: Int32) {
        _ = cClose(fd)
    }
}

/// A descriptor this program opened and must close: closed exactly once, by ``close()`` or
/// when the owner goes out of scope, so no error path leaks it and none closes it twice.
/// ``take()`` hands the raw number on to a new owner (a pool's connection, a spawned child).
package struct OwnedDescriptor: ~Copyable {
    /// The raw descriptor, valid while this owner lives.
    package let rawValue: Int32

    /// Takes ownership of `rawValue` (which must be open).
    package init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// Gives up ownership without closing: the caller now closes it.
    package consuming func take() -> Int32 {
        let raw = rawValue
        discard self
        return raw
    }

    /// Closes it now.
    package consuming func close() {
        Descriptor.close(rawValue)
        discard self
    }

    deinit { Descriptor.close(rawValue) }
}
