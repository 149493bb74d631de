public import PoolExecutors

/// Everything the profiler measured about one task on this machine: what a rule engine decides
/// on. `Codable`; every field carries its unit in its name (`…Seconds`, `…Bytes`, `…Ratio` for
/// a fraction of time). The JSON schema is documented in `docs/profile-schema.md`.
public struct TaskProfile: Codable, Sendable {
    /// Incremented when a field changes meaning.
    public var schemaVersion = 1
    /// The task's ``PoolExecutors/PoolTask/name``.
    public var task: String
    /// Where it was measured.
    public var host: HostFacts
    /// Wall time the profiling took, every phase included.
    public var profilingSeconds: Double
    /// Per-call accounting of the serial phase (one thread, one call at a time).
    public var calls: CallSummary
    /// What the task thread waited on during the serial phase; nil without `/proc` or with
    /// sampling turned off.
    public var waits: WaitBreakdown?
    /// Throughput on one thread against several; nil when the task mostly waits (it then scales
    /// on threads by construction) or when scaling is turned off — ``scalingSkippedReason`` says.
    public var scaling: ScalingProfile?
    public var scalingSkippedReason: String?
    /// What shipping the arguments and results to a worker process costs.
    public var payload: PayloadProfile
    /// The figures a decision turns on, each with its interval and whether it is clear of the
    /// thresholds it was tested against.
    public var figures: [DecidingFigure]
    /// Calls that threw during profiling.
    public var failures: [ProfiledFailure]
    /// Plain-language remarks: degraded accounting, a noisy host, a budget that ran out.
    public var notes: [String]
    /// What the task's author declared (traits, stages); absent in profiles written before it existed.
    public var declared: TaskDeclaration?

    /// Whether any deciding figure's interval still straddles a threshold.
    public var isBorderline: Bool { figures.contains { $0.isBorderline } }

    /// The figure called `name`, if measured.
    public func figure(_ name: String) -> DecidingFigure? { figures.first { $0.name == name } }
}

/// The host facts a profile depends on.
public struct HostFacts: Codable, Sendable, Equatable {
    public var usableCores: Int
    /// Whether per-thread `/proc` files were read (Linux); without them only per-call
    /// accounting exists.
    public var hasProcFS: Bool
    /// Whether run-queue wait was measured (`/proc/thread-self/schedstat`).
    public var hasSchedulerStatistics: Bool
    /// The CPU other programs held while the profile ran, in cores' worth on average (1.0: one
    /// core kept busy), from ``HostLoad/othersCores(from:to:ticksPerSecond:countingSteal:leastOnly:)``,
    /// a hypervisor's steal time left out; nil in a profile made in a worker process (a
    /// crash-prone task), where
    /// `/proc/stat` cannot be read, and in profiles made before it was measured. Over a profile
    /// of a few tens of milliseconds the ticks (10 ms) are coarse, and one stray tick read as
    /// 0.7 of a core: the figure is the least the ticks allow (a tick per CPU lower), so a
    /// short profile sees a busy host only when one clearly was (a busy loop over 40 ms still
    /// reads 0.5 or more).
    public var othersBusyCores: Double? = nil
}

