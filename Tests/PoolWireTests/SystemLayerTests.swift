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

    /// Whether `fd` is an open descriptor of this process.
    func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) != -1 }

    @Test("an owned descriptor is closed when its owner ends, once; take() hands it on open")
    func ownedDescriptor() throws {
        let first = try SystemCall.value("open") { open("/dev/null", O_RDONLY | O_CLOEXEC) }
        do {
            let owner = OwnedDescriptor(first)
            #expect(owner.rawValue == first && isOpen(first))
        }
        #expect(!isOpen(first), "the owner's end did not close it")
        let second = try SystemCall.value("open") { open("/dev/null", O_RDONLY | O_CLOEXEC) }
        let raw = OwnedDescriptor(second).take()
        #expect(raw == second && isOpen(second), "take() closed it")
        let explicit = OwnedDescriptor(raw)
        explicit.close()
        #expect(!isOpen(raw))
    }

    @Test("writeAll writes every byte through a pipe smaller than the data")
    func writeAll() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
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

    @Test("the environment reader sees what this process sets and removes")
    func environment() {
        setenv("POOL_ADVISOR_SYSTEM_TEST", "x", 1)
        #expect(Environment.value("POOL_ADVISOR_SYSTEM_TEST") == "x" && Environment.isSet("POOL_ADVISOR_SYSTEM_TEST"))
        Environment.remove("POOL_ADVISOR_SYSTEM_TEST")
        #expect(Environment.value("POOL_ADVISOR_SYSTEM_TEST") == nil && !Environment.isSet("POOL_ADVISOR_SYSTEM_TEST"))
        #expect(MonotonicClock.nanoseconds() <= MonotonicClock.nanoseconds())
    }
}
