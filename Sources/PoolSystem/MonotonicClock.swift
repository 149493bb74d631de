import CPoolPlatform
import Glibc

/// Monotonic time in nanoseconds (`CLOCK_MONOTONIC`, served from the vDSO on Linux): the one
/// clock pools, profiler and CLI read for intervals and deadlines.
package enum MonotonicClock {
    @inline(__always)
    package static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    /// The reading `duration` from now, saturating instead of overflowing.
    package static func deadline(after duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return nanoseconds() }
        let span = UInt64(clamping: seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let total = span.partialValue.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000))
        if span.overflow || total.overflow { return .max }
        let (sum, overflow) = nanoseconds().addingReportingOverflow(total.partialValue)
        return overflow ? .max : sum
    }
}
