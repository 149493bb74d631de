internal import PoolSystem

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
        let thread = SystemThread.currentKernelID
        let outputFile = try SharedMemory.create(name: "pool-advisor-command-out.tid-\(thread)", bytes: 0)
        defer { Descriptor.close(outputFile) }
        let errorFile = try SharedMemory.create(name: "pool-advisor-command-err.tid-\(thread)", bytes: 0)
        defer { Descriptor.close(errorFile) }
        let command: ProcessControl.RunningCommand
        do throws(SystemCallError) {
            command = try ProcessControl.spawnCommand(
                arguments, environment: Environment.all().filter { !$0.hasPrefix(retriesVariable + "=") },
                standardOutput: outputFile, standardError: errorFile)
        } catch {
            return Finished(
                exit: .exited(127), standardOutput: [], standardError: Array("\(program): \(error.reason)\n".utf8))
        }
        // This thread waits until the command ends: its parent-death signal is tied to this
        // thread, so the thread must not end first.
        let exit = (try? ProcessControl.waitForCommand(command)).map(Processes.decode) ?? .unknown
        return Finished(exit: exit, standardOutput: readAll(outputFile), standardError: readAll(errorFile))
    }

    /// Everything written to the capture file `fd`, read from its start (`pread`: the offset
    /// the command's writes moved is shared and left alone); a failed read ends it early.
    private static func readAll(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var offset = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                (try? Files.read(fd, into: buffer, at: offset)) ?? -1
            }
            if count <= 0 { return bytes }
            bytes.append(contentsOf: chunk.prefix(count))
            offset += count
        }
    }
}
