// Public, not package, and the imports public: this toolchain inlines a `public` @inlinable
// function into other modules but calls a `package` one out of line, and a public inlinable
// body may only name what its file imports publicly. (`timespec` and the pthread types reach
// this file through CPoolPlatform's header as well as through Glibc.) PoolSystem is no
// product, so `public` here is still visible only inside the package.
public import CPoolPlatform
public import Glibc

/// A pthread mutex for state that threads must sleep on.
///
/// `Synchronization.Mutex` has no condition variable, so the pools keep their queues under this
/// lock and park idle threads on ``Condition``s tied to it. Both live in manually allocated
/// memory because pthread objects must never move.
///
/// Every submit to a thread pool takes this lock, so its calls are `@inlinable`: the pools'
/// module inlines each one down to the bare pthread call, as when the lock lived there.
// @unchecked: it holds a pointer (never reassigned) to a pthread mutex, which is made for use by any thread.
public final class ConditionLock: @unchecked Sendable {
    /// The mutex, allocated once and initialised in place; `@usableFromInline` for the inlined calls.
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>

    /// A new, unlocked mutex with the default (fast, non-recursive) attributes.
    @inlinable
    public init() {
        mutex = .allocate(capacity: 1)
        // Adaptive: a thread that finds the lock held spins briefly before it sleeps. The pools'
        // critical sections are a few dozen instructions, and on a VM the futex sleep and wake a
        // plain mutex costs under contention take longer than waiting them out.
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        let status = pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
        precondition(status == 0, "BUG: pthread_mutex_init failed with \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Takes the lock, sleeping while another thread holds it.
    @inlinable @inline(__always)
    public func lock() {
        pthread_mutex_lock(mutex)
    }

    /// Takes the lock if no thread holds it; never sleeps. True when taken.
    @inlinable @inline(__always)
    public func tryLock() -> Bool {
        pthread_mutex_trylock(mutex) == 0
    }

    /// Releases the lock, which the calling thread holds.
    @inlinable @inline(__always)
    public func unlock() {
        pthread_mutex_unlock(mutex)
    }

    /// Runs `body` holding the lock.
    @inlinable @inline(__always)
    public func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// A condition variable used with one ``ConditionLock``; timed waits use the monotonic clock,
/// so a change of the wall clock never stretches or cuts a timeout.
// @unchecked: it holds a pointer (never reassigned) to a pthread condition, made for use by any thread.
public final class Condition: @unchecked Sendable {
    /// The condition, allocated once and initialised in place; `@usableFromInline` for the inlined calls.
    @usableFromInline let condition: UnsafeMutablePointer<pthread_cond_t>

    /// A new condition whose timed waits read `CLOCK_MONOTONIC`.
    @inlinable
    public init() {
        condition = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        let status = pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        precondition(status == 0, "BUG: pthread_cond_init failed with \(status)")
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
    }

    /// Sleeps until signalled; the caller holds `lock` and must recheck its predicate.
    @inlinable @inline(__always)
    public func wait(releasing lock: ConditionLock) {
        pthread_cond_wait(condition, lock.mutex)
    }

    /// Sleeps until signalled or until `deadline` (a ``MonotonicClock`` reading) passes.
    /// - Returns: `false` when the deadline passed.
    @inlinable
    public func wait(releasing lock: ConditionLock, until deadline: UInt64) -> Bool {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(condition, lock.mutex, &time) != ETIMEDOUT
    }

    /// Wakes one thread waiting on this condition, if any.
    @inlinable @inline(__always)
    public func signal() {
        pthread_cond_signal(condition)
    }

    /// Wakes every thread waiting on this condition.
    @inlinable @inline(__always)
    public func broadcast() {
        pthread_cond_broadcast(condition)
    }
}

/// The scheduler's one call a lock needs: giving up the CPU while another thread holds it.
public enum Scheduler {
    /// Gives up the CPU to another runnable thread (`sched_yield`): a spinning lock's back-off.
    /// Inlinable, like the locks, since it sits in a contended lock's loop.
    @inlinable @inline(__always)
    public static func yield() {
        sched_yield()
    }
}
