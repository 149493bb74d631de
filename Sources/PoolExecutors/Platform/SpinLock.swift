import CPoolPlatform
internal import PoolSystem
import Synchronization

/// A lock stored inline in its owner, for critical sections of a few instructions.
///
/// A future's state is touched by at most its submitter and one worker, each for a few
/// field writes, and never while calling user code; a pthread mutex there would cost two more
/// allocations per task. This lock spins briefly, then yields the CPU so that a preempted
/// holder can finish. It is built on `Atomic`, so ThreadSanitizer sees its ordering.
struct SpinLock: ~Copyable, Sendable {
    private let held = Atomic<Bool>(false)

    init() {}

    @inline(__always)
    func lock() {
        if !held.exchange(true, ordering: .acquiring) { return }
        lockContended()
    }

    @inline(never)
    private func lockContended() {
        var spins = 0
        while true {
            while held.load(ordering: .relaxed) {
                if spins < 64 {
                    poolsys_cpu_relax()
                    spins += 1
                } else {
                    Scheduler.yield()
                }
            }
            if !held.exchange(true, ordering: .acquiring) { return }
        }
    }

    @inline(__always)
    func unlock() {
        held.store(false, ordering: .releasing)
    }
}

/// Polls `condition` for a few microseconds before a thread commits to sleeping.
///
/// Waking a sleeping thread costs a system call on each side (several µs on a VM); when the
/// awaited event is that close, spinning first saves both. Bounded: at most `iterations`
/// CPU-relax hints (about 10–30 µs), so an idle pool burns almost nothing.
@inline(__always)
func spinBriefly(iterations: Int = 1_000, until condition: () -> Bool) -> Bool {
    for _ in 0..<iterations {
        if condition() { return true }
        poolsys_cpu_relax()
    }
    return condition()
}
