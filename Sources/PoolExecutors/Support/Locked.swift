/// A value guarded by a pthread mutex.
///
/// Used instead of `Synchronization.Mutex` where threads contend: that mutex hands ownership
/// over inside the kernel (PI futex), which ThreadSanitizer cannot see, so every contended
/// hand-off would be reported as a race and hide real ones. A pthread mutex is intercepted by
/// the sanitizer and costs the same here.
package final class Locked<State>: @unchecked Sendable {
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
