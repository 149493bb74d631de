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

    /// The cached profile if it exists, parses, holds plausible figures, matches this host,
    /// build and core count, and is young enough (``maximumAgeSeconds``, or an hour when it
    /// was measured on a busy machine).
    public func cachedProfile() -> MachineProfile? { checkCache().profile }

    /// What the cache holds and, when it is not used, why.
    public struct CacheCheck: Sendable, Equatable {
        /// The profile to use, or nil when it must be measured (again).
        public var profile: MachineProfile?
        /// Why a cache file that exists is not used (corrupt, implausible, a link, too old, from
        /// another machine), to tell the user; nil when it is used or there is none.
        public var problem: String?

        /// A check's result: the profile to use, or why there is none.
        public init(profile: MachineProfile? = nil, problem: String? = nil) {
            self.profile = profile
            self.problem = problem
        }
    }

    /// Reads and checks the cache: never trusts a file it did not write in this form (a link,
    /// a huge or malformed file, figures outside ``MachineProfile/implausibility`` ranges).
    public func checkCache() -> CacheCheck {
        guard let path = cachePath else { return CacheCheck() }
        let cached: MachineProfile
        switch CalibrationFiles.read(path) {
        case .missing: return CacheCheck()
        case .rejected(let why): return CacheCheck(problem: "the cached calibration \(path) is not used: \(why)")
        case .found(let profile): cached = profile
        }
        if let why = cached.implausibility {
            return CacheCheck(problem: "the cached calibration \(path) is not used: \(why)")
        }
        guard cached.host == CalibrationFiles.hostName, cached.executableBuild == buildKey,
            cached.usableCores == Machine.usableCores
        else {
            return CacheCheck(problem: "the cached calibration \(path) belongs to another host, build or core count")
        }
        let age = CalibrationFiles.now() - cached.measuredAtEpochSeconds
        let limit = cached.method?.isNoisy == true ? min(maximumAgeSeconds, Self.noisyAgeSeconds) : maximumAgeSeconds
        guard age >= 0, age <= limit else {
            return CacheCheck(problem: "the cached calibration \(path) is too old")
        }
        return CacheCheck(profile: cached)
    }

    /// How long a calibration measured on a busy machine is kept.
    public static let noisyAgeSeconds = 3600.0

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

    /// Measures every figure now (a second or two), without touching the cache: each figure in
    /// several rounds, keeping the quietest round's (see ``CalibrationMethod``).
    public func measure() throws -> MachineProfile {
        let worker = try WorkerCosts.measure(executable: executable)
        // No worker runs now: what the machine spends beyond this process is other programs'.
        let machineBefore = CalibrationFiles.machineCPUSeconds()
        let ownBefore = Clocks.processCPU()
        let threads = ThreadCosts.measure()
        var otherShare: Double?
        if let before = machineBefore, let after = CalibrationFiles.machineCPUSeconds(), after.total > before.total {
            let own = Double(Clocks.processCPU() - ownBefore) / 1e9
            otherShare = min(1, max(0, (after.busy - before.busy - own) / (after.total - before.total)))
        }
        let spread = worker.spread.merging(threads.spread) { first, _ in first }
        var measured = MachineProfile(
            host: CalibrationFiles.hostName, executableBuild: buildKey, measuredAtEpochSeconds: CalibrationFiles.now(),
            usableCores: Machine.usableCores, workerStartSeconds: worker.start, roundTripSeconds: worker.roundTrip,
            ipcBandwidthBytesPerSecond: worker.pipeBandwidth, threadStartSeconds: threads.start,
            threadDispatchSeconds: threads.dispatch, threadMapItemSeconds: threads.mapItem,
            processMapItemSeconds: worker.mapItem,
            method: CalibrationMethod(
                threadRounds: ThreadCosts.rounds, workerRounds: WorkerCosts.rounds, spread: spread,
                otherProgramsCPUShare: otherShare))
        measured.sharedMemoryBandwidthBytesPerSecond = worker.sharedBandwidth
        measured.sharedMemoryThresholdBytes = worker.sharedThreshold
        measured.clampToPlausibleRanges()
        return measured
    }
}

/// One figure over several rounds: the quietest round is kept, the ratio of the slowest to
/// the quietest is its spread.
struct RoundFigures {
    var rounds: [Double] = []

    /// The lowest cost (for times).
    var lowest: Double { rounds.min() ?? 0 }
    /// The highest rate (for bandwidth).
    var highest: Double { rounds.max() ?? 0 }
    /// Slowest round over quietest, 1 for one round.
    var spread: Double {
        guard let low = rounds.min(), let high = rounds.max(), low > 0 else { return 1 }
        return high / low
    }
}

/// Worker-process costs, timed through a one-worker pool and a pool of all cores.
enum WorkerCosts {
    static let rounds = 3

