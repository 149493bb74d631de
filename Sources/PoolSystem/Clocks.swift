// CPUClock is public, and the imports with it, for the reason ConditionLock is (see
// Locks.swift): its reads are inlined into the profiler only as public @inlinable functions.
public import CPoolPlatform
public import Glibc

/// The CPU-time clocks and usage counters, in nanoseconds: exact kernel accounting, not
/// sampling. `CLOCK_THREAD_CPUTIME_ID` is the scheduler's own sum of the thread's run time.
public enum CPUClock {
    /// CPU time of the calling thread. Read around every profiled call, so inlined to the bare
    /// `clock_gettime` (served from the vDSO).
    @inlinable @inline(__always)
    public static func thread() -> Int64 { read(CLOCK_THREAD_CPUTIME_ID) }

    /// CPU time of the whole process: every thread, including helpers a task starts.
    @inlinable @inline(__always)
    public static func process() -> Int64 { read(CLOCK_PROCESS_CPUTIME_ID) }

    /// CPU time of the children this process has reaped (`getrusage(RUSAGE_CHILDREN)`), 0
    /// where it cannot be read.
    package static func reapedChildren() -> Int64 { poolsys_children_cpu_ns() }

    /// Context switches of the calling thread (`getrusage(RUSAGE_THREAD)`): voluntary (it
    /// blocked) and involuntary (it was preempted); nil where the platform has no per-thread usage.
    package static func threadSwitches() -> (voluntary: Int64, involuntary: Int64)? {
        var voluntary = 0
        var involuntary = 0
        var cpu: Int64 = 0
        guard poolsys_thread_usage(&voluntary, &involuntary, &cpu) == 0 else { return nil }
        return (Int64(voluntary), Int64(involuntary))
    }

    /// `clock`'s reading in nanoseconds.
    @inlinable @inline(__always)
    static func read(_ clock: clockid_t) -> Int64 {
        var now = timespec()
        clock_gettime(clock, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

/// The wall clock (`CLOCK_REALTIME`): for time stamps only, never for intervals, since it jumps
/// when the system's time is set (``MonotonicClock`` is the one for intervals).
package enum WallClock {
    /// Seconds since the Unix epoch, with the fraction.
    package static func seconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// The ways a thread sleeps; each a different C call, kept for what its caller needs.
package enum Sleep {
    /// Sleeps until the monotonic clock reaches `deadline` nanoseconds (`clock_nanosleep` with
    /// `TIMER_ABSTIME`, retried on `EINTR`): absolute, so wake-up lateness does not accumulate
    /// from tick to tick.
    package static func until(monotonicNanoseconds deadline: Int64) {
        var target = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        _ = SystemCall.retryingInterruptedStatus { clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) }
    }

    /// Sleeps `microseconds` in `nanosleep`, a wait the kernel accounts as one. Not the plain
    /// retry: an interrupted sleep goes on with the time it had left.
    package static func full(microseconds: Int) {
        var request = timespec(tv_sec: microseconds / 1_000_000, tv_nsec: (microseconds % 1_000_000) * 1000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1, errno == EINTR { request = remaining }
    }

    /// Sleeps about `microseconds` (`usleep`); a signal may end it early, which pollers that
    /// look again anyway do not mind.
    package static func briefly(microseconds: UInt32) {
        _ = usleep(microseconds)
    }

    /// Sleeps `seconds` (`sleep`), for a thread parked until the process exits; a signal may
    /// end it early, so callers loop.
    package static func seconds(_ seconds: UInt32) {
        _ = Glibc.sleep(seconds)
    }
}
