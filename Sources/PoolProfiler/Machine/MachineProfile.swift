/// What this machine charges for each way of running tasks in parallel, measured by
/// ``MachineCalibration``. `Codable` (units in the field names) and cached on disk.
public struct MachineProfile: Codable, Sendable, Equatable {
    public var schemaVersion = 1
    /// The host name and the build id of the worker executable the figures belong to.
    public var host: String
    public var executableBuild: String
    /// When it was measured (seconds since 1970).
    public var measuredAtEpochSeconds: Double
    /// Cores this process may use (affinity, cgroup quota and the online count, the smallest).
    public var usableCores: Int
    /// From starting a worker process to its first answer, round trip excluded.
    public var workerStartSeconds: Double
    /// One small request to a running worker and its reply.
    public var roundTripSeconds: Double
    /// Bytes per second through a worker's pipes, both directions counted.
    public var ipcBandwidthBytesPerSecond: Double
    /// Creating and joining one thread.
    public var threadStartSeconds: Double
    /// Per-task cost of a `ThreadPool` running empty tasks one at a time (submit and wait).
    public var threadDispatchSeconds: Double
    /// Per-item cost of a `ThreadPool` map of empty tasks (chunked: the throughput cost).
    public var threadMapItemSeconds: Double
    /// Per-item cost of a `ProcessPool` map of empty tasks with automatic chunks.
    public var processMapItemSeconds: Double

    public init(
        host: String, executableBuild: String, measuredAtEpochSeconds: Double, usableCores: Int,
        workerStartSeconds: Double, roundTripSeconds: Double, ipcBandwidthBytesPerSecond: Double,
        threadStartSeconds: Double, threadDispatchSeconds: Double, threadMapItemSeconds: Double,
        processMapItemSeconds: Double
    ) {
        self.host = host
        self.executableBuild = executableBuild
        self.measuredAtEpochSeconds = measuredAtEpochSeconds
        self.usableCores = usableCores
        self.workerStartSeconds = workerStartSeconds
        self.roundTripSeconds = roundTripSeconds
        self.ipcBandwidthBytesPerSecond = ipcBandwidthBytesPerSecond
        self.threadStartSeconds = threadStartSeconds
        self.threadDispatchSeconds = threadDispatchSeconds
        self.threadMapItemSeconds = threadMapItemSeconds
        self.processMapItemSeconds = processMapItemSeconds
    }
}

extension MachineProfile {
    /// Conservative figures for a machine that was not calibrated, close to what a small Linux VM
    /// measures (worker start 15 ms, round trip 25 µs, thread start 30 µs, pipe 500 MB/s). The
    /// advisor uses them only when no calibration exists, and says so.
    public static func typical(cores: Int) -> MachineProfile {
        MachineProfile(
            host: "typical", executableBuild: "none", measuredAtEpochSeconds: 0, usableCores: max(1, cores),
            workerStartSeconds: 0.015, roundTripSeconds: 25e-6, ipcBandwidthBytesPerSecond: 500e6,
            threadStartSeconds: 30e-6, threadDispatchSeconds: 1e-6, threadMapItemSeconds: 0.3e-6,
            processMapItemSeconds: 1e-6)
    }
}