    static func measure(executable: WorkerExecutable) throws -> (
        start: Double, roundTrip: Double, pipeBandwidth: Double, sharedBandwidth: Double?, sharedThreshold: Int?,
        mapItem: Double, spread: [String: Double]
    ) {
        var configuration = ProcessPool.Configuration(workers: 1)
        configuration.executable = executable
        let threshold = configuration.sharedMemoryThreshold
        var pipeOnly = configuration
        pipeOnly.sharedMemoryThreshold = nil
        var starts = RoundFigures()
        var trips = RoundFigures()
        var bandwidths = RoundFigures()
        var sharedBandwidths = RoundFigures()
        var mapItems = RoundFigures()
        // A first start reads the executable from disk: warm it up, or round one is always "noisy".
        let warmUp = try ProcessPool(configuration: configuration)
        _ = try? warmUp.submit(WorkerEcho.self, []).result()
        warmUp.shutdown()
        let block = [UInt8](repeating: 0xa5, count: 2 << 20)
        for round in 0..<rounds {
            let begin = Clocks.monotonic()
            let pool = try ProcessPool(configuration: configuration)
            defer { pool.shutdown() }
            _ = try pool.submit(WorkerEcho.self, []).result()
            let firstAnswer = (Clocks.monotonic() - begin).seconds
            let median = try medianRoundTrip(through: pool, calls: round == 0 ? 100 : 50)
            trips.rounds.append(median)
            starts.rounds.append(max(firstAnswer - median, 0))
            // The same blocks both ways, through shared memory (this pool's path for them) and
            // through the pipe alone.
            if threshold != nil { sharedBandwidths.rounds.append(try echoRate(block, through: pool)) }
            let pipe = try ProcessPool(configuration: pipeOnly)
            defer { pipe.shutdown() }
            bandwidths.rounds.append(try echoRate(block, through: pipe))
        }
        var many = ProcessPool.Configuration(workers: Machine.usableCores)
        many.executable = executable
        let pool = try ProcessPool(configuration: many)
        defer { pool.shutdown() }
        let empties = Array(repeating: [UInt8](), count: 2_000)
        _ = try pool.map(WorkerEcho.self, Array(empties.prefix(200)))  // every worker up
        for _ in 0..<rounds {
            let begin = Clocks.monotonic()
            _ = try pool.map(WorkerEcho.self, empties)
            mapItems.rounds.append((Clocks.monotonic() - begin).seconds / Double(empties.count))
        }
        var spread = [
            "workerStartSeconds": starts.spread, "roundTripSeconds": trips.spread,
            "ipcBandwidthBytesPerSecond": bandwidths.spread, "processMapItemSeconds": mapItems.spread,
        ]
        if threshold != nil { spread["sharedMemoryBandwidthBytesPerSecond"] = sharedBandwidths.spread }
        // Bandwidth is a rate: its quietest round is the fastest.
        return (
            starts.lowest, trips.lowest, bandwidths.highest, threshold == nil ? nil : sharedBandwidths.highest,
            threshold,
            mapItems.lowest, spread
        )
    }

    /// The median time of `calls` empty echoes through `pool`'s worker, one at a time.
    static func medianRoundTrip(through pool: ProcessPool, calls: Int) throws -> Double {
        var times: [Double] = []
        for _ in 0..<calls {
            let sent = Clocks.monotonic()
            _ = try pool.submit(WorkerEcho.self, []).result()
            times.append((Clocks.monotonic() - sent).seconds)
        }
        return Statistics.median(times)
    }

    /// Bytes per second of `block` echoed by `pool`'s worker four times, both ways counted.
    private static func echoRate(_ block: [UInt8], through pool: ProcessPool) throws -> Double {
        _ = try pool.submit(WorkerEcho.self, []).result()  // started
        let sent = Clocks.monotonic()
        for _ in 0..<4 { _ = try pool.submit(WorkerEcho.self, block).result() }
        // The transfer's whole time: subtracting the (small, noisy) round trip could leave
        // almost nothing and make an absurd rate on a loaded host.
        let taken = max((Clocks.monotonic() - sent).seconds, 1e-6)
        return Double(2 * 4 * block.count) / taken
    }
}

/// Thread costs: start and join, submit and wait, and a map's per-item cost.
enum ThreadCosts {
    static let rounds = 5

    static func measure() -> (start: Double, dispatch: Double, mapItem: Double, spread: [String: Double]) {
        var starts = RoundFigures()
        var dispatches = RoundFigures()
        var mapItems = RoundFigures()
        let pool = ThreadPool(workers: Machine.usableCores, name: "pa-calibrate")
        defer { pool.shutdown() }
        let items = Array(0..<10_000)
        _ = try? pool.map(items.prefix(1_000)) { $0 }
        for _ in 0..<rounds {
            var times: [Double] = []
            for _ in 0..<10 {
                let begin = Clocks.monotonic()
                if let thread = try? PlatformThread.start(name: "pa-calibrate", {}) { thread.join() }
                times.append((Clocks.monotonic() - begin).seconds)
            }
            starts.rounds.append(Statistics.median(times))
            times.removeAll()
            for _ in 0..<400 {
                let begin = Clocks.monotonic()
                _ = try? pool.submit { 0 }.result()
                times.append((Clocks.monotonic() - begin).seconds)
            }
            dispatches.rounds.append(Statistics.median(times))
            let begin = Clocks.monotonic()
            _ = try? pool.map(items) { $0 &+ 1 }
            mapItems.rounds.append((Clocks.monotonic() - begin).seconds / Double(items.count))
        }
        return (
            starts.lowest, dispatches.lowest, mapItems.lowest,
            [
                "threadStartSeconds": starts.spread, "threadDispatchSeconds": dispatches.spread,
                "threadMapItemSeconds": mapItems.spread,
            ]
        )
    }
}
