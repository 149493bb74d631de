public import PoolExecutors

/// Throughput of the task on one thread against N concurrent copies, repeated.
///
/// Three figures come out of it:
/// - the speedup S = X(N)/X(1), from rounds where the host left the cores alone;
/// - the Karp–Flatt serial fraction e = (1/S − 1/N)/(1 − 1/N): the share of the work that
///   behaves as if serialised;
/// - the work per CPU-second at N relative to one thread, E_cpu: 1 when every CPU-second does
///   as much as alone, far below 1 for spinning locks and contended atomics, which burn CPU
///   without progress. It holds up when neighbours steal cores, where S does not.
public struct ScalingProfile: Codable, Sendable {
    /// Concurrent copies in the N-thread runs.
    public var threads: Int
    public var rounds: [ScalingRound]
    /// Rounds whose run-queue wait stayed under the limit; only these give S and e.
    public var cleanRounds: Int
    public var speedup: Estimate?
    public var serialFraction: Estimate?
    public var cpuEfficiency: Estimate
    /// Too few clean rounds: other programs held the cores, S and e are not reported.
    public var noisyHost: Bool
    /// On a noisy host, the speed-up over every round, disturbed ones included: not what a
    /// quiet machine would give, but comparable with ``processSpeedup`` measured under the same
    /// load (other programs take the same share from copies on threads as from worker
    /// processes; only what the threads share in this process tells them apart). Nil on a
    /// quiet host, where ``speedup`` says it.
    public var speedupUnderLoad: Estimate?
    /// What the N threads waited on (lock waits appear here, not with one thread).
    public var waits: WaitBreakdown?
    /// A Universal Scalability Law fit, made only with ≥ 4 cores and ≥ 5 thread counts.
    public var universalScalability: USLFit?
    /// Throughput of ``threads`` worker processes over one, when the profiler measured it
    /// (``ProfilerOptions/processScaling``): processes escape what copies on threads share in
    /// this process, not what they share on the machine. When the test paired each process
    /// round with a round on threads (``processOverThreads``; on a quiet host only), this is
    /// the threads' figure (``speedup``) times that ratio: the processes' speed-up in the same
    /// phase of the host as the threads' was measured in.
    public var processSpeedup: Estimate?
    /// The processes' speed-up over the threads' in rounds run side by side, each process
    /// round next to one on threads; nil when not paired. A VM's speed drifts in phases (a
    /// call's CPU time doubles while the host runs something on the same physical core), and
    /// both modes pay for them, so only figures from the same moment compare the modes.
    public var processOverThreads: Estimate?

    /// A scaling profile from its parts (the profiler builds these; tests and tools may too).
    public init(
        threads: Int, rounds: [ScalingRound], cleanRounds: Int, speedup: Estimate?, serialFraction: Estimate?,
        cpuEfficiency: Estimate, noisyHost: Bool, waits: WaitBreakdown?, universalScalability: USLFit?,
        processSpeedup: Estimate? = nil, speedupUnderLoad: Estimate? = nil
    ) {
        self.threads = threads
        self.rounds = rounds
        self.cleanRounds = cleanRounds
        self.speedup = speedup
        self.serialFraction = serialFraction
        self.cpuEfficiency = cpuEfficiency
        self.noisyHost = noisyHost
        self.waits = waits
        self.universalScalability = universalScalability
        self.processSpeedup = processSpeedup
        self.speedupUnderLoad = speedupUnderLoad
    }
}

