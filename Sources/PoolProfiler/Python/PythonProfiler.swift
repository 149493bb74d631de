public import PoolExecutors
internal import PoolSystem

/// Measures a Python function as ``Profiler`` measures a Swift task, inside one Python worker:
/// the serial phase (each call's wall and thread CPU time, what the calling thread waits on,
/// sampled from `/proc`), N copies on N threads of the one interpreter (where the GIL shows),
/// and what `ProcessPoolExecutor` would ship (pickled sizes, dumps plus loads). The result is a
/// ``TaskProfile`` the advisor reads as it reads a Swift task's, with Python's executor costs
/// (``PythonExecutorCosts``) as the machine's.
///
/// ```swift
/// let function = try PythonFunction("mytasks:score")
/// let profile = try PythonProfiler(function).profile(inputs: ["1", "2", "3"])
/// print(profile.task.calls.cpuRatio, profile.interpreter.gilEnabled)
/// ```
public struct PythonProfiler: Sendable {
    public var function: PythonFunction
    /// Most seconds to spend (the worker's start and the executors' calibration aside).
    public var budgetSeconds: Double
    /// The thresholds and copies the figures are tested against (as for a Swift task).
    public var options: ProfilerOptions

    public init(_ function: PythonFunction, budgetSeconds: Double = 3, options: ProfilerOptions = ProfilerOptions()) {
        self.function = function
        self.budgetSeconds = budgetSeconds
        self.options = options
    }

