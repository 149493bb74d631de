import CPoolPlatform
import Glibc

/// A joinable operating-system thread: `pthread_create`, `pthread_join`, `pthread_detach` and
/// the thread's own CPU clock, wrapped once (`sched_yield` is ``Scheduler``'s, beside the locks). The pools' threads (`PlatformThread` in
/// PoolExecutors) are built on it.
// @unchecked: `pthread_t` is an integer on Linux; the handle is a `let`, safe from any thread.
package struct SystemThread: @unchecked Sendable {
    /// The pthread handle.
    let handle: pthread_t

    /// Starts a thread named `name` (at most 15 bytes are kept on Linux) running `body`.
    /// - Throws: ``SystemCallError`` from `pthread_create` (for example `EAGAIN` at the
    ///   system's thread limit).
    package static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemCallError)
        -> SystemThread
    {
        // The context crosses into the new thread as a C pointer: retained here, released there.
        let context = Unmanaged.passRetained(ThreadContext(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        var handle: pthread_t? = pthread_t()
        let status = pthread_create(&handle!, &attributes, threadEntry, context)
        guard status == 0, let started = handle else {
            Unmanaged<ThreadContext>.fromOpaque(context).release()
            throw SystemCallError(call: "pthread_create", errno: status)
        }
        return SystemThread(handle: started)
    }

    /// Waits for the thread to end and releases its resources.
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
    package var isCurrent: Bool {
        pthread_equal(handle, pthread_self()) != 0
    }

    /// The kernel thread id of the caller (Linux `gettid`), or -1 where there is none.
    package static var currentKernelID: Int {
        Int(poolsys_current_thread_id())
    }
}

/// What the new thread needs: its name (set from inside, where Linux allows it) and its body.
private final class ThreadContext {
    let name: String
    let body: @Sendable () -> Void

    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }
}

/// The C entry point `pthread_create` calls.
private func threadEntry(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    runThread(raw!)
    return nil
}

/// Takes back the context retained by ``SystemThread/start(name:_:)``, names the thread, runs it.
private func runThread(_ raw: UnsafeMutableRawPointer) {
    let context = Unmanaged<ThreadContext>.fromOpaque(raw).takeRetainedValue()
    _ = poolsys_set_current_thread_name(context.name)
    context.body()
}