/// Per-call accounting from exact kernel counters, summed over the serial phase.
public struct CallSummary: Codable, Sendable {
    /// Task calls made in the serial phase (each input may be used more than once).
    public var calls: Int
    /// Measured groups; calls shorter than the probe's cost allows are measured in groups.
    public var measurements: Int
    public var callsPerMeasurement: Int
    /// Mean wall time of one call, with its interval over the measurements.
    public var wallSecondsPerCall: Estimate
    public var threadCPUSecondsPerCall: Double
    /// Time the call was runnable but waited for a core (another program held it).
    public var runQueueSecondsPerCall: Double
    /// CPU time over the call's own time (wall minus waiting for a core): 1 computes all the
    /// time, 0 waits all the time. Unaffected by neighbours stealing the core.
    ///
    /// For a task that runs a command (``TaskDeclaration/runsCommand``) it is the command's:
    /// reaped children's CPU over wall (it may exceed 1 for a command on several threads), and
    /// the calling thread's own ratio is ``callerCPURatio``.
    public var cpuRatio: Estimate
    /// CPU time over wall time, neighbours' interference included.
    public var wallCPURatio: Double
    /// Share of wall time spent waiting for a core.
    public var runQueueRatio: Double
    /// Share of wall time neither running nor runnable: blocked or asleep.
    public var blockedRatio: Double
    /// CPU time of the process's other threads (helpers the task starts) over wall time, the
    /// profiler's own sampler excluded.
    public var helperCPURatio: Double
    /// CPU time of reaped child processes over wall time (tasks that run commands).
    public var childrenCPURatio: Double
    public var voluntarySwitchesPerCall: Double
    public var involuntarySwitchesPerCall: Double
    /// The probe's own cost over the measured time.
    public var probeOverheadRatio: Double
    /// For a task that runs a command, the calling thread's own CPU ratio (starting and
    /// waiting for the command), while ``cpuRatio`` is the command's; nil for other tasks.
    public var callerCPURatio: Estimate? = nil
    /// Wall time of the first call this process made of the task, less any wait for a core,
    /// not counted in the figures above; nil when the profile made none alone, made it in a
    /// worker it was starting (a crash-prone task's profile), or was read from an older file.
    /// Well above ``wallSecondsPerCall`` it is state the task builds once per process (a table,
    /// a model, Foundation's or a library's start-up), which each worker process builds again.
    public var firstCallSeconds: Double? = nil

    /// What a fresh process pays once on top of a call: ``firstCallSeconds`` over the mean
    /// call, 0 when unmeasured or not a finite, positive excess.
    public var warmUpSeconds: Double {
        guard let first = firstCallSeconds, first.isFinite else { return 0 }
        let excess = first - wallSecondsPerCall.value
        return excess.isFinite ? min(max(0, excess), 3600) : 0
    }
}

/// What the task's type declares about itself, recorded so a saved profile can be advised on alone.
public struct TaskDeclaration: Codable, Sendable, Equatable {
    /// Declared ``TaskTraits/crashProne``.
    public var crashProne: Bool
    /// Declared ``TaskTraits/notThreadSafe``.
    public var notThreadSafe: Bool
    /// Declared ``TaskTraits/runsCommand`` (absent in older profiles: false).
    public var runsCommand: Bool?
    /// The fetch and compute stage names of a ``StagedTask``, or nil for a one-stage task.
    public var stages: [String]?

    /// A declaration from its parts (nothing declared by default).
    public init(
        crashProne: Bool = false, notThreadSafe: Bool = false, runsCommand: Bool = false, stages: [String]? = nil
    ) {
        self.crashProne = crashProne
        self.notThreadSafe = notThreadSafe
        self.runsCommand = runsCommand ? true : nil
        self.stages = stages
    }

    /// What `Task` declares.
    public init<Task: PoolTask>(of task: Task.Type) {
        self.init(
            crashProne: Task.traits.contains(.crashProne), notThreadSafe: Task.traits.contains(.notThreadSafe),
            runsCommand: Task.traits.contains(.runsCommand),
            stages: (task as? any StagedTask.Type).map { Self.stageNames($0) })
    }

    private static func stageNames<Staged: StagedTask>(_: Staged.Type) -> [String] {
        [Staged.Fetch.name, Staged.Compute.name]
    }
}

/// Shares of samples per activity, with intervals.
public struct WaitBreakdown: Codable, Sendable {
    /// Threads sampled at once (1 in the serial phase, N in the scaling phase).
    public var threads: Int
    public var samples: Int
    /// Samples per second per thread actually achieved.
    public var samplesPerSecond: Double
    public var counts: ActivityCounts
    /// The sampler's CPU time over its wall time (share of one core).
    public var samplerCoreShare: Double

    /// A breakdown of `counts`, taken from `threads` threads at `samplesPerSecond` each.
    public init(
        threads: Int, samples: Int, samplesPerSecond: Double, counts: ActivityCounts, samplerCoreShare: Double
    ) {
        self.threads = threads
        self.samples = samples
        self.samplesPerSecond = samplesPerSecond
        self.counts = counts
        self.samplerCoreShare = samplerCoreShare
    }

    /// The share of samples in `activity`, with its Wilson interval.
    public func fraction(_ activity: ThreadActivity) -> Estimate {
        Statistics.proportion(counts[activity], of: counts.total)
    }

    /// The share of samples in any of `activities`.
    public func fraction(of activities: [ThreadActivity]) -> Estimate {
        Statistics.proportion(activities.reduce(0) { $0 + counts[$1] }, of: counts.total)
    }

