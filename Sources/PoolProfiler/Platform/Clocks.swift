import CPoolPlatform
import Glibc
internal import PoolSystem

/// The clocks and usage counters the profiler reads, in nanoseconds.
///
/// Every figure here is exact (kernel accounting), not sampled: `CLOCK_THREAD_CPUTIME_ID` is the
/// scheduler's own sum of the thread's run time, and `getrusage` counts context switches.
enum Clocks {
    /// Monotonic wall time (vDSO: no system call): the platform layer's one clock.
    @inline(__always)
    static func monotonic() -> Int64 { Int64(truncatingIfNeeded: MonotonicClock.nanoseconds()) }

    /// CPU time of the calling thread.
    @inline(__always)
    static func threadCPU() -> Int64 { read(CLOCK_THREAD_CPUTIME_ID) }

    /// CPU time of the whole process: every thread, including helpers a task starts.
    @inline(__always)
    static func processCPU() -> Int64 { read(CLOCK_PROCESS_CPUTIME_ID) }

    /// `seconds` as a span in nanoseconds, clamped to 0…10⁹ s instead of trapping: options set
    /// in code can hold NaN, infinity or 10³⁰⁰, and a deadline is the clock plus this span.
    static func nanoseconds(_ seconds: Double) -> Int64 {
        // NaN fails the comparison; infinity is clamped by `min`.
        guard seconds > 0 else { return 0 }
        return Int64(min(seconds, 1e9) * 1e9)
    }

    /// CPU time of children this process has reaped (tasks that run subprocesses).
    static func childrenCPU() -> Int64 { poolsys_children_cpu_ns() }

    /// Context switches of the calling thread: (voluntary, involuntary), or zeros where the
    /// platform has no per-thread usage.
    static func threadSwitches() -> (voluntary: Int64, involuntary: Int64) {
        var voluntary = 0
        var involuntary = 0
        var cpu: Int64 = 0
        guard poolsys_thread_usage(&voluntary, &involuntary, &cpu) == 0 else { return (0, 0) }
        return (Int64(voluntary), Int64(involuntary))
    }

    /// Sleeps until the monotonic clock reaches `deadline` (absolute, so wake-up lateness does
    /// not accumulate from tick to tick).
    static func sleep(untilMonotonic deadline: Int64) {
        var target = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        _ = SystemCall.retryingInterruptedStatus { clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) }
    }

    @inline(__always)
    private static func read(_ clock: clockid_t) -> Int64 {
        var now = timespec()
        clock_gettime(clock, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

extension Int64 {
    /// Nanoseconds as seconds.
    var seconds: Double { Double(self) / 1e9 }
}
