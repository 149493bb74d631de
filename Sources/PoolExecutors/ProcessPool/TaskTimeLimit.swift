import Synchronization

/// A task timeout that can change while the pool runs: set by its owner (``set(_:)``), or, made
/// with ``percentOfMedian(_:)``, following the calls themselves as GNU parallel's `--timeout
/// 200%` does: P% of the median successful call, once ``minimumCalls`` calls succeeded, never
/// under ``floorSeconds``. Until it holds a value no item times out.
///
/// ```swift
/// var configuration = ProcessPool.Configuration()
/// configuration.adjustableTaskTimeout = .percentOfMedian(300)   // 3× the median call
/// ```
///
/// A call's length is known to the pool only for a task that records it (`run`'s recorded
/// form); for others, call ``observe(successfulCallSeconds:)`` yourself.
public final class TaskTimeLimit: Sendable {
    /// Successful calls before a relative limit is set.
    public static let minimumCalls = 3
    /// The least a relative limit may be: a job of millisecond calls must not lose calls to a
    /// scheduler's hiccup.
    public static let floorSeconds = 0.05
    /// Durations the median is taken over, at most (a uniform sample of them all).
    static let sampleSize = 1024

    /// The limit in nanoseconds; 0 for none yet.
    private let nanoseconds = Atomic<UInt64>(0)
    /// P for a limit of P% of the median; nil for one its owner sets.
    public let percent: Double?
    private let sample = Locked(Sample())

    private struct Sample: Sendable {
        var durations: [Double] = []
        var seen = 0
        var generator = SystemRandomNumberGenerator()
    }

    /// A limit of `limit` (nil: none yet), changed only by ``set(_:)``.
    public init(_ limit: Duration? = nil) {
        percent = nil
        set(limit)
    }

    private init(percent: Double) { self.percent = percent }

    /// A limit of `percent`% of the median successful call (at least ``floorSeconds``), set
    /// once ``minimumCalls`` calls succeeded and moved as more do.
    public static func percentOfMedian(_ percent: Double) -> TaskTimeLimit { TaskTimeLimit(percent: percent) }

    /// The limit now, nil while none is set.
    public var limit: Duration? {
        let value = nanoseconds.load(ordering: .relaxed)
        return value == 0 ? nil : .nanoseconds(Int64(clamping: value))
    }

    /// Sets the limit for items running now and later (nil: none).
    public func set(_ limit: Duration?) {
        nanoseconds.store(limit.map { max(1, ProcessPoolCore.nanoseconds($0)) } ?? 0, ordering: .relaxed)
    }

    /// A call that succeeded after `seconds`: moves a relative limit (a fixed one ignores it).
    ///
    /// The median is over a uniform sample of at most 1,024 durations (reservoir sampling),
    /// taken again at every call up to that many and at every 64th after, so millions of tiny
    /// calls pay next to nothing for it.
    public func observe(successfulCallSeconds seconds: Double) {
        guard let percent, seconds.isFinite, seconds >= 0 else { return }
        let median = sample.withLock { sample -> Double? in
            sample.seen += 1
            if sample.durations.count < Self.sampleSize {
                sample.durations.append(seconds)
            } else {
                let slot = Int.random(in: 0..<sample.seen, using: &sample.generator)
                if slot < Self.sampleSize { sample.durations[slot] = seconds }
            }
            guard sample.seen >= Self.minimumCalls, sample.seen <= Self.sampleSize || sample.seen % 64 == 0 else {
                return nil
            }
            let sorted = sample.durations.sorted()
            return sorted[sorted.count / 2]
        }
        guard let median else { return }
        // At most a year: a hostile duration must not trap the conversion.
        let seconds = min(max(Self.floorSeconds, median * percent / 100), 31_536_000)
        set(.nanoseconds(Int64((seconds * 1e9).rounded())))
    }
}

/// An output that carries its call's length when the call succeeded (a recorded call), so a
/// relative ``TaskTimeLimit`` learns from it.
package protocol SuccessfulCallTiming {
    /// The call's seconds, nil when it failed.
    var successfulCallSeconds: Double? { get }
}

extension ProcessPool.Configuration {
    /// The task timeout in force now: ``taskTimeout``, else the adjustable one's current value.
    var currentTaskTimeout: Duration? { taskTimeout ?? adjustableTaskTimeout?.limit }

    /// Whether items may time out (a timeout is set, or may be set while the pool runs): such a
    /// task runs only in workers, which can be stopped.
    public var hasTaskTimeout: Bool { taskTimeout != nil || adjustableTaskTimeout != nil }
}