    /// The share of samples waiting on input or output of any kind.
    public var ioFraction: Estimate { fraction(of: ThreadActivity.allCases.filter(\.isIO)) }

    /// The most frequent activity other than running, if any was seen.
    public var dominantWait: ThreadActivity? {
        ThreadActivity.allCases.filter { $0 != .running && $0 != .transition && counts[$0] > 0 }
            .max { counts[$0] < counts[$1] }
    }
}

/// What shipping a call's input and output to a worker and back costs (through its pipes, or
/// its shared memory for large values).
public struct PayloadProfile: Codable, Sendable {
    /// Mean encoded size of an input and an output, with the PoolWire codec the pool uses.
    public var inputBytes: Double
    public var outputBytes: Double
    /// Encode plus decode of one input and one output (a value priced by size adds nothing:
    /// its copies are in ``transferSecondsPerCall``).
    public var codecSecondsPerCall: Double
    /// Each value's bytes over the machine's rate for the path the pool takes for its size
    /// (shared memory or the pipe); zero when no machine profile was given.
    public var transferSecondsPerCall: Double
    public var shippingSecondsPerCall: Double
    /// Shipping cost over the task's CPU time per call: above 1, a worker process spends more
    /// on moving the data than on the work.
    public var shippingToComputeRatio: Double
    /// Whether ``transferSecondsPerCall`` used a measured bandwidth.
    public var includesTransfer: Bool
    /// Sampled inputs and outputs the payload budget left uncoded, counted at the means of
    /// those coded; nil when every sampled value was coded (and in older profiles).
    public var estimatedValues: Int? = nil
    /// Large sampled values timed on their first, cold coding only (the budget held no second,
    /// warm round): their time is an upper bound. nil when there were none (and in older profiles).
    public var coldTimedValues: Int? = nil
    /// Large sampled values that are one block of memory, priced from their size without coding
    /// them (their copies are in ``transferSecondsPerCall``). nil when there were none (and in
    /// older profiles).
    public var sizedValues: Int? = nil
}

/// A figure a decision depends on, tested against the thresholds the rules use.
public struct DecidingFigure: Codable, Sendable {
    /// The fact name the rules use (`cpu_ratio`, `cpu_efficiency`, `serial_fraction`).
    public var name: String
    public var estimate: Estimate
    public var thresholds: [Double]
    /// The threshold closest to the value.
    public var nearestThreshold: Double?
    /// Whether the interval contains a threshold: more measurement could flip the decision.
    public var isBorderline: Bool

    /// `unreliable` marks a figure borderline whatever its interval (measured on a noisy host).
    init(name: String, estimate: Estimate, thresholds: [Double], unreliable: Bool = false) {
        self.name = name
        self.estimate = estimate
        self.thresholds = thresholds
        nearestThreshold = thresholds.min { abs($0 - estimate.value) < abs($1 - estimate.value) }
        isBorderline = unreliable || thresholds.contains { !estimate.isClear(of: $0) }
    }
}

extension DecidingFigure {
    /// The figures a decision turns on: the CPU ratio, and with a scaling test E_cpu (borderline
    /// on a noisy host) and the serial fraction, each against its thresholds.
    static func deciding(
        cpuRatio: Estimate, cpuRatioThresholds: [Double], scaling: ScalingProfile?, thresholds: [String: [Double]]
    ) -> [DecidingFigure] {
        var figures = [DecidingFigure(name: "cpu_ratio", estimate: cpuRatio, thresholds: cpuRatioThresholds)]
        if let scaling {
            figures.append(
                DecidingFigure(
                    name: "cpu_efficiency", estimate: scaling.cpuEfficiency,
                    thresholds: thresholds["cpu_efficiency"] ?? [], unreliable: scaling.noisyHost))
            if let serialFraction = scaling.serialFraction {
                figures.append(
                    DecidingFigure(
                        name: "serial_fraction", estimate: serialFraction,
                        thresholds: thresholds["serial_fraction"] ?? []))
            }
        }
        return figures
    }
}

/// A call that threw while being profiled.
public struct ProfiledFailure: Codable, Sendable, Equatable {
    /// Index of the input in the sample.
    public var inputIndex: Int
    public var errorType: String
    public var message: String
}

extension ThreadActivity: CodingKeyRepresentable {}
