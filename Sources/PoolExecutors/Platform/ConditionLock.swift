import Glibc
internal import PoolSystem

/// A pthread mutex for state that threads must sleep on.
///
/// `Synchronization.Mutex` has no condition variable, so the pools keep their queues under this
/// lock and park idle threads on ``Condition``s tied to it. Both live in manually allocated
/// memory because pthread objects must never move.
// @unchecked: it holds a pointer (never reassigned) to a pthread mutex, which is made for use by any thread.
package final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    package init() {
        mutex = .allocate(capacity: 1)
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "BUG: pthread_mutex_init failed with \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always)
    package func lock() {
        pthread_mutex_lock(mutex)
    }

    @inline(__always)
    package func unlock() {
        pthread_mutex_unlock(mutex)
    }

    @inline(__always)
    func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    fileprivate var rawMutex: UnsafeMutablePointer<pthread_mutex_t> { mutex }
}

/// A condition variable used with one ``ConditionLock``; timed waits use the monotonic clock,
/// so a change of the wall clock never stretches or cuts a timeout.
// @unchecked: it holds a pointer (never reassigned) to a pthread condition, made for use by any thread.
final class Condition: @unchecked Sendable {
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        condition = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if os(Linux)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        let status = pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        precondition(status == 0, "BUG: pthread_cond_init failed with \(status)")
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
    }

    /// Sleeps until signalled; the caller holds `lock` and must recheck its predicate.
    @inline(__always)
    func wait(releasing lock: ConditionLock) {
        pthread_cond_wait(condition, lock.rawMutex)
    }

    /// Sleeps until signalled or until `deadline` (a ``MonotonicClock`` reading) passes.
    /// - Returns: `false` when the deadline passed.
    func wait(releasing lock: ConditionLock, until deadline: UInt64) -> Bool {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(condition, lock.rawMutex, &time) != ETIMEDOUT
    }

    @inline(__always)
    func signal() {
        pthread_cond_signal(condition)
    }

    @inline(__always)
    func broadcast() {
        pthread_cond_broadcast(condition)
    }
}
