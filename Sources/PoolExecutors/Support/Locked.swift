internal import PoolSystem

/// A value guarded by a pthread mutex.
///
/// Used instead of `Synchronization.Mutex` where threads contend: that mutex hands ownership
/// over inside the kernel (PI futex), which ThreadSanitizer cannot see, so every contended
/// hand-off would be reported as a race and hide real ones. A pthread mutex is intercepted by
/// the sanitizer and costs the same here.
package final class Locked<State> {
    private let lock = ConditionLock()
    private var state: State

    package init(_ state: State) {
        self.state = state
    }

    @inline(__always)
    package func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&state)
    }
}

/// Sendable only when `State` is: a value handed out of `withLock` (a class instance, say) can
/// reach another thread, where the lock no longer guards it. A holder of non-Sendable state
/// (ThreadSampler's open `/proc` files) is then not Sendable unless it says why it may be.
// @unchecked: `state` is read and written only under `lock`.
extension Locked: @unchecked Sendable where State: Sendable {}