extension ScalingProfile {
    /// The figures of `rounds` of `threads` copies: S and e from the clean rounds when there are
    /// enough of them (`minimumRounds`, at most 3), E_cpu from those or, without enough, from
    /// every round; `waits` are the copies' sampled waits (nil: not sampled).
    static func summarizing(_ rounds: [ScalingRound], threads: Int, minimumRounds: Int, waits: ActivityCounts?)
        -> ScalingProfile
    {
        let clean = rounds.filter(\.isClean)
        let enoughClean = clean.count >= min(3, minimumRounds)
        // E_cpu survives stolen cores for independent work, but not for spinning: a spinner
        // whose rival is descheduled has nobody to spin against. So clean rounds decide
        // whenever there are enough of them.
        let efficiencies = (enoughClean ? clean : rounds).map { $0.cpuEfficiency(threads: threads) }
        let speedups = clean.map { $0.speedup(threads: threads) }
        let noisy = !enoughClean && clean.count < rounds.count
        let loaded = rounds.map { $0.speedup(threads: threads) }
        let n = Double(threads)
        let serialFractions = speedups.map { (1 / max($0, 1e-9) - 1 / n) / (1 - 1 / n) }
        return ScalingProfile(
            threads: threads, rounds: rounds, cleanRounds: clean.count,
            speedup: enoughClean ? Statistics.estimate(Statistics.mean(speedups), spreadOf: speedups) : nil,
            serialFraction: enoughClean
                ? Statistics.estimate(Statistics.mean(serialFractions), spreadOf: serialFractions) : nil,
            cpuEfficiency: Statistics.estimate(Statistics.mean(efficiencies), spreadOf: efficiencies),
            // Noisy means neighbours spoiled rounds; a budget that allowed few rounds, all clean,
            // is not noise (the figures' wide intervals already say how sure they are).
            noisyHost: noisy,
            waits: waits.map { waits in
                WaitBreakdown(
                    threads: threads, samples: waits.total, samplesPerSecond: 0, counts: waits, samplerCoreShare: 0)
            },
            universalScalability: nil,
            speedupUnderLoad: noisy && !loaded.isEmpty
                ? Statistics.estimate(Statistics.mean(loaded), spreadOf: loaded) : nil)
    }

    /// The processes' speed-up on the threads' footing: the threads' figure (`reference`) times
    /// the paired ratio ``processOverThreads``, or the threads' own figure when the ratio's
    /// interval holds 1: the rounds could not tell the modes apart, and a coin must not move a
    /// job to processes.
    public static func processSpeedup(threads reference: Double, overThreads: Estimate) -> Estimate {
        let ratio = overThreads.low <= 1 && overThreads.high >= 1 ? 1 : overThreads.value
        return Estimate(
            value: reference * ratio, low: reference * overThreads.low, high: reference * overThreads.high,
            observations: overThreads.observations)
    }
}

/// One pair of runs: k calls on one thread, then up to k calls on each of N threads (cut
/// short at three times the single run's length).
public struct ScalingRound: Codable, Sendable {
    public var singleCalls: Int
    public var singleWallSeconds: Double
    public var singleCPUSeconds: Double
    /// Calls made by all N threads together.
    public var concurrentCalls: Int
    public var concurrentWallSeconds: Double
    public var concurrentCPUSeconds: Double
    /// Run-queue wait over thread time, the larger of the two runs.
    public var runQueueRatio: Double
    public var isClean: Bool

    /// X(N)/X(1): calls per second on N threads over calls per second on one.
    public func speedup(threads: Int) -> Double {
        let single = Double(singleCalls) / max(singleWallSeconds, 1e-9)
        return Double(concurrentCalls) / max(concurrentWallSeconds, 1e-9) / max(single, 1e-9)
    }

    /// Calls per CPU-second on N threads over calls per CPU-second on one.
    public func cpuEfficiency(threads: Int) -> Double {
        let single = Double(singleCalls) / max(singleCPUSeconds, 1e-9)
        return Double(concurrentCalls) / max(concurrentCPUSeconds, 1e-9) / max(single, 1e-9)
    }
}

/// Gunther's Universal Scalability Law C(N) = N / (1 + σ(N−1) + κN(N−1)) fitted to relative
/// throughput, with bootstrap intervals.
public struct USLFit: Codable, Sendable {
    /// Contention (serialisation) coefficient.
    public var sigma: Estimate
    /// Coherency (crosstalk) coefficient.
    public var kappa: Estimate
    /// False when κ's interval contains 0: the data cannot tell coherency from noise.
    public var kappaIdentifiable: Bool
    /// The thread count of peak throughput, √((1−σ)/κ), when κ is identifiable and positive.
    public var peakThreads: Double?
    /// Thread counts measured.
    public var levels: [Int]
}

