import Glibc
import PoolExecutors
internal import PoolSystem

/// The blocking system calls the waiting workloads make, each a real wait the kernel sees.
enum BlockingCalls {
    /// Sleeps `microseconds` in nanosleep.
    static func sleep(microseconds: Int) {
        var request = timespec(tv_sec: microseconds / 1_000_000, tv_nsec: (microseconds % 1_000_000) * 1000)
        var remaining = timespec()
        // Not SystemCall's plain retry: an interrupted nanosleep goes on with the time it had left.
        while nanosleep(&request, &remaining) == -1, errno == EINTR { request = remaining }
    }

    /// Blocks in `read` on a fresh pipe until a helper thread writes `bytes` bytes into it
    /// after `microseconds`. Returns the bytes read.
    static func readPipe(afterMicroseconds microseconds: Int, bytes: Int) throws -> Int {
        guard microseconds >= 0, bytes >= 0 else {
            throw WorkloadError.invalidInput("a pipe read needs a wait and a size of 0 or more")
        }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw WorkloadError.systemCall("pipe", errno) }
        let (reader, writer) = (fds[0], fds[1])
        defer { close(reader) }
        let writerThread = try PlatformThread.start(name: "pa-pipe-writer") {
            sleep(microseconds: microseconds)
            let payload = [UInt8](repeating: 0x2a, count: bytes)
            _ = payload.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
            close(writer)
        }
        defer { writerThread.join() }
        var buffer = [UInt8](repeating: 0, count: bytes)
        var received = 0
        while received < bytes {
            let count = buffer.withUnsafeMutableBytes { buffer in
                SystemCall.retryingInterrupts { read(reader, buffer.baseAddress! + received, bytes - received) }
            }
            guard count > 0 else { break }
            received += count
        }
        return received
    }

    /// Creates a file in the temporary directory, writes `bytes` bytes and fsyncs them `times`
    /// times over, and removes it. Several syncs per file keep the CPU cost of creating and
    /// removing the file small next to the waits on the device.
    static func writeAndSync(bytes: Int, times: Int) throws -> Int {
        guard bytes >= 0, times >= 0 else {
            throw WorkloadError.invalidInput("a write needs a size of 0 bytes or more, not \(bytes)")
        }
        let directory = SystemFiles.environment("TMPDIR") ?? "/tmp"
        var template = Array("\(directory)/pool-advisor-disk-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw WorkloadError.systemCall("mkstemp in \(directory)", errno) }
        defer {
            close(fd)
            unlink(template)
        }
        let block = [UInt8](repeating: 0x5a, count: bytes)
        for _ in 0..<times {
            let written = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            guard written == bytes else { throw WorkloadError.systemCall("write", errno) }
            guard fsync(fd) == 0 else { throw WorkloadError.systemCall("fsync", errno) }
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
        case .systemCall(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        case .invalidInput(let reason): "invalid input: \(reason)"
        }
    }
}
