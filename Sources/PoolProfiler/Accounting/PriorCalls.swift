/// Calls of a task made and measured on the calling thread before its profile, which the
/// profile's serial phase counts as its own first records instead of calling again.
///
/// ``PoolAdvisor``'s auto executor times a job's first calls to size the profiling budget; made
/// with this, those calls are the profile's first measurements too, so a short job's profile
/// need not repeat them (on a 0.3 s job of 6 ms calls, two calls are most of the budget).
///
/// ```swift
/// var prior = PriorCalls()
/// let (first, _) = try prior.measure(recorded: false) { try Checksum.run(paths[0]) }  // cold
/// let (second, timing) = try prior.measure { try Checksum.run(paths[1]) }
/// let run = try Profiler().measure(
///     Checksum.self, sample: Array(paths[2...]), after: prior, priorOutputs: [first, second])
/// ```
///
/// Measure on the thread that will profile: the counters are that thread's.
public struct PriorCalls: Sendable {
    /// The recorded measurements, each of one call or one timed group of calls.
    private(set) var records: [CallRecord] = []
    /// Whether any call was made, recorded or not (the code is warm).
    public private(set) var madeCalls = false

    /// No calls yet.
    public init() {}

    /// Calls recorded so far (a timed group counts each of its calls).
    public var recordedCalls: Int { records.reduce(0) { $0 + $1.calls } }

    /// The recorded calls' wall time, in seconds.
    var recordedSeconds: Double { records.reduce(Int64(0)) { $0 + $1.wall }.seconds }

    /// The shortest recorded time per call, or nil when nothing was recorded.
    public var fastestCallSeconds: Double? {
        records.map { $0.wall.seconds / Double(max(1, $0.calls)) }.min()
    }

    /// Forgets the records so far, keeping that calls were made: for calls too short to be
    /// timed one at a time (a clock reading costs about as much), measured again as a group.
    public mutating func discardRecords() { records.removeAll() }

    /// Runs `body`, which makes `calls` calls of the task, with the serial phase's counters
    /// around it and returns its result and timing. Recorded (unless `recorded` is false, as
    /// for a cold first call that would read as a slow one) only when `body` returns.
    public mutating func measure<Result>(calls: Int = 1, recorded: Bool = true, _ body: () throws -> Result)
        rethrows -> (Result, CallTiming)
    {
        let probe = ThreadProbe()
        let before = probe.read()
        madeCalls = true
        let result = try body()
        let after = probe.readClosing()
        let record = CallRecord(calls: max(1, calls), from: before, to: after)
        if recorded { records.append(record) }
        // A wait for a core outside 0…wall is a failed schedstat read on one side (read as 0):
        // not measured, rather than a call that never ran on its own (a warm-up read as zero).
        let waited = probe.measuresRunQueue && (0...max(0, record.wall)).contains(record.runQueue)
        let timing = CallTiming(
            wallSeconds: record.wall.seconds, cpuSeconds: (record.threadCPU + record.childrenCPU).seconds,
            runQueueSeconds: waited ? record.runQueue.seconds : nil)
        return (result, timing)
    }
}
