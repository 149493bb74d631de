internal import PoolSystem

/// A joinable operating-system thread that runs one closure: the pools' own threads, never
/// Swift's cooperative pool (which does not grow when a task blocks). The pthread calls are
/// PoolSystem's (``SystemThread``); this adds what the pools need on top.
package struct PlatformThread: Sendable {
    let thread: SystemThread

    /// Starts a thread named `name` (at most 15 bytes are kept on Linux) running `body`.
    /// - Throws: ``SystemCallError`` from `pthread_create` (for example `EAGAIN` at the
    ///   system's thread limit).
    package static func start(name: String, _ body: @escaping @Sendable () -> Void) throws -> PlatformThread {
        PlatformThread(thread: try SystemThread.start(name: name, body))
    }

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

    /// Waits for the thread to end and releases its resources.
    package func join() {
        thread.join()
    }

    /// Lets the thread release its own resources when it ends; it can no longer be joined.
    package func detach() {
        thread.detach()
    }

    /// The CPU time this thread has used, in nanoseconds, read from its own CPU clock; nil when
    /// the clock cannot be read (the thread has ended). Only for a thread not yet joined: a
    /// joined thread's handle may name another.
    package func cpuNanoseconds() -> Int64? {
        thread.cpuNanoseconds()
    }

    /// Whether the calling thread is this thread.
    var isCurrent: Bool {
        thread.isCurrent
    }

    /// The kernel thread id of the caller (Linux `gettid`), or -1 where there is none.
    package static var currentThreadID: Int {
        SystemThread.currentKernelID
    }
}
