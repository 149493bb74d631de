import CPoolPlatform
import Glibc

/// The process calls: spawning workers and commands (CPoolPlatform's `posix_spawn` and clone
/// glue), reaping, signalling, exiting, identity.
package enum ProcessControl {
    /// A command started by ``spawnCommand(_:environment:standardOutput:standardError:)``: its
    /// pid and the command guard's slot, both needed to wait for it.
    package struct RunningCommand: Sendable {
        /// The command's pid, also the id of its process group.
        package let pid: Int32
        /// Its slot in the command guard (-1 when the guard had none free).
        let slot: Int32
    }

    /// This process's id (`getpid`).
    package static var currentID: Int32 { getpid() }

    /// The parent process's id (`getppid`): 1 or a subreaper once the parent has gone.
    package static var parentID: Int32 { getppid() }
    /// This process's real user id.
    package static var currentUserID: UInt32 { UInt32(getuid()) }

    /// Starts `path` with `childDescriptors` as its descriptors 3, 4, …, stdin on /dev/null,
    /// every other descriptor closed and default signal handling (see `poolsys_spawn`).
    /// - Throws: ``SystemCallError`` naming `posix_spawn` and the path.
    package static func spawn(path: String, arguments: [String], environment: [String], childDescriptors: [Int32])
        throws(SystemCallError) -> Int32
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

    /// Starts the command `arguments` (the first looked up in `PATH`) in a process group of its
    /// own, stdout and stderr on the given descriptors, tied to this process's command guard so
    /// that it cannot outlive this process (see `poolsys_spawn_command`).
    /// - Throws: ``SystemCallError`` when it cannot be started (not found, not executable).
    /// `standardInput` nil reads /dev/null.
    package static func spawnCommand(
        _ arguments: [String], environment: [String], standardInput: Int32? = nil, standardOutput: Int32,
        standardError: Int32
    ) throws(SystemCallError) -> RunningCommand {
        var pid: pid_t = 0
        var slot: Int32 = -1
        let status = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                poolsys_spawn_command(argv, envp, standardInput ?? -1, standardOutput, standardError, &pid, &slot)
            }
        }
        guard status == 0 else { throw SystemCallError(call: "posix_spawn", errno: status) }
        return RunningCommand(pid: pid, slot: slot)
    }

    /// Waits for `command` to end, kills what is left of its process group and reaps it
    /// (see `poolsys_wait_command`); returns the raw `waitpid` status.
    package static func waitForCommand(_ command: RunningCommand) throws(SystemCallError) -> Int32 {
        var waitStatus: Int32 = 0
        let status = poolsys_wait_command(command.pid, command.slot, &waitStatus)
        guard status == 0 else { throw SystemCallError(call: "waitpid", errno: status) }
        return waitStatus
    }

    /// Whether `command` has ended; it stays unreaped for ``waitForCommand(_:)``.
    package static func hasEnded(_ command: RunningCommand) -> Bool {
        poolsys_command_has_ended(command.pid) != 0
    }

    /// `waitpid(2)` for one child, retried on `EINTR`: its raw status once it has ended, nil
    /// while it runs (only without `blocking`).
    /// - Throws: ``SystemCallError``, `ECHILD` when it is not ours to reap or `SIGCHLD` is ignored.
    package static func wait(for pid: Int32, blocking: Bool) throws(SystemCallError) -> Int32? {
        var status: Int32 = 0
        let result = try SystemCall.value("waitpid") { waitpid(pid, &status, blocking ? 0 : WNOHANG) }
        return result == pid ? status : nil
    }

    /// Sends `signal` to `pid` (`kill(2)`); a process already gone is not an error worth reporting.
    package static func send(_ signal: Int32, to pid: Int32) {
        _ = kill(pid, signal)
    }

    /// Asks the kernel to send `signal` to this process when the thread that spawned it exits
    /// (`PR_SET_PDEATHSIG`). Best effort: refused, the process simply lives on.
    package static func setParentDeathSignal(_ signal: Int32) {
        _ = poolsys_set_parent_death_signal(signal)
    }

    /// Flushes every C standard stream (`fflush(NULL)`): what a task printed through C stdio
    /// reaches its destination before an ``exitImmediately(_:)``.
    package static func flushStandardStreams() {
        fflush(nil)
    }

    /// Ends the process at once with `status` (`_exit`): no `atexit` handlers, no flushing,
    /// nothing that could wait on another thread.
    package static func exitImmediately(_ status: Int32) -> Never {
        _exit(status)
    }

    /// Ends the process with `status` the ordinary way (`exit`): `atexit` handlers run.
    package static func exit(_ status: Int32) -> Never {
        Glibc.exit(status)
    }

    /// The path of the running executable (`/proc/self/exe` resolved), or nil.
    package static func executablePath() -> String? {
        guard let path = try? Files.linkTarget("/proc/self/exe", capacity: 4096), !path.isEmpty else { return nil }
        return path
    }

    /// The main executable's GNU build-id note (at most 64 bytes), empty when it has none.
    package static func executableBuildID() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 64)
        let length = poolsys_executable_build_id(&bytes, bytes.count)
        return Array(bytes.prefix(length))
    }

    /// Calls `body` with a NULL-terminated C array of copies of `strings`, freed afterwards.
    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers = strings.map { strdup($0) }
        pointers.append(nil)
        defer { pointers.forEach { free($0) } }
        return body(pointers)
    }
}
