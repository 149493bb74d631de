internal import PoolSystem

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

    /// The C name of `signal` (`SIGSEGV`), or "signal N" for one without a common name.
    static func signalName(_ signal: Int32) -> String {
        Signals.name(of: signal) ?? "signal \(signal)"
    }
}

/// The process calls the process pool makes: spawning, reaping, signals, pipes, identity.
/// The pool's one door to PoolSystem's process, signal and pipe wrappers.
package enum Processes {
    /// A pipe whose ends are close-on-exec from the start.
    static func makePipe(capacity: Int32? = nil) throws -> OwnedPipe {
        let (read, write) = try Descriptor.makePipe()
        if let capacity { Descriptor.requestPipeCapacity(write, bytes: capacity) }
        return OwnedPipe(read: OwnedDescriptor(read), write: OwnedDescriptor(write))
    }

    /// Makes reads and writes on `fd` report that they would block instead of waiting.
    static func setNonBlocking(_ fd: Int32) { Descriptor.setNonBlocking(fd) }

    /// Keeps an inherited `fd` from reaching the processes this one spawns.
    static func setCloseOnExec(_ fd: Int32) { Descriptor.setCloseOnExec(fd) }

    /// Starts `path` with `childDescriptors` as its descriptors 3, 4, …; see `poolsys_spawn`.
    static func spawn(path: String, arguments: [String], environment: [String], childDescriptors: [Int32]) throws
        -> Int32
    {
        try ProcessControl.spawn(
            path: path, arguments: arguments, environment: environment, childDescriptors: childDescriptors)
    }

    /// This process's environment as `NAME=value` strings.
    static func environment() -> [String] { Environment.all() }

    /// The value of environment variable `name`, if set.
    static func environmentValue(_ name: String) -> String? { Environment.value(name) }

    /// Removes environment variable `name` (children spawned later do not see it).
    static func removeEnvironmentValue(_ name: String) { Environment.remove(name) }

    /// A remote worker's descriptors: standard input moves to `requests` and standard output
    /// to `replies`; then standard input reads /dev/null and standard output writes where
    /// stderr does.
    static func moveStandardStreams(toRequests requests: Int32, replies: Int32) throws {
        try Descriptor.duplicate(0, onto: requests)
        try Descriptor.duplicate(1, onto: replies)
        try Descriptor.redirectToNull(0)
        try Descriptor.duplicate(2, onto: 1)
    }

    /// Blocks until nobody reads `fd` (a pipe's write end) any more.
    static func waitForHangUp(_ fd: Int32) { Descriptor.waitForHangUp(fd) }

    /// This machine's host name, or nil.
    static func hostName() -> String? { SystemInfo.hostName() }

    /// Writes `line` and a newline to standard error.
    static func printWarning(_ line: String) {
        try? Descriptor.writeAll(2, Array((line + "\n").utf8))
    }

    /// A command started through this process's command guard.
    typealias RunningCommand = ProcessControl.RunningCommand

    /// Starts a worker's launcher (`ssh`, `srun`, …; the first argument looked up in `PATH`)
    /// with its standard input and output on the given pipe ends and stderr this process's, in
    /// a process group of its own that cannot outlive this process (see `poolsys_spawn_command`).
    static func spawnLauncher(
        _ arguments: [String], environment: [String], standardInput: Int32, standardOutput: Int32
    ) throws -> RunningCommand {
        try ProcessControl.spawnCommand(
            arguments, environment: environment, standardInput: standardInput, standardOutput: standardOutput,
            standardError: 2)
    }

    /// Whether a launcher has ended (it is reaped by ``waitForLauncher(_:)``).
    static func hasEnded(_ command: RunningCommand) -> Bool { ProcessControl.hasEnded(command) }

    /// Waits for a launcher to end, kills what is left of its process group and reaps it.
    static func waitForLauncher(_ command: RunningCommand) -> ProcessExit {
        (try? ProcessControl.waitForCommand(command)).map(decode) ?? .unknown
    }

    /// The path of the running executable (`/proc/self/exe` resolved), or nil.
    static func executablePath() -> String? { ProcessControl.executablePath() }

    /// Collects `pid`'s exit status if it has ended; with `blocking`, waits for it to end.
    static func reap(_ pid: Int32, blocking: Bool) -> ProcessExit? {
        do throws(SystemCallError) {
            guard let status = try ProcessControl.wait(for: pid, blocking: blocking) else { return nil }
            return decode(status)
        } catch {
            return .unknown  // ECHILD: not ours to reap, or SIGCHLD is ignored
        }
    }

    /// The exit of a raw `waitpid` status.
    static func decode(_ status: Int32) -> ProcessExit {
        let signal = status & 0x7F
        if signal == 0 { return .exited((status >> 8) & 0xFF) }
        return .signaled(signal)
    }

    /// Sends `signal` (by default `SIGKILL`) to `pid`.
    static func kill(_ pid: Int32, signal: Int32 = Signals.kill) {
        ProcessControl.send(signal, to: pid)
    }

    /// Makes writes to a closed pipe fail with `EPIPE` instead of killing the process, unless
    /// the program already chose its own `SIGPIPE` handling.
    static func ignoreBrokenPipeSignals() {
        Signals.ignoreUnlessHandled(Signals.brokenPipe)
    }

    /// Sleeps about `microseconds` between polls.
    static func pause(microseconds: UInt32) { Sleep.briefly(microseconds: microseconds) }

    /// This process's id.
    static func currentPID() -> Int32 { ProcessControl.currentID }
    /// The parent process's id.
    static func parentPID() -> Int32 { ProcessControl.parentID }

    /// Ends this process at once, without running `atexit` handlers or flushing Swift state.
    static func exitNow(_ status: Int32) -> Never {
        ProcessControl.flushStandardStreams()  // what tasks printed still reaches the parent's stdout
        ProcessControl.exitImmediately(status)
    }

    /// Asks for `SIGKILL` when the parent goes away (Linux); harmless elsewhere.
    static func dieWithParent() {
        ProcessControl.setParentDeathSignal(Signals.kill)
    }

    /// The main executable's GNU build id in hex, or "" when it has none.
    package static let buildID: String = {
        ProcessControl.executableBuildID().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }()
}

/// A pipe's two ends, each closed when dropped unless handed on (``OwnedDescriptor/take()``).
struct OwnedPipe: ~Copyable {
    let read: OwnedDescriptor
    let write: OwnedDescriptor
}
