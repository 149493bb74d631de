import CPoolPlatform
import Glibc
internal import PoolSystem
import PoolWire

/// How a worker process ended, as `waitpid` reported it.
public enum ProcessExit: Sendable, Equatable, CustomStringConvertible {
    /// It called `exit` (or returned from `main`) with this status.
    case exited(Int32)
    /// A signal killed it.
    case signaled(Int32)
    /// Its status could not be collected (someone else reaped it, or `SIGCHLD` is ignored).
    case unknown

    public var description: String {
        switch self {
        case .exited(let status): return "exited with status \(status)"
        case .signaled(let signal): return "killed by signal \(signal) (\(ProcessExit.signalName(signal)))"
        case .unknown: return "ended with an unknown status"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGKILL: return "SIGKILL"
        case SIGTERM: return "SIGTERM"
        case SIGSEGV: return "SIGSEGV"
        case SIGABRT: return "SIGABRT"
        case SIGILL: return "SIGILL"
        case SIGTRAP: return "SIGTRAP"
        case SIGBUS: return "SIGBUS"
        case SIGFPE: return "SIGFPE"
        case SIGINT: return "SIGINT"
        case SIGPIPE: return "SIGPIPE"
        default: return "signal \(signal)"
        }
    }
}

/// The process calls the process pool makes: spawning, reaping, signals, pipes, identity.
/// Everything platform-specific about worker processes lives here.
package enum Processes {
    /// A pipe whose ends are close-on-exec from the start.
    static func makePipe(capacity: Int32? = nil) throws -> OwnedPipe {
        var fds: [Int32] = [-1, -1]
        let status = poolsys_pipe_cloexec(&fds)
        guard status == 0 else { throw SystemCallError(call: "pipe2", errno: status) }
        if let capacity { _ = poolsys_set_pipe_capacity(fds[1], capacity) }
        return OwnedPipe(read: OwnedDescriptor(fds[0]), write: OwnedDescriptor(fds[1]))
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    static func setCloseOnExec(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }

    /// Starts `path` with `childDescriptors` as its descriptors 3, 4, …; see `poolsys_spawn`.
    static func spawn(path: String, arguments: [String], environment: [String], childDescriptors: [Int32]) throws
        -> pid_t
    {
        var pid: pid_t = 0
        let status = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                childDescriptors.withUnsafeBufferPointer { fds in
                    poolsys_spawn(path, argv, envp, fds.baseAddress, Int32(fds.count), &pid)
                }
            }
        }
        guard status == 0 else { throw SystemCallError(call: "posix_spawn \(path)", errno: status) }
        return pid
    }

    /// Calls `body` with a NULL-terminated C array of `strings`.
    static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers = strings.map { strdup($0) }
        pointers.append(nil)
        defer { pointers.forEach { free($0) } }
        return body(pointers)
    }

    /// This process's environment as `NAME=value` strings.
    static func environment() -> [String] {
        var result: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            result.append(String(cString: entry))
            cursor += 1
        }
        return result
    }

    /// The value of environment variable `name`, if set.
    static func environmentValue(_ name: String) -> String? { Environment.value(name) }

    static func removeEnvironmentValue(_ name: String) { Environment.remove(name) }

    /// The path of the running executable (`/proc/self/exe` resolved), or nil.
    static func executablePath() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let length = buffer.withUnsafeMutableBytes { readlink("/proc/self/exe", $0.baseAddress!, $0.count - 1) }
        guard length > 0 else { return nil }
        return String(decoding: buffer.prefix(length), as: UTF8.self)
    }

    /// Collects `pid`'s exit status if it has ended; with `blocking`, waits for it to end.
    static func reap(_ pid: pid_t, blocking: Bool) -> ProcessExit? {
        var status: Int32 = 0
        let result = SystemCall.retryingInterrupts { waitpid(pid, &status, blocking ? 0 : WNOHANG) }
        if result == pid { return decode(status) }
        if result == 0 { return nil }
        return .unknown  // ECHILD: not ours to reap, or SIGCHLD is ignored
    }

    /// The exit of a raw `waitpid` status.
    static func decode(_ status: Int32) -> ProcessExit {
        let signal = status & 0x7F
        if signal == 0 { return .exited((status >> 8) & 0xFF) }
        return .signaled(signal)
    }

    static func kill(_ pid: pid_t, signal: Int32 = SIGKILL) {
        _ = Glibc.kill(pid, signal)
    }

    /// Makes writes to a closed pipe fail with `EPIPE` instead of killing the process, unless
    /// the program already chose its own `SIGPIPE` handling.
    static func ignoreBrokenPipeSignals() {
        var current = sigaction()
        guard sigaction(SIGPIPE, nil, &current) == 0 else { return }
        #if canImport(Glibc)
            let isDefault = current.__sigaction_handler.sa_handler == nil
        #else
            let isDefault = current.__sigaction_u.__sa_handler == nil
        #endif
        if isDefault { _ = signal(SIGPIPE, SIG_IGN) }
    }

    static func pause(microseconds: UInt32) { _ = usleep(microseconds) }

    static func currentPID() -> pid_t { getpid() }
    static func parentPID() -> pid_t { getppid() }

    /// Ends this process at once, without running `atexit` handlers or flushing Swift state.
    static func exitNow(_ status: Int32) -> Never {
        fflush(nil)  // what tasks printed still reaches the parent's stdout
        _exit(status)
    }

    /// Asks for `SIGKILL` when the parent goes away (Linux); harmless elsewhere.
    static func dieWithParent() {
        _ = poolsys_set_parent_death_signal(SIGKILL)
    }

    /// The main executable's GNU build id in hex, or "" when it has none.
    package static let buildID: String = {
        var bytes = [UInt8](repeating: 0, count: 64)
        let length = poolsys_executable_build_id(&bytes, bytes.count)
        return bytes.prefix(length).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }()
}

/// A pipe's two ends, each closed when dropped unless handed on (``OwnedDescriptor/take()``).
struct OwnedPipe: ~Copyable {
    let read: OwnedDescriptor
    let write: OwnedDescriptor
}
