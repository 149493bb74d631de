public import PoolExecutors

/// What running workers on one other host costs, measured through its launcher: the time to
/// start a worker there (launcher, connection, process), a round trip, the bandwidth of the
/// stream, and the cores the host offers.
public struct HostProfile: Codable, Sendable, Equatable {
    public var schemaVersion = 1
    /// The host as the launcher names it (`user@node7`, `slurm`).
    public var host: String
    /// The launcher's command line: a profile measured through another way in is not reused.
    public var launcher: String
    /// The host's own name, as its worker reported it.
    public var reportedHostName: String
    /// The worker executable's build (as ``MachineProfile/executableBuild``).
    public var executableBuild: String
    /// When it was measured (seconds since 1970).
    public var measuredAtEpochSeconds: Double
    /// Cores a worker may use there.
    public var usableCores: Int
    /// From starting the launcher to the worker's first answer, less one round trip.
    public var workerStartSeconds: Double
    /// One small request and its reply through the launcher's stream (median).
    public var roundTripSeconds: Double
    /// Bytes per second through the stream, both directions counted.
    public var bandwidthBytesPerSecond: Double

    /// A host's figures as measured (or, for a prediction, as assumed).
    public init(
        host: String, launcher: String, reportedHostName: String, executableBuild: String,
        measuredAtEpochSeconds: Double, usableCores: Int, workerStartSeconds: Double, roundTripSeconds: Double,
        bandwidthBytesPerSecond: Double
    ) {
        self.host = host
        self.launcher = launcher
        self.reportedHostName = reportedHostName
        self.executableBuild = executableBuild
        self.measuredAtEpochSeconds = measuredAtEpochSeconds
        self.usableCores = usableCores
        self.workerStartSeconds = workerStartSeconds
        self.roundTripSeconds = roundTripSeconds
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
    }

    /// Why the figures cannot be right, or nil.
    public var implausibility: String? {
        if !(1...65_536).contains(usableCores) { return "\(usableCores) cores" }
        if !(0...600).contains(workerStartSeconds) { return "a worker start of \(workerStartSeconds) s" }
        if !(1e-7...60).contains(roundTripSeconds) { return "a round trip of \(roundTripSeconds) s" }
        if !(1e3...1e12).contains(bandwidthBytesPerSecond) { return "\(bandwidthBytesPerSecond) bytes/s" }
        return nil
    }
}

/// Measures a remote host's costs through its launcher (``HostProfile``) and caches them as
/// JSON per host, launcher and build, with when they were measured.
///
/// ```swift
/// let node = try HostCalibration().profile(for: .ssh("user@node7"))
/// print(node.usableCores, node.roundTripSeconds)
/// ```
public struct HostCalibration: Sendable {
    /// The worker executable (its path on the host is the launcher's `executable`, or the same).
    public var executable: WorkerExecutable
    /// Where the JSON cache lives; nil turns caching off.
    public var cacheDirectory: String?
    /// A cached profile older than this is measured again (a day: networks change faster
    /// than machines).
    public var maximumAgeSeconds: Double
    /// Rounds of each figure; the quietest is kept.
    public var rounds = 2

    public init(
        executable: WorkerExecutable = .current, cacheDirectory: String? = MachineCalibration.defaultCacheDirectory,
        maximumAgeSeconds: Double = 24 * 3600
    ) {
        self.executable = executable
        self.cacheDirectory = cacheDirectory
        self.maximumAgeSeconds = maximumAgeSeconds
    }

    /// The cached profile of the host `launcher` reaches, when fresh; otherwise measures,
    /// caches and returns a new one.
    /// - Throws: ``PoolError`` when no worker starts there (its message names the host and the fix).
    public func profile(for launcher: WorkerLauncher, refresh: Bool = false) throws -> HostProfile {
        if !refresh, let cached = cachedProfile(for: launcher) { return cached }
        let measured = try measure(launcher)
        // An implausible measurement (a clock jump, a host that answered absurdly) is used
        // once, never kept.
        if measured.implausibility == nil, let path = cachePath(for: launcher) {
            try? CalibrationFiles.write(measured, to: path)
        }
        return measured
    }

    /// The cached profile if it exists, parses, is plausible, matches the launcher and build,
    /// and is young enough; never read through a link.
    public func cachedProfile(for launcher: WorkerLauncher) -> HostProfile? {
        guard let path = cachePath(for: launcher),
            case .found(let cached) = CalibrationFiles.read(path, as: HostProfile.self), cached.schemaVersion == 1,
            cached.implausibility == nil, cached.launcher == launcher.description, cached.executableBuild == buildKey
        else { return nil }
        let age = CalibrationFiles.now() - cached.measuredAtEpochSeconds
        return age >= 0 && age <= maximumAgeSeconds ? cached : nil
    }

    /// The cache file for `launcher`'s host and this build.
    public func cachePath(for launcher: WorkerLauncher) -> String? {
        cacheDirectory.map {
            let key = CalibrationFiles.safe(launcher.host).prefix(80)
            // The launcher's whole identity: two Slurm clusters differ only by SLURM_CONF, two
            // installs by the executable's path there.
            let identity =
                ([launcher.description, launcher.executable ?? ""]
                + launcher.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
                .joined(separator: "\u{1}")
            let digest = String(UInt32(truncatingIfNeeded: Self.hash(identity)), radix: 16)
            return "\($0)/host-\(key)-\(digest)-\(buildKey.prefix(16)).json"
        }
    }

    /// FNV-1a of `text`: the same key for the same launcher in every run (Swift's `Hasher` is
    /// seeded per process).
    private static func hash(_ text: String) -> UInt64 {
        text.utf8.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
    }

    var buildKey: String { MachineCalibration(executable: executable, cacheDirectory: nil).buildKey }

    /// Measures now, without touching the cache (about a second per round over ssh).
    public func measure(_ launcher: WorkerLauncher) throws -> HostProfile {
        var configuration = ProcessPool.Configuration(hosts: [WorkerHost(launcher, workers: 1)])
        configuration.executable = executable
        // One failure is the answer here: no back-off, no warning.
        configuration.hostFailureLimit = 1
        configuration.onWarning = { _ in }
        var starts = RoundFigures()
        var trips = RoundFigures()
        var bandwidths = RoundFigures()
        var facts: WorkerHostFacts.Report?
        let block = [UInt8](repeating: 0x5a, count: 1 << 20)
        for _ in 0..<max(1, rounds) {
            let begin = Clocks.monotonic()
            let pool = try ProcessPool(configuration: configuration)
            defer { pool.shutdown() }
            facts = try pool.submit(WorkerHostFacts.self, 0).result()
            let firstAnswer = (Clocks.monotonic() - begin).seconds
            let median = try WorkerCosts.medianRoundTrip(through: pool, calls: 30)
            trips.rounds.append(median)
            starts.rounds.append(max(firstAnswer - median, 0))
            let sent = Clocks.monotonic()
            for _ in 0..<3 { _ = try pool.submit(WorkerEcho.self, block).result() }
            bandwidths.rounds.append(Double(2 * 3 * block.count) / max((Clocks.monotonic() - sent).seconds, 1e-6))
        }
        return HostProfile(
            host: launcher.host, launcher: launcher.description, reportedHostName: facts?.hostName ?? "unknown",
            executableBuild: buildKey, measuredAtEpochSeconds: CalibrationFiles.now(),
            usableCores: max(1, facts?.usableCores ?? 1), workerStartSeconds: starts.lowest,
            roundTripSeconds: max(trips.lowest, 1e-7), bandwidthBytesPerSecond: max(bandwidths.highest, 1e3))
    }
}
