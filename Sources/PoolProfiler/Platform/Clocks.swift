internal import PoolSystem

/// The clocks and usage counters the profiler reads, in nanoseconds (PoolSystem's clocks).
///
/// Every figure here is exact (kernel accounting), not sampled: `CLOCK_THREAD_CPUTIME_ID` is the
/// scheduler's own sum of the thread's run time, and `getrusage` counts context switches.
enum Clocks {
    /// Monotonic wall time (vDSO: no system call): the platform layer's one clock.
    @inline(__always)
    static func monotonic() -> Int64 { Int64(truncatingIfNeeded: MonotonicClock.nanoseconds()) }

    /// CPU time of the calling thread.
    @inline(__always)
    static func threadCPU() -> Int64 { CPUClock.thread() }

    /// CPU time of the whole process: every thread, including helpers a task starts.
    @inline(__always)
    static func processCPU() -> Int64 { CPUClock.process() }

    /// `seconds` as a span in nanoseconds, clamped to 0…10⁹ s instead of trapping: options set
    /// in code can hold NaN, infinity or 10³⁰⁰, and a deadline is the clock plus this span.
    static func nanoseconds(_ seconds: Double) -> Int64 {
        // NaN fails the comparison; infinity is clamped by `min`.
        guard seconds > 0 else { return 0 }
        return Int64(min(seconds, 1e9) * 1e9)
    }

    /// CPU time of children this process has reaped (tasks that run subprocesses).
    static func childrenCPU() -> Int64 { CPUClock.reapedChildren() }

    /// Context switches of the calling thread: (voluntary, involuntary), or zeros where the
    /// platform has no per-thread usage.
    static func threadSwitches() -> (voluntary: Int64, involuntary: Int64) {
        CPUClock.threadSwitches() ?? (0, 0)
    }

    /// Sleeps until the monotonic clock reaches `deadline` (absolute, so wake-up lateness does
    /// not accumulate from tick to tick).
    static func sleep(untilMonotonic deadline: Int64) {
        Sleep.until(monotonicNanoseconds: deadline)
    }
}

extension Int64 {
    /// Nanoseconds as seconds.
    var seconds: Double { Double(self) / 1e9 }
}
