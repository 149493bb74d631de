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
    /// Bytes per second through a worker's pipes, both directions counted: what values smaller
    /// than ``sharedMemoryThresholdBytes`` cost to move.
    public var ipcBandwidthBytesPerSecond: Double
    /// Bytes per second through a worker's shared memory (`ProcessPool`'s path for values of at
    /// least ``sharedMemoryThresholdBytes``), both directions counted; nil in caches written
    /// before it existed (every value is then priced at the pipe's rate).
    public var sharedMemoryBandwidthBytesPerSecond: Double?
    /// The size from which the pool sends values through shared memory; nil: never.
    public var sharedMemoryThresholdBytes: Int?
    /// Creating and joining one thread.
    public var threadStartSeconds: Double
    /// Per-task cost of a `ThreadPool` running empty tasks one at a time (submit and wait).
    public var threadDispatchSeconds: Double
    /// Per-item cost of a `ThreadPool` map of empty tasks (chunked: the throughput cost).
    public var threadMapItemSeconds: Double
    /// Per-item cost of a `ProcessPool` map of empty tasks with automatic chunks.
    public var processMapItemSeconds: Double
    /// How the figures were taken (rounds, spread, noise); nil in caches written before it existed.
    public var method: CalibrationMethod?

    public init(
        host: String, executableBuild: String, measuredAtEpochSeconds: Double, usableCores: Int,
        workerStartSeconds: Double, roundTripSeconds: Double, ipcBandwidthBytesPerSecond: Double,
        threadStartSeconds: Double, threadDispatchSeconds: Double, threadMapItemSeconds: Double,
        processMapItemSeconds: Double, method: CalibrationMethod? = nil
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
        self.method = method
    }

    /// Seconds to move one value of `bytes` encoded bytes to a worker or back, by the path the
    /// pool takes for a value of that size.
    public func transferSeconds(bytes: Double) -> Double {
        if let threshold = sharedMemoryThresholdBytes, bytes >= Double(threshold),
            let shared = sharedMemoryBandwidthBytesPerSecond
        {
            return bytes / max(shared, 1)
        }
        return bytes / max(ipcBandwidthBytesPerSecond, 1)
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

/// How a calibration was measured: how many rounds, which statistic was kept, and how far the
/// rounds disagreed.
///
/// Each figure is measured in several rounds; the kept value is the quietest round's (the
/// lowest median cost, the highest bandwidth), because a busy neighbour only ever makes a
/// round slower. When the rounds of a figure differ by more than ``noiseRatio``, the figure
/// is named in ``noisyFigures`` (most often the machine was busy; a worker's round trip also
/// varies with where the scheduler places the worker), and the cache keeps such a calibration
/// for an hour instead of a week.
public struct CalibrationMethod: Codable, Sendable, Equatable {
    /// Rounds of the thread figures and of the worker figures.
    public var threadRounds: Int
    public var workerRounds: Int
    /// For each figure (by its JSON name), its slowest round over its quietest.
    public var spread: [String: Double]
    /// The figures whose rounds differ by more than ``noiseRatio``.
    public var noisyFigures: [String]
    /// The share of the machine's CPU time that other programs used during the thread rounds
    /// (from `/proc/stat`, less this process's own); nil where it cannot be read. A steady
    /// neighbour slows every round alike, which the spread cannot see, but this can.
    public var otherProgramsCPUShare: Double?

    /// Rounds differing by more than this factor mark a figure as noisy.
    public static let noiseRatio = 2.0
    /// Other programs using more than this share of the CPU make the whole calibration noisy.
    public static let busyShare = 0.25

    /// A method record; `noisyFigures` is derived from `spread`.
    public init(threadRounds: Int, workerRounds: Int, spread: [String: Double], otherProgramsCPUShare: Double? = nil) {
        self.threadRounds = threadRounds
        self.workerRounds = workerRounds
        self.spread = spread
        self.otherProgramsCPUShare = otherProgramsCPUShare
        noisyFigures = spread.filter { !($0.value <= Self.noiseRatio) }.keys.sorted()
    }

    /// True when other programs were busy or some figure's rounds disagreed.
    public var isNoisy: Bool { !noisyFigures.isEmpty || isBusy }

    /// True when other programs used more than ``busyShare`` of the CPU while measuring.
    public var isBusy: Bool { (otherProgramsCPUShare ?? 0) > Self.busyShare }

    /// What made the calibration noisy, for a person: the other programs' share of the CPU, or
    /// the figures whose rounds disagreed and by how much; nil when it was not noisy.
    ///
    /// Disagreeing rounds are not always a busy machine: on a small VM a worker's round trip is
    /// bimodal (about 4 µs when parent and worker share a core, 40 µs when they do not), and each
    /// round's new worker lands on either. Saying "busy" then sent a newcomer looking for a load
    /// that was not there.
    public var noiseDescription: String? {
        guard isNoisy else { return nil }
        var parts: [String] = []
        if isBusy, let share = otherProgramsCPUShare {
            // Clamped: a cache file may hold any number here, and `Int(_:)` traps past its range.
            let percent = Int((min(max(share, 0), 1) * 100).rounded())
            parts.append("other programs used \(percent) % of the CPU")
        }
        let disagreeing = noisyFigures.map { name in
            spread[name].map { "\(name) \(($0 * 10).rounded() / 10)×" } ?? name
        }
        if !disagreeing.isEmpty {
            parts.append(
                "the rounds of \(disagreeing.joined(separator: ", ")) differed by more than \(Self.noiseRatio)× (slowest over quietest)"
            )
        }
        return parts.joined(separator: "; ")
    }
}

extension MachineProfile {
    /// The range each measured figure must lie in to be believed. Outside it (or NaN, or
    /// infinite) a cached calibration is measured again: the cost model would divide by the
    /// figure or turn it into a chunk size.
    static var plausibleRanges: [(name: String, value: KeyPath<MachineProfile, Double>, range: ClosedRange<Double>)] {
        [
            ("workerStartSeconds", \.workerStartSeconds, 0...60),
            ("roundTripSeconds", \.roundTripSeconds, 1e-7...1),
            ("ipcBandwidthBytesPerSecond", \.ipcBandwidthBytesPerSecond, 1e4...1e12),
            ("threadStartSeconds", \.threadStartSeconds, 1e-8...1),
            ("threadDispatchSeconds", \.threadDispatchSeconds, 1e-9...0.1),
            ("threadMapItemSeconds", \.threadMapItemSeconds, 1e-11...0.1),
            ("processMapItemSeconds", \.processMapItemSeconds, 1e-9...1),
            ("measuredAtEpochSeconds", \.measuredAtEpochSeconds, 0...1e11),
        ]
    }

    /// Brings each figure into its plausible range (a measurement on a very loaded host can
    /// fall outside), so what is measured is always what a later read accepts.
    mutating func clampToPlausibleRanges() {
        for (_, path, range) in Self.plausibleRanges {
            guard let writable = path as? WritableKeyPath<MachineProfile, Double> else { continue }
            let value = self[keyPath: writable]
            self[keyPath: writable] =
                value.isNaN ? range.lowerBound : min(max(value, range.lowerBound), range.upperBound)
        }
        if let shared = sharedMemoryBandwidthBytesPerSecond {
            sharedMemoryBandwidthBytesPerSecond = shared.isNaN ? 1e4 : min(max(shared, 1e4), 1e12)
        }
    }

    /// Why these figures cannot be believed (`roundTripSeconds = 1e+308 is outside 1e-07…1`),
    /// or nil when every figure is in its plausible range.
    public var implausibility: String? {
        if schemaVersion != 1 { return "schemaVersion \(schemaVersion) is not 1" }
        if !(1...1_000_000).contains(usableCores) { return "usableCores = \(usableCores) is outside 1…1000000" }
        for (name, path, range) in Self.plausibleRanges where !range.contains(self[keyPath: path]) {
            return "\(name) = \(self[keyPath: path]) is outside \(range.lowerBound)…\(range.upperBound)"
        }
        if let shared = sharedMemoryBandwidthBytesPerSecond, !(1e4...1e12).contains(shared) {
            return "sharedMemoryBandwidthBytesPerSecond = \(shared) is outside 10000.0…1000000000000.0"
        }
        if let threshold = sharedMemoryThresholdBytes, threshold < 1 {
            return "sharedMemoryThresholdBytes = \(threshold) is below 1"
        }
        return nil
    }
}
