import CPoolPlatform
import Glibc

/// Pipes and the descriptor flags: the one `pipe2`, `fcntl` and `isatty` of the program.
extension Descriptor {
    /// A new pipe, both ends close-on-exec from birth (`pipe2(O_CLOEXEC)`), so that a child
    /// spawned meanwhile by another thread cannot inherit either end and hold it open.
    package static func makePipe() throws(SystemCallError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        let status = poolsys_pipe_cloexec(&fds)
        guard status == 0 else { throw SystemCallError(call: "pipe2", errno: status) }
        return (fds[0], fds[1])
    }

    /// Asks for a pipe capacity of `bytes` (`F_SETPIPE_SZ`). A refusal (over the system's
    /// limit for unprivileged users) is harmless: the pipe keeps its default size.
    package static func requestPipeCapacity(_ fd: Int32, bytes: Int32) {
        _ = poolsys_set_pipe_capacity(fd, bytes)
    }

    /// Adds `O_NONBLOCK` to `fd`'s status flags: reads and writes then report
    /// ``Progress/wouldBlock`` instead of waiting.
    package static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    /// Adds `FD_CLOEXEC` to `fd`, for a descriptor inherited without it.
    package static func setCloseOnExec(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }

    /// Makes `target` a copy of `source` (`dup2`), closing what `target` was.
    package static func duplicate(_ source: Int32, onto target: Int32) throws(SystemCallError) {
        _ = try SystemCall.value("dup2") { dup2(source, target) }
    }

    /// Points `fd` at `/dev/null` (for reading when `forWriting` is false).
    package static func redirectToNull(_ fd: Int32, forWriting: Bool = false) throws(SystemCallError) {
        let null = try SystemCall.value("open /dev/null") {
            open("/dev/null", (forWriting ? O_WRONLY : O_RDONLY) | O_CLOEXEC)
        }
        defer { close(null) }
        try duplicate(null, onto: fd)
    }

    /// Blocks until the far end of `fd` is gone: the reader of a pipe's write end closed it
    /// (`POLLERR`), or a socket's peer hung up (`POLLHUP`). Nothing is read or written.
    package static func waitForHangUp(_ fd: Int32) {
        var entry = pollfd(fd: fd, events: 0, revents: 0)
        while true {
            let ready = poll(&entry, 1, -1)
            if ready > 0 && entry.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { return }
            if ready < 0 && errno != EINTR { return }
        }
    }

    /// Whether `fd` is a terminal (`isatty`).
    package static func isTerminal(_ fd: Int32) -> Bool {
        isatty(fd) == 1
    }

    /// Reads from `fd` until the end of the file or until `limit` bytes, through short reads
    /// and `EINTR`. A descriptor that is non-blocking and not ready fails with `EAGAIN`, as a
    /// plain `read` would: these are files, which are always ready.
    package static func readAll(_ fd: Int32, limit: Int) throws(SystemCallError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            // `withUnsafeMutableBytes` rethrows untyped errors: the outcome is carried out as a value.
            let outcome = bytes.withUnsafeMutableBytes { buffer -> Result<Progress, SystemCallError> in
                do throws(SystemCallError) {
                    return .success(try read(fd, into: buffer.baseAddress! + filled, count: limit - filled))
                } catch {
                    return .failure(error)
                }
            }
            switch outcome {
            case .success(.moved(0)): return Array(bytes[..<filled])
            case .success(.moved(let count)): filled += count
            case .success(.wouldBlock): throw SystemCallError(call: "read", errno: EAGAIN)
            case .failure(let error): throw error
            }
        }
        return bytes
    }
}
