import PoolExecutors
internal import PoolSystem

/// The blocking system calls the waiting workloads make, each a real wait the kernel sees.
enum BlockingCalls {
    /// Sleeps `microseconds` in nanosleep (an interrupted sleep goes on with the time it had left).
    static func sleep(microseconds: Int) {
        Sleep.full(microseconds: microseconds)
    }

    /// Blocks in `read` on a fresh pipe until a helper thread writes `bytes` bytes into it
    /// after `microseconds`. Returns the bytes read.
    static func readPipe(afterMicroseconds microseconds: Int, bytes: Int) throws -> Int {
        guard microseconds >= 0, bytes >= 0 else {
            throw WorkloadError.invalidInput("a pipe read needs a wait and a size of 0 or more")
        }
        let (reader, writer): (Int32, Int32)
        do throws(SystemCallError) {
            (reader, writer) = try Descriptor.makePipe()
        } catch {
            throw WorkloadError.systemCall("pipe", error.errno)
        }
        defer { Descriptor.close(reader) }
        let writerThread: PlatformThread
        do {
            writerThread = try PlatformThread.start(name: "pa-pipe-writer") {
                sleep(microseconds: microseconds)
                // One blocking write puts the whole payload in the pipe (or fails, ending the read early).
                try? Descriptor.writeAll(writer, [UInt8](repeating: 0x2a, count: bytes))
                Descriptor.close(writer)
            }
        } catch {
            // The thread that would have closed the write end never ran.
            Descriptor.close(writer)
            throw error
        }
        defer { writerThread.join() }
        var buffer = [UInt8](repeating: 0, count: bytes)
        var received = 0
        while received < bytes {
            let count = buffer.withUnsafeMutableBytes { buffer -> Int in
                let progress = try? Descriptor.read(
                    reader, into: buffer.baseAddress! + received, count: bytes - received)
                guard case .moved(let count)? = progress else { return -1 }
                return count
            }
            guard count > 0 else { break }
            received += count
        }
        return received
    }

    /// The largest block ``writeAndSync(bytes:times:)`` writes.
    static let maximumWriteBytes = 64 << 20

    /// Creates a file in the temporary directory, writes `bytes` bytes and fsyncs them `times`
    /// times over, and removes it. Several syncs per file keep the CPU cost of creating and
    /// removing the file small next to the waits on the device.
    static func writeAndSync(bytes: Int, times: Int) throws -> Int {
        guard bytes >= 0, times >= 0 else {
            throw WorkloadError.invalidInput("a write needs a size of 0 bytes or more, not \(bytes)")
        }
        // Bounded like every workload's input: a hostile line must not ask for exabytes (the
        // buffer's allocation, and `bytes * times`, would trap).
        guard bytes <= maximumWriteBytes else {
            throw WorkloadError.invalidInput(
                "a write of at most \(maximumWriteBytes) bytes (64 MiB), not \(bytes): the input is the block size")
        }
        let directory = SystemFiles.environment("TMPDIR") ?? "/tmp"
        let (fd, path): (Int32, String)
        do throws(SystemCallError) {
            (fd, path) = try Files.createTemporary(prefix: "\(directory)/pool-advisor-disk-")
        } catch {
            throw WorkloadError.systemCall("mkstemp in \(directory)", error.errno)
        }
        defer {
            Descriptor.close(fd)
            try? Files.remove(path)
        }
        let block = [UInt8](repeating: 0x5a, count: bytes)
        for _ in 0..<times {
            do throws(SystemCallError) {
                // A short write goes on with the rest; one that cannot reports its own error.
                try Files.writeAll(fd, block, at: 0)
            } catch {
                throw WorkloadError.systemCall("pwrite", error.errno)
            }
            do throws(SystemCallError) {
                try Files.synchronize(fd)
            } catch {
                throw WorkloadError.systemCall("fsync", error.errno)
            }
        }
        return bytes * times
    }
}

/// A workload's system call failed.
public enum WorkloadError: Error, CustomStringConvertible {
    case systemCall(String, Int32)
    /// An input the workload cannot run (a negative size, say).
    case invalidInput(String)

    public var description: String {
        switch self {
        case .systemCall(let call, let code): "\(call) failed: \(SystemCall.errorText(code))"
        case .invalidInput(let reason): "invalid input: \(reason)"
        }
    }
}
