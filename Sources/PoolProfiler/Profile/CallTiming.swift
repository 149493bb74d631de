/// One call timed with the profiler's clocks: wall time, and the CPU of the calling thread and
/// of any child processes it waited for. Cheap enough to time a single call before deciding
/// how long to profile.
public struct CallTiming: Sendable {
    /// Wall time of the call.
    public var wallSeconds: Double
    /// The calling thread's CPU plus reaped children's CPU (commands), in seconds.
    public var cpuSeconds: Double

    /// A timing from its parts.
    public init(wallSeconds: Double, cpuSeconds: Double) {
        self.wallSeconds = wallSeconds
        self.cpuSeconds = cpuSeconds
    }

    /// CPU over wall time, in [0, 1].
    public var cpuShare: Double { wallSeconds > 0 ? min(1, cpuSeconds / wallSeconds) : 1 }

    /// Runs `body` once and times it.
    public static func measure<Result>(_ body: () throws -> Result) rethrows -> (Result, CallTiming) {
        let wall = Clocks.monotonic()
        let cpu = Clocks.threadCPU()
        let children = Clocks.childrenCPU()
        let result = try body()
        let timing = CallTiming(
            wallSeconds: Double(Clocks.monotonic() - wall) / 1e9,
            cpuSeconds: Double(Clocks.threadCPU() - cpu + Clocks.childrenCPU() - children) / 1e9)
        return (result, timing)
    }
}