    /// Profiles the function on `inputs` (JSON texts, one value each), cycling through them.
    /// - Throws: ``PythonError`` when the function cannot be imported or every call fails,
    ///   naming what and how to fix it.
    public func profile(inputs: [String], costs: PythonExecutorCosts? = nil) throws -> PythonProfile {
        guard !inputs.isEmpty else { throw PythonError("no inputs to profile \(function) on: give some with --inputs") }
        let sample = Array(inputs.prefix(64))
        let started = Clocks.monotonic()
        let pool = try Self.startPool(function)
        defer { pool.shutdown() }
        let info = try PythonProbes.ask(pool, .init("info"), as: PythonProbes.Info.self)
        let startSeconds = (Clocks.monotonic() - started).seconds
        let budget = max(0.1, budgetSeconds)

        var serialRequest = PythonProbes.Request("serial", inputs: sample)
        serialRequest.seconds = budget * 0.3
        serialRequest.minCalls = options.minimumCalls
        serialRequest.maxCalls = max(options.minimumCalls, options.maximumCalls * 4)
        let sampler = options.samplingHertz > 0 ? ThreadSampler(hertz: options.samplingHertz) : nil
        let watching = sampler.map { $0.watch(info.threadID, inProcess: info.pid) } ?? false
        if watching { try? sampler?.start() }
        // A call that never returns must not hold the profile for ever: the limit leaves room
        // for calls of a minute each.
        let limit = Duration.seconds(max(120, budget * 20))
        let serial = try PythonProbes.ask(pool, serialRequest, as: PythonProbes.Serial.self, within: limit)
        let waitCounts = watching ? sampler?.takeCounts() : nil
        if watching { _ = sampler?.stop() }
        guard serial.walls.count > (serial.failedCalls ?? serial.failures.count) || serial.failures.isEmpty else {
            let first = serial.failures.first
            throw PythonError(
                "every call of \(function) failed while profiling; input \(first?.index ?? 0) raised \(first?.type ?? "?"): \(first?.message ?? "")"
            )
        }
        let calls = PythonProfile.callSummary(serial)
        var notes: [String] = []
        var scaling: ScalingProfile?
        var skipped: String?
        let cores = max(1, info.interpreter.cores)
        // A call that also waits is tested on enough threads to ask for every core's worth of
        // computing at once, and its figures are its computing part's on `cores` copies (as a
        // staged task's are its compute stage's): under the GIL its computing parts take turns
        // however many threads wait beside them.
        let mixed = calls.cpuRatio.value < 0.8
        let threads =
            options.scalingThreads
            ?? (mixed
                ? min(32, max(cores + 1, Int((1.5 * Double(cores) / max(calls.cpuRatio.value, 0.05)).rounded(.up))))
                : min(max(2, cores), 4))
        if calls.cpuRatio.value >= min(options.scalingMinimumCPURatio, 0.2) {
            let callSeconds = max(calls.wallSecondsPerCall.value, 1e-7)
            let left = budget - (Clocks.monotonic() - started).seconds + startSeconds
            let perRun = Int(min(1e6, max(1, (min(options.scalingRunSeconds, left / 12) / callSeconds).rounded())))
            var request = PythonProbes.Request("scaling", inputs: sample)
            request.threads = threads
            request.rounds = options.maximumScalingRounds
            request.calls = perRun
            request.seconds = max(0.05, left * 0.6)
            let reply = try PythonProbes.ask(pool, request, as: PythonProbes.Scaling.self, within: limit)
            let copies = mixed ? max(2, cores) : reply.threads
            let rounds = reply.rounds.map { round in
                // For a call that waits: the single run as its computing part alone (its CPU
                // time), against the threads' throughput: the speed-up is the cores' worth of
                // computing the threads achieved.
                ScalingRound(
                    singleCalls: round.calls, singleWallSeconds: mixed ? round.singleCPU : round.singleWall,
                    singleCPUSeconds: round.singleCPU, concurrentCalls: round.calls * reply.threads,
                    concurrentWallSeconds: round.parallelWall, concurrentCPUSeconds: round.parallelCPU,
                    runQueueRatio: 0, isClean: true)
            }
            scaling = ScalingProfile.summarizing(
                rounds, threads: copies, minimumRounds: options.minimumScalingRounds, waits: nil)
            if mixed {
                notes.append(
                    "the calls wait as well as compute: \(reply.threads) threads ran at once, and the scaling figures are their computing parts' on \(copies) cores"
                )
            }
        } else {
            skipped =
                "the calls mostly wait (CPU ratio \(calls.cpuRatio.value.formatted2) below 0.2): copies on threads overlap their waits"
        }
        let pickled = try PythonProbes.ask(
            pool, .init("pickle", inputs: Array(sample.prefix(16))), as: PythonProbes.Pickle.self, within: limit)
        let profilingSeconds = (Clocks.monotonic() - started).seconds
        if info.importSeconds > 0.1 {
            notes.append(
                "importing \(function.spec.split(separator: ":").first ?? "") took \(Int((info.importSeconds * 1000).rounded())) ms: work done at import time is paid again by every worker a spawn or forkserver start method starts"
            )
        }
        let payload = PythonProfile.payload(pickled, cpuPerCall: calls.threadCPUSecondsPerCall, costs: costs)
        var task = TaskProfile(
            task: function.spec,
            host: HostFacts(
                usableCores: cores, hasProcFS: ProcFS.isAvailable, hasSchedulerStatistics: serial.runQueueSeconds != nil
            ),
            profilingSeconds: profilingSeconds, calls: calls,
            waits: waitCounts.map {
                WaitBreakdown(
                    threads: 1, samples: $0.total, samplesPerSecond: options.samplingHertz, counts: $0,
                    samplerCoreShare: 0)
            },
            scaling: scaling, scalingSkippedReason: skipped, payload: payload,
            figures: PythonProfile.figures(calls: calls, scaling: scaling, options: options),
            failures: serial.failures.map {
                ProfiledFailure(inputIndex: $0.index, errorType: $0.type, message: $0.message)
            },
            notes: notes)
        // Two stages when a fetch stage was given: the advisor may split them.
        task.declared = TaskDeclaration(stages: function.fetch.map { [$0, function.spec] })
        return PythonProfile(
            function: function.spec, fetch: function.fetch, interpreter: info.interpreter, task: task,
            workerStartSeconds: startSeconds,
            importSeconds: info.importSeconds, moduleFile: info.moduleFile, jsonBytesPerInput: pickled.inputJSONBytes,
            jsonBytesPerOutput: pickled.outputJSONBytes)
    }

    /// A pool of one Python worker serving `function`, started and past its handshake; an
    /// import error comes back as a ``PythonError`` quoting the worker's reason.
    static func startPool(_ function: PythonFunction) throws -> ProcessPool {
        var configuration = try function.poolConfiguration(workers: 1)
        do {
            let pool = try ProcessPool(configuration: configuration)
            return pool
        } catch let error as PoolError {
            throw PythonError(Self.explain(error, function))
        }
    }

    /// A pool error in the words of the Python function that caused it.
    static func explain(_ error: PoolError, _ function: PythonFunction) -> String {
        let text = error.description
        if text.contains("was not found there") || text.contains("status 127") {
            return
                "cannot run the Python interpreter '\(function.python)': it was not found (install python3, or name one with --python-exe)"
        }
        return text
    }
}

extension Double {
    var formatted2: String { "\((self * 100).rounded() / 100)" }
}
