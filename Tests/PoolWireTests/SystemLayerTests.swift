import CPoolPlatform
import Foundation
import Glibc
import PoolSystem
import Testing

/// The platform layer's wrappers: one retry loop, typed errors, a descriptor closed once.
@Suite("Platform layer")
struct SystemLayerTests {
    @Test("an interrupted call is retried; its other failures come back with errno, or thrown by name")
    func retries() throws {
        var attempts = 0
        let result = SystemCall.retryingInterrupts { () -> Int32 in
            attempts += 1
            if attempts < 3 {
                errno = EINTR
                return -1
            }
            return 7
        }
        #expect(result == 7 && attempts == 3)
        let failed = SystemCall.retryingInterrupts { () -> Int32 in
            errno = EAGAIN
            return -1
        }
        #expect(failed == -1 && errno == EAGAIN)
        #expect(throws: SystemCallError(call: "open", errno: ENOENT)) {
            try SystemCall.value("open") { open("/nonexistent/pool-advisor", O_RDONLY) }
        }
        var statuses = [EINTR, EINTR, 0]
        #expect(SystemCall.retryingInterruptedStatus { statuses.removeFirst() } == 0 && statuses.isEmpty)
    }

    /// A pipe's two ends, raw.
    func makePipe() -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        // Close-on-exec from the start: a process another suite spawns meanwhile must not hold
        // the write end open (its reader would then never see the end of the file).
        #expect(poolsys_pipe_cloexec(&fds) == 0)
        return (fds[0], fds[1])
    }

    /// Whether the pipe's write end was closed: its reader sees the end of the file. (Not a
    /// check of the descriptor number, which another suite may have reopened meanwhile.)
    func writerClosed(reading fd: Int32) -> Bool {
        var byte: UInt8 = 0
        return SystemCall.retryingInterrupts { read(fd, &byte, 1) } == 0
    }

    @Test("an owned descriptor is closed when its owner ends, once; take() hands it on open")
    func ownedDescriptor() throws {
        let first = makePipe()
        do {
            let owner = OwnedDescriptor(first.write)
            #expect(owner.rawValue == first.write)
        }
        #expect(writerClosed(reading: first.read), "the owner's end did not close it")
        Descriptor.close(first.read)
        let second = makePipe()
        let raw = OwnedDescriptor(second.write).take()
        #expect(raw == second.write)
        // Still open: a byte goes through.
        var byte: UInt8 = 7
        #expect(write(raw, &byte, 1) == 1)
        byte = 0
        #expect(read(second.read, &byte, 1) == 1 && byte == 7)
        OwnedDescriptor(raw).close()
        #expect(writerClosed(reading: second.read))
        Descriptor.close(second.read)
    }

    @Test("writeAll writes every byte through a pipe smaller than the data")
    func writeAll() throws {
        var fds: [Int32] = [-1, -1]
        #expect(poolsys_pipe_cloexec(&fds) == 0)
        let reader = OwnedDescriptor(fds[0])
        let writer = OwnedDescriptor(fds[1])
        let bytes = (0..<(200 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        // A pipe holds 64 KiB: the writer blocks until this thread reads.
        // On a thread of its own, not a task: a blocked write must not hold a cooperative thread.
        let target = writer.rawValue
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: SystemCallError?
        let thread = Thread {
            do throws(SystemCallError) { try Descriptor.writeAll(target, bytes) } catch { failure = error }
            done.signal()
        }
        thread.start()
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while received.count < bytes.count {
            let count = chunk.withUnsafeMutableBytes { buffer in
                SystemCall.retryingInterrupts { read(reader.rawValue, buffer.baseAddress, buffer.count) }
            }
            guard count > 0 else { break }
            received += chunk.prefix(count)
        }
        done.wait()
        #expect(failure == nil)
        #expect(received == bytes)
        writer.close()
        reader.close()
    }

    @Test("the environment reader reads this process's environment")
    func environment() {
        // Read only: other suites walk the environment while they spawn workers.
        #expect(Environment.value("PATH") == getenv("PATH").map { String(cString: $0) })
        #expect(Environment.value("PATH") != nil && Environment.isSet("PATH"))
        #expect(Environment.value("POOL_ADVISOR_NEVER_SET_IN_TESTS") == nil)
        #expect(!Environment.isSet("POOL_ADVISOR_NEVER_SET_IN_TESTS"))
        #expect(MonotonicClock.nanoseconds() <= MonotonicClock.nanoseconds())
    }
}
