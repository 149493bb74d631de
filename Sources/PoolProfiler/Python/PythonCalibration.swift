public import PoolExecutors
internal import PoolSystem

/// What Python's own executors cost on one interpreter, measured with empty calls by the
/// Python worker and cached per interpreter for a day: `ThreadPoolExecutor`'s thread start,
/// submit-and-wait and map per item, and `ProcessPoolExecutor`'s first result from a fresh
/// pool, submit-and-wait round trip, bytes per second of a 1 MB argument and result, and map
/// per item. ``machineProfile`` puts them where the cost model reads a machine's costs, so the
/// advisor prices Python's executors as it prices pool-advisor's own.
public struct PythonExecutorCosts: Codable, Sendable, Equatable {
    public var interpreter: PythonInterpreter
    public var measuredAtEpochSeconds: Double
    public var threadStartSeconds: Double
    public var threadDispatchSeconds: Double
    public var threadMapItemSeconds: Double
    public var processStartSeconds: Double
    public var processRoundTripSeconds: Double
    public var processBandwidthBytesPerSecond: Double
    public var processMapItemSeconds: Double

    struct Reply: Decodable {
        var thread_start_seconds: Double
        var thread_dispatch_seconds: Double
        var thread_map_item_seconds: Double
        var process_start_seconds: Double
        var process_round_trip_seconds: Double
        var process_bandwidth_bytes_per_second: Double
        var process_map_item_seconds: Double
    }

    /// The costs as a ``MachineProfile``: a worker process's start is a fresh
    /// `ProcessPoolExecutor`'s first result, plus `importSeconds` when its start method imports
    /// the function's module again in each worker (`spawn`, `forkserver`).
    public func machineProfile(importSeconds: Double) -> MachineProfile {
        let reimports = interpreter.startMethod != "fork"
        var machine = MachineProfile(
            host: "python \(interpreter.version)", executableBuild: interpreter.executable,
            measuredAtEpochSeconds: measuredAtEpochSeconds, usableCores: max(1, interpreter.cores),
            workerStartSeconds: processStartSeconds + (reimports ? max(0, importSeconds) : 0),
            roundTripSeconds: processRoundTripSeconds, ipcBandwidthBytesPerSecond: processBandwidthBytesPerSecond,
            threadStartSeconds: threadStartSeconds, threadDispatchSeconds: threadDispatchSeconds,
            threadMapItemSeconds: threadMapItemSeconds, processMapItemSeconds: processMapItemSeconds)
        machine.clampToPlausibleRanges()
        return machine
    }

    /// The costs for `python`: from the cache when measured within a day on the same
    /// interpreter, else measured (a second or two) and cached.
    public static func measured(python: String, cacheDirectory: String? = MachineCalibration.defaultCacheDirectory)
        throws -> PythonExecutorCosts
    {
        let function = PythonFunction.interpreterOnly(python: python)
        let pool = try PythonProfiler.startPool(function)
        defer { pool.shutdown() }
        let info = try PythonProbes.ask(pool, .init("info"), as: PythonProbes.Info.self)
        let path = cacheDirectory.map {
            "\($0)/python-executors-\(CalibrationFiles.fileKey(info.interpreter.executable))-\(info.interpreter.version).json"
        }
        if let path, case .found(let cached) = CalibrationFiles.read(path, as: PythonExecutorCosts.self),
            cached.interpreter == info.interpreter, cached.isPlausible,
            CalibrationFiles.now() - cached.measuredAtEpochSeconds < 86_400,
            CalibrationFiles.now() >= cached.measuredAtEpochSeconds
        {
            return cached
        }
        var request = PythonProbes.Request("calibrate")
        request.cores = info.interpreter.cores
        request.rounds = 3
        let reply = try PythonProbes.ask(pool, request, as: Reply.self)
        let costs = PythonExecutorCosts(
            interpreter: info.interpreter, measuredAtEpochSeconds: CalibrationFiles.now(),
            threadStartSeconds: reply.thread_start_seconds, threadDispatchSeconds: reply.thread_dispatch_seconds,
            threadMapItemSeconds: reply.thread_map_item_seconds, processStartSeconds: reply.process_start_seconds,
            processRoundTripSeconds: reply.process_round_trip_seconds,
            processBandwidthBytesPerSecond: reply.process_bandwidth_bytes_per_second,
            processMapItemSeconds: reply.process_map_item_seconds)
        if let path { try? CalibrationFiles.write(costs, to: path) }
        return costs
    }

    /// Whether every figure is finite and within what an interpreter can measure: a cache file
    /// holding anything else is measured again.
    var isPlausible: Bool {
        let seconds = [
            threadStartSeconds, threadDispatchSeconds, threadMapItemSeconds, processStartSeconds,
            processRoundTripSeconds, processMapItemSeconds,
        ]
        return seconds.allSatisfy { $0.isFinite && $0 > 0 && $0 < 600 }
            && processBandwidthBytesPerSecond.isFinite && (1e3...1e12).contains(processBandwidthBytesPerSecond)
            && (1...1_000_000).contains(interpreter.cores)
    }
}
