public import PoolExecutors

/// Measures what this machine charges for threads and worker processes (``MachineProfile``),
/// and caches the result as JSON so it is measured once per host and build.
///
/// ```swift
/// let machine = try MachineCalibration().profile()          // cached after the first time
/// let fresh = try MachineCalibration().profile(refresh: true)
/// ```
///
/// Worker figures use the executable's built-in echo task (``WorkerEcho``), so any program
/// with the entry guard can be calibrated; the figures belong to that executable (its start-up
/// cost depends on what it links), which is why the cache is keyed by its build.
public struct MachineCalibration: Sendable {
    /// The worker executable to time.
    public var executable: WorkerExecutable
    /// Where the JSON cache lives; nil turns caching off.
    public var cacheDirectory: String?
    /// A cached profile older than this is measured again.
    public var maximumAgeSeconds: Double

    public init(
        executable: WorkerExecutable = .current, cacheDirectory: String? = MachineCalibration.defaultCacheDirectory,
        maximumAgeSeconds: Double = 7 * 24 * 3600
    ) {
        self.executable = executable
        self.cacheDirectory = cacheDirectory
        self.maximumAgeSeconds = maximumAgeSeconds
    }

    /// `$XDG_CACHE_HOME/pool-advisor`, else `~/.cache/pool-advisor`; nil without a home.
    public static var defaultCacheDirectory: String? { CalibrationFiles.defaultDirectory }

    /// The cached profile for this host and build when fresh; otherwise measures, caches and
    /// returns a new one.
    /// - Throws: ``PoolError`` when the worker executable cannot start or answer.
    public func profile(refresh: Bool = false) throws -> MachineProfile {
        if !refresh, let cached = cachedProfile() { return cached }
        let measured = try measure()
        if let path = cachePath { try? CalibrationFiles.write(measured, to: path) }
        return measured
    }

    /// The cached profile if it exists, parses, matches this host, build and core count, and
    /// is younger than ``maximumAgeSeconds``.
    public func cachedProfile() -> MachineProfile? {
        guard let path = cachePath, let cached = CalibrationFiles.read(path) else { return nil }
        let age = CalibrationFiles.now() - cached.measuredAtEpochSeconds
        guard cached.host == CalibrationFiles.hostName, cached.executableBuild == buildKey,
            cached.usableCores == Machine.usableCores, age >= 0, age <= maximumAgeSeconds
        else { return nil }
        return cached
    }

    /// The cache file for this host and executable build.
    public var cachePath: String? {
        cacheDirectory.map {
            "\($0)/machine-\(CalibrationFiles.safe(CalibrationFiles.hostName))-\(buildKey.prefix(16)).json"
        }
    }

    /// The executable's identity: its GNU build id, or its path, size and change time.
    var buildKey: String {
        switch executable {
        case .current: Processes.buildID.isEmpty ? CalibrationFiles.fileKey("/proc/self/exe") : Processes.buildID
        case .path(let path, _): CalibrationFiles.fileKey(path)
        }
    }

    /// Measures every figure now (about a second), without touching the cache.
    public func measure() throws -> MachineProfile {
        let worker = try WorkerCosts.measure(executable: executable)
        let threads = ThreadCosts.measure()
        return MachineProfile(
            host: CalibrationFiles.hostName, executableBuild: buildKey, measuredAtEpochSeconds: CalibrationFiles.now(),
            usableCores: Machine.usableCores, workerStartSeconds: worker.start, roundTripSeconds: worker.roundTrip,
            ipcBandwidthBytesPerSecond: worker.bandwidth, threadStartSeconds: threads.start,
            threadDispatchSeconds: threads.dispatch, threadMapItemSeconds: threads.mapItem,
            processMapItemSeconds: worker.mapItem)
    }
}

/// Worker-process costs, timed through a one-worker pool and a pool of all cores.
enum WorkerCosts {
    static func measure(executable: WorkerExecutable) throws -> (
        start: Double, roundTrip: Double, bandwidth: Double, mapItem: Double
    ) {
        var configuration = ProcessPool.Configuration(workers: 1)
        configuration.executable = executable
        var starts: [Double] = []
        var roundTrip = 0.0
        var bandwidth = 0.0
        for attempt in 0..<3 {
            let begin = Clocks.monotonic()
            let pool = try ProcessPool(configuration: configuration)
            defer { pool.shutdown() }
            _ = try pool.submit(WorkerEcho.self, []).result()
            let firstAnswer = (Clocks.monotonic() - begin).seconds
            var trips: [Double] = []
            for _ in 0..<(attempt == 0 ? 200 : 20) {
                let sent = Clocks.monotonic()
                _ = try pool.submit(WorkerEcho.self, []).result()
                trips.append((Clocks.monotonic() - sent).seconds)
            }
            let median = Statistics.median(trips)
            starts.append(max(firstAnswer - median, 0))
            if attempt == 0 {
                roundTrip = median
                let block = [UInt8](repeating: 0xa5, count: 4 << 20)
                let sent = Clocks.monotonic()
                for _ in 0..<4 { _ = try pool.submit(WorkerEcho.self, block).result() }
                let taken = max((Clocks.monotonic() - sent).seconds - 4 * median, 1e-6)
                bandwidth = Double(2 * 4 * block.count) / taken
            }
        }
        var many = ProcessPool.Configuration(workers: Machine.usableCores)
        many.executable = executable
        let pool = try ProcessPool(configuration: many)
        defer { pool.shutdown() }
        let empties = Array(repeating: [UInt8](), count: 4_000)
        _ = try pool.map(WorkerEcho.self, Array(empties.prefix(200)))  // every worker up
        let begin = Clocks.monotonic()
        _ = try pool.map(WorkerEcho.self, empties)
        let mapItem = (Clocks.monotonic() - begin).seconds / Double(empties.count)
        return (Statistics.median(starts), roundTrip, bandwidth, mapItem)
    }
}

/// Thread costs: start and join, submit and wait, and a map's per-item cost.
enum ThreadCosts {
    static func measure() -> (start: Double, dispatch: Double, mapItem: Double) {
        var starts: [Double] = []
        for _ in 0..<50 {
            let begin = Clocks.monotonic()
            if let thread = try? PlatformThread.start(name: "pa-calibrate", {}) { thread.join() }
            starts.append((Clocks.monotonic() - begin).seconds)
        }
        let pool = ThreadPool(workers: Machine.usableCores, name: "pa-calibrate")
        defer { pool.shutdown() }
        var dispatches: [Double] = []
        for _ in 0..<2_000 {
            let begin = Clocks.monotonic()
            _ = try? pool.submit { 0 }.result()
            dispatches.append((Clocks.monotonic() - begin).seconds)
        }
        let items = Array(0..<50_000)
        _ = try? pool.map(items.prefix(1_000)) { $0 }
        let begin = Clocks.monotonic()
        _ = try? pool.map(items) { $0 &+ 1 }
        let mapItem = (Clocks.monotonic() - begin).seconds / Double(items.count)
        return (Statistics.median(starts), Statistics.median(dispatches), mapItem)
    }
}