/// Settings of a profiling run.
public struct ProfilerOptions: Sendable {
    /// Least measured groups and least wall time before the profiler may stop.
    public var minimumCalls = 20
    public var minimumSeconds = 1.0
    /// Hard limits: the profile stops here and marks unclear figures borderline.
    public var maximumCalls = 500
    public var maximumSeconds = 10.0
    /// Sampler rate per watched thread; 0 turns sampling off.
    public var samplingHertz = 1000.0
    /// Concurrent copies for the scaling test; nil = min(usable cores, 4), or twice the cores
    /// (at most 8) when other programs held ``HostLoad/busyOthersCores`` or more while the
    /// serial phase ran, as many copies as a pool would run beside them.
    public var scalingThreads: Int?
    /// The scaling test runs only when the serial CPU ratio reaches this: a task that mostly
    /// waits overlaps its waits on threads by construction.
    public var scalingMinimumCPURatio = 0.5
    /// Whether a task below ``scalingMinimumCPURatio`` that declares two stages
    /// (``PoolExecutors/StagedTask``) has its compute stage scaling-tested alone (when both
    /// stages are idempotent and calls may repeat). Off, such a task gets no scaling test.
    public var scalesComputeStage = true
    /// Target length of each single-thread run in the scaling test.
    public var scalingRunSeconds = 0.06
    public var minimumScalingRounds = 3
    public var maximumScalingRounds = 8
    /// A scaling round whose run-queue wait exceeds this share was disturbed by the host.
    public var runQueueLimit = 0.1
    /// The thresholds the rules compare each deciding figure with; the profiler stops early
    /// once every interval is clear of them.
    public var thresholds: [String: [Double]] = [
        "cpu_ratio": [0.3, 0.8],
        "cpu_efficiency": [0.7, 0.85],
        "serial_fraction": [0.15, 0.3],
    ]
    /// Whether an idempotent task's calls may cycle through the sample, calling an input more
    /// than once (the default). A task that is not idempotent (``PoolTask/isIdempotent``) is
    /// never called twice on one input, whatever this says: each call takes the next unused
    /// input, and when the sample runs out the profile is made from the calls it has (its
    /// intervals and notes say how sure it is). ``AutoExecutor`` sets this to `false`, so that
    /// every input of a job runs exactly once.
    public var repeatsIdempotentInputs = true
    /// Stop calling at the first call that throws (or whose worker dies), keeping the outputs
    /// made so far, instead of recording the failure and going on. The profile is then made
    /// from the calls before it; a job that must stop at its first failing input sets this.
    public var stopsAtFirstFailure = false
    /// Worker processes for the process-scaling test, or nil (the default) for none. When set,
    /// and copies on threads sped up short of the cores, the profiler runs the task in that many
    /// workers (``ScalingProfile/threads``) against one, within the last quarter of the budget
    /// (``ScalingProfile/processSpeedup``). Set it only in a program whose workers can run the
    /// task: one that calls ``PoolExecutors/WorkerEntry/runIfWorker(tasks:)`` with it first
    /// thing, as `pool-advisor` does. Inputs are called more than once; a task profiled with
    /// each input once (``repeatsIdempotentInputs`` off, or not idempotent) is not tested.
    public var processScaling: ProcessPool.Configuration?
    /// A warm call's wall time, when the caller has already called the task in this process
    /// (``PoolAdvisor``'s auto executor times the job's first calls before it profiles): the
    /// serial phase then makes no unrecorded warm-up call, which would only pay a cold start
    /// already paid, and sizes its call groups from this time. Nil (the default): the first
    /// call warms up and is not recorded. A profile made in a worker process
    /// (``Profiler/measure(_:sample:in:)``) warms its worker up whatever this says.
    public var warmCallSeconds: Double?

    public init() {}

    /// Copies on threads for the scaling test: ``scalingThreads`` when set; else one per core (at
    /// most 4), or twice that (at most 8) when other programs held ``HostLoad/busyOthersCores``
    /// or more during the serial phase: as many copies as a pool would run beside them. With the
    /// cores oversubscribed, copies that queue on a lock show it (their waits stop hiding in the
    /// run queue) while copies that share nothing take back a fair share of the machine; with one
    /// copy per core, a lock's waiters wait for a core behind the neighbour and the two look
    /// alike. Only where the run queue is measured (`measuresRunQueue`): without it every round
    /// of oversubscribed copies would count as clean, and their speed-up, capped by the cores,
    /// would read as copies that serialise. And only when the rounds fit the inputs left
    /// (`inputsLeft`, when each input is called once).
    func scalingCopies(cores: Int, othersDuringSerial: Double?, measuresRunQueue: Bool, inputsLeft: Int?) -> Int {
        if let scalingThreads { return scalingThreads }
        let usual = min(max(1, cores), 4)
        guard cores >= 2, measuresRunQueue, let others = othersDuringSerial, others >= HostLoad.busyOthersCores
        else { return usual }
        let busy = min(cores, 4) * 2
        if let inputsLeft, inputsLeft < (1 + busy) * min(max(1, minimumScalingRounds), 1_000_000) { return usual }
        return busy
    }
}
