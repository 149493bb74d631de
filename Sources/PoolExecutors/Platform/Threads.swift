import CPoolPlatform
import Glibc
internal import PoolSystem
import PoolWire

/// A joinable operating-system thread that runs one closure: the pools' own threads, never
/// Swift's cooperative pool (which does not grow when a task blocks).
// @unchecked: `pthread_t` is a pointer on Darwin (an integer on Linux); the handle is a `let`, safe from any thread.
package struct PlatformThread: @unchecked Sendable {
    typealias Handle = pthread_t

    let handle: Handle

    /// Starts a thread named `name` (at most 15 bytes are kept on Linux) running `body`.
    /// - Throws: ``SystemCallError`` from `pthread_create` (for example `EAGAIN` at the
    ///   system's thread limit).
    package static func start(name: String, _ body: @escaping @Sendable () -> Void) throws -> PlatformThread {
        let context = Unmanaged.passRetained(ThreadContext(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        var handle: Handle? = Handle()
        let status = pthread_create(&handle!, &attributes, threadEntry, context)
        guard status == 0, let started = handle else {
            Unmanaged<ThreadContext>.fromOpaque(context).release()
            throw SystemCallError(call: "pthread_create", errno: status)
        }
        return PlatformThread(handle: started)
    }

    /// Waits for the thread to end and releases its resources.
    /// Runs blocking `work` on a new detached thread of its own and suspends until it finishes:
    /// the `async` forms use it so that waiting never blocks a cooperative thread.
    package static func result<Value: Sendable>(
        name: String, _ work: @escaping @Sendable () throws -> Value
    ) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            do {
                try start(name: name) { continuation.resume(with: Result { try work() }) }.detach()
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    package func join() {
        pthread_join(handle, nil)
    }

    /// Lets the thread release its own resources when it ends; it can no longer be joined.
    package func detach() {
        pthread_detach(handle)
    }

    /// The CPU time this thread has used, in nanoseconds, read from its own CPU clock; nil when
    /// the clock cannot be read (the thread has ended). Only for a thread not yet joined: a
    /// joined thread's handle may name another.
    package func cpuNanoseconds() -> Int64? {
        var clock = clockid_t()
        guard pthread_getcpuclockid(handle, &clock) == 0 else { return nil }
        var now = timespec()
        guard clock_gettime(clock, &now) == 0 else { return nil }
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// Whether the calling thread is this thread.
    var isCurrent: Bool {
        pthread_equal(handle, pthread_self()) != 0
    }

    /// The kernel thread id of the caller (Linux `gettid`), or -1 where there is none.
    package static var currentThreadID: Int {
        Int(poolsys_current_thread_id())
    }
}

private final class ThreadContext {
    let name: String
    let body: @Sendable () -> Void

    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }
}

private func threadEntry(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    runThread(raw!)
    return nil
}

private func runThread(_ raw: UnsafeMutableRawPointer) {
    let context = Unmanaged<ThreadContext>.fromOpaque(raw).takeRetainedValue()
    _ = poolsys_set_current_thread_name(context.name)
    context.body()
}
