/// A Python function's profile: the ``TaskProfile`` the advisor reads, and what only a Python
/// function has (its interpreter, the GIL, its import and worker start, its JSON sizes).
public struct PythonProfile: Codable, Sendable {
    /// `module:function`.
    public var function: String
    /// The fetch stage before it, when profiled as two stages (``PythonFunction/fetch``).
    public var fetch: String?
    public var interpreter: PythonInterpreter
    /// The figures, as for a Swift task: calls, waits, thread scaling, pickled payload.
    public var task: TaskProfile
    /// From starting the worker (interpreter start and import included) to its first answer.
    public var workerStartSeconds: Double
    /// Importing the function's module, in the worker.
    public var importSeconds: Double
    /// Where the module was found.
    public var moduleFile: String?
    /// Mean JSON text per input and per result: what pool-advisor's own pools ship.
    public var jsonBytesPerInput: Double
    public var jsonBytesPerOutput: Double

    /// The serial phase's calls as a ``CallSummary``: each call measured alone, its CPU ratio
    /// the thread's CPU time over its wall time less its wait for a core.
    static func callSummary(_ serial: PythonProbes.Serial) -> CallSummary {
        // The first call is the process's first: kept apart, as the Swift profiler keeps it.
        let walls = serial.walls.count > 1 ? Array(serial.walls.dropFirst()) : serial.walls
        let cpus = serial.cpus.count > 1 ? Array(serial.cpus.dropFirst()) : serial.cpus
        let count = max(1, walls.count)
        let wallSum = max(walls.reduce(0, +), 1e-9)
        let cpuSum = cpus.reduce(0, +)
        let runQueue = max(0, serial.runQueueSeconds ?? 0)
        let runQueueShare = min(runQueue / max(serial.walls.reduce(0, +), 1e-9), 0.99)
        let ratios = zip(walls, cpus).map { wall, cpu in min(1, cpu / max(wall * (1 - runQueueShare), 1e-9)) }
        let ratio = min(1, cpuSum / max(wallSum * (1 - runQueueShare), 1e-9))
        let wallPerCall = wallSum / Double(count)
        let calls = serial.walls.count
        return CallSummary(
            calls: calls, measurements: count, callsPerMeasurement: 1,
            wallSecondsPerCall: Statistics.estimate(wallPerCall, spreadOf: walls),
            threadCPUSecondsPerCall: cpuSum / Double(count),
            runQueueSecondsPerCall: runQueue / Double(max(1, calls)),
            cpuRatio: Statistics.estimate(ratio, spreadOf: ratios),
            wallCPURatio: cpuSum / wallSum, runQueueRatio: runQueueShare,
            blockedRatio: max(0, 1 - cpuSum / wallSum - runQueueShare), helperCPURatio: 0, childrenCPURatio: 0,
            voluntarySwitchesPerCall: Double(serial.voluntarySwitches ?? 0) / Double(max(1, calls)),
            involuntarySwitchesPerCall: Double(serial.involuntarySwitches ?? 0) / Double(max(1, calls)),
            probeOverheadRatio: 0, firstCallSeconds: serial.walls.count > 1 ? serial.walls.first : nil)
    }

    /// What a `ProcessPoolExecutor` call ships: pickled argument and result, dumps plus loads
    /// each way, and their bytes at the interpreter's measured rate.
    static func payload(_ pickled: PythonProbes.Pickle, cpuPerCall: Double, costs: PythonExecutorCosts?)
        -> PayloadProfile
    {
        let codec = max(0, pickled.inputSeconds) + max(0, pickled.outputSeconds)
        let bytes = max(0, pickled.inputBytes) + max(0, pickled.outputBytes)
        let transfer = costs.map { bytes / max($0.processBandwidthBytesPerSecond, 1) } ?? 0
        let shipping = codec + transfer
        return PayloadProfile(
            inputBytes: pickled.inputBytes, outputBytes: pickled.outputBytes, codecSecondsPerCall: codec,
            transferSecondsPerCall: transfer, shippingSecondsPerCall: shipping,
            shippingToComputeRatio: shipping / max(cpuPerCall, 1e-9), includesTransfer: costs != nil)
    }

    /// The deciding figures, tested against the same thresholds as a Swift task's.
    static func figures(calls: CallSummary, scaling: ScalingProfile?, options: ProfilerOptions) -> [DecidingFigure] {
        DecidingFigure.deciding(
            cpuRatio: calls.cpuRatio, cpuRatioThresholds: options.thresholds["cpu_ratio"] ?? [], scaling: scaling,
            thresholds: options.thresholds)
    }
}
