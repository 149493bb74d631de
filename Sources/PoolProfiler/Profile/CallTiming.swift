/// One call timed with the profiler's clocks: wall time, the CPU of the calling thread and of
/// any child processes it waited for, and how long the thread waited for a core. Cheap enough
/// to time a single call before deciding how long to profile.
public struct CallTiming: Sendable {
    /// Wall time of the call.
    public var wallSeconds: Double
    /// The calling thread's CPU plus reaped children's CPU (commands), in seconds.
    public var cpuSeconds: Double
    /// Time the calling thread was runnable but waiting for a core (schedstat), in seconds;
    /// nil where the kernel does not report it.
    public var runQueueSeconds: Double?

    /// A timing from its parts.
    public init(wallSeconds: Double, cpuSeconds: Double, runQueueSeconds: Double? = nil) {
        self.wallSeconds = wallSeconds
        self.cpuSeconds = cpuSeconds
        self.runQueueSeconds = runQueueSeconds
    }

    /// CPU over wall time, in [0, 1].
    public var cpuShare: Double { wallSeconds > 0 ? min(1, cpuSeconds / wallSeconds) : 1 }

    /// The call's own time: its wall time less the time it waited for a core, which a busy
    /// neighbour adds and the task does not; nil where the run-queue wait is not measured.
    /// Unlike ``cpuSeconds`` it counts the call's own waits (a file read, a connection, a
    /// sleep) and nothing of other threads' children.
    public var ownSeconds: Double? {
        guard let runQueueSeconds, runQueueSeconds.isFinite, wallSeconds.isFinite else { return nil }
        return max(0, wallSeconds - max(0, runQueueSeconds))
    }

    /// Runs `body` once and times it.
    public static func measure<Result>(_ body: () throws -> Result) rethrows -> (Result, CallTiming) {
        // A probe per measurement (a few microseconds): its file names the calling thread, and
        // a timing may be taken on any thread.
        let probe = ThreadProbe()
        let start = probe.timing(wallFirst: true)
        let result = try body()
        let end = probe.timing(wallFirst: false)
        var queued: Int64?
        if let before = start.runQueue, let after = end.runQueue {
            let (change, overflow) = after.subtractingReportingOverflow(before)
            queued = overflow ? nil : change
        }
        let timing = CallTiming(
            wallSeconds: Double(end.wall - start.wall) / 1e9,
            cpuSeconds: Double(end.cpu - start.cpu + end.childrenCPU - start.childrenCPU) / 1e9,
            runQueueSeconds: queued.map { Double(max(0, $0)) / 1e9 })
        return (result, timing)
    }
}
