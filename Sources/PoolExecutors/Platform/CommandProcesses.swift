import CPoolPlatform
internal import PoolSystem
import PoolWire

#if canImport(Glibc)
    import Glibc
#endif

/// Running an external command to completion with its output captured: the one place commands
/// are spawned. Output goes to anonymous memory files rather than pipes, so a command that
/// writes a lot to both streams can never deadlock against a reader.
///
/// No command outlives this process (see `poolsys_spawn_command`): each runs in a process group
/// of its own with a parent-death signal, a guard process kills the groups still running when
/// this process ends, and a finished command's group is killed before it is reaped, so nothing
/// it left in the background keeps running either.
package enum CommandProcesses {
    /// What a finished command left behind.
    package struct Finished {
        package var exit: ProcessExit
        package var standardOutput: [UInt8]
        package var standardError: [UInt8]
    }

    /// Runs `arguments` (the first is looked up in `PATH`) and waits for it.
    /// - Throws: ``SystemCallError`` if the capture files cannot be made. A command that cannot
    ///   be started (not found, not executable) finishes with status 127 and the reason on stderr,
    ///   as a shell would report it.
    package static func run(_ arguments: [String]) throws -> Finished {
        guard let program = arguments.first, !program.isEmpty else {
            return Finished(exit: .exited(127), standardOutput: [], standardError: Array("empty command\n".utf8))
        }
        // Named after the calling thread, which waits for the command: someone reading this
        // process's descriptors can tell whose capture files they are.
        let thread = poolsys_current_thread_id()
        let output = poolsys_shared_memory("pool-advisor-command-out.tid-\(thread)", 0)
        guard output >= 0 else { throw SystemCallError(call: "memfd_create", errno: errno) }
        defer { close(output) }
        let error = poolsys_shared_memory("pool-advisor-command-err.tid-\(thread)", 0)
        guard error >= 0 else { throw SystemCallError(call: "memfd_create", errno: errno) }
        defer { close(error) }
        var pid: pid_t = 0
        var slot: Int32 = -1
        let status = Processes.withCStrings(arguments) { argv in
            Processes.withCStrings(Processes.environment()) { envp in
                poolsys_spawn_command(argv, envp, output, error, &pid, &slot)
            }
        }
        guard status == 0 else {
            let reason = String(cString: strerror(status))
            return Finished(
                exit: .exited(127), standardOutput: [], standardError: Array("\(program): \(reason)\n".utf8))
        }
        // This thread waits until the command ends: its parent-death signal is tied to this
        // thread, so the thread must not end first.
        var waitStatus: Int32 = 0
        let exit = poolsys_wait_command(pid, slot, &waitStatus) == 0 ? Processes.decode(waitStatus) : .unknown
        return Finished(exit: exit, standardOutput: readAll(output), standardError: readAll(error))
    }

    private static func readAll(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var offset: off_t = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                SystemCall.retryingInterrupts { pread(fd, buffer.baseAddress, buffer.count, offset) }
            }
            if count <= 0 { return bytes }
            bytes.append(contentsOf: chunk.prefix(count))
            offset += off_t(count)
        }
    }
}
