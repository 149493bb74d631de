internal import Foundation
public import PoolExecutors
public import PoolProfiler
public import PoolRules
public import PoolWorkloads

/// Profiles a reference workload, asks the advisor, then runs the same inputs in every mode and
/// compares: what `pool-advisor demo` prints, and the proof that the advice was right.
public struct ModeComparison: Codable, Sendable {
    /// One way of running the job, with its predicted and measured wall time.
    public struct Timing: Codable, Sendable {
        /// The plan that ran.
        public var plan: ExecutionPlan
        /// What the cost model predicted for it.
        public var predictedSeconds: Double
        /// The median over the rounds.
        public var measuredSeconds: Double
        /// Every round's time.
        public var rounds: [Double]
    }

    /// The reference workload's short name.
    public var workload: String
    /// Inputs in the job.
    public var items: Int
    /// The recommended plan and its times.
    public var recommended: Timing
    /// The rule that decided.
    public var rule: String?
    /// Each mode at the cost model's best size for it (the pipeline only for staged tasks).
    public var modes: [String: Timing]
    /// The mode that ran fastest (`recommended` when the recommended plan beat every mode's).
    public var fastest: String
    /// The recommended plan's time over the fastest time: 1 means the advice was the best choice.
    public var regret: Double
    /// How long the profile took.
    public var profilingSeconds: Double
    /// The CPU other programs took while the plans were timed, in cores' worth on average (1.0:
    /// one core kept busy), from `/proc/stat` less this process's and its workers' CPU; nil where
    /// it cannot be read.
    public var othersCPUShare: Double?
    /// Whether the profile found the host noisy (most scaling rounds disturbed); nil when no
    /// scaling test ran.
    public var profileNoisyHost: Bool?

    /// Other programs' CPU above this share of a core marks a row ``noisy``: the profile's
    /// ``HostLoad/busyOthersCores``. Here steal time counts too (unlike the profile's reading):
    /// a hypervisor's other machines slow the timed plans as much as a program here would.
    public static let noisyOthersShare = HostLoad.busyOthersCores

    /// Whether other programs disturbed the row's measurements: they held more than
    /// ``noisyOthersShare`` of a core while the plans ran, or the profile was noisy. Its times
    /// and regret are then less certain than a quiet machine's.
    public var noisy: Bool { (othersCPUShare ?? 0) > Self.noisyOthersShare || profileNoisyHost == true }

    /// How big and how careful a comparison is.
    public struct Settings: Sendable {
        /// The job is sized so it takes about this long run serially.
        public var serialSeconds = 1.0
        /// Each plan runs this many times; the median counts. A plan whose median job is under
        /// 0.1 s runs more rounds, until about 0.3 s of it has been timed (30 rounds at most).
        public var rounds = 3
        /// Inputs may take at most this much memory.
        public var inputBytesLimit = 256.0 * 1_048_576
        /// The profiler's settings.
        public var profiler = ProfilerOptions()
        /// Worker settings for process pools (the executable must register the reference workloads).
        public var processes = ProcessPool.Configuration()

        /// The defaults: a one-second serial job, 3 rounds.
        public init() {}
    }

    /// Runs the comparison for `workload` on `machine`.
    /// - Throws: what profiling or a run throws (``ProfilerError``, ``MapError``, ``PoolError``).
    public static func run<Workload: ReferenceWorkload>(
        _ workload: Workload.Type, machine: MachineProfile, rules: RuleSet = Advisor.defaultRules, settings: Settings
    ) throws -> ModeComparison {
        let profile = try Profiler(options: settings.profiler, machine: machine).profile(
            workload, sample: workload.inputs(count: 32))
        let call = max(profile.calls.wallSecondsPerCall.value, 1e-7)
        let byMemory = Int(settings.inputBytesLimit / max(1, profile.payload.inputBytes))
        let items = max(16, min(200_000, byMemory, Int(settings.serialSeconds / call)))
        let inputs = workload.inputs(count: items)
        let advice = Advisor(rules: rules, machine: machine).recommend(profile, items: items)
        let costs = advice.predicted
        var plans: [(String, ExecutionPlan, Double)] = [
            ("serial", ExecutionPlan(mode: .serial), costs.serial.seconds),
            ("threads", ExecutionPlan(costs.threads), costs.threads.seconds),
            ("processes", ExecutionPlan(costs.processes), costs.processes.seconds),
        ]
        if let pipeline = costs.pipeline { plans.append(("pipeline", ExecutionPlan(pipeline), pipeline.seconds)) }
        let recommendedPlan = ExecutionPlan(advice)
        let separate = !plans.contains { $0.1 == recommendedPlan }
        if separate { plans.append(("recommended", recommendedPlan, advice.predictedSeconds)) }
        let hostBefore = HostCPUSnapshot.now()
        // Round by round, every plan once per round: a load that comes and goes during the
        // comparison then falls on every plan alike, not on whichever ran last.
        var rounds = Array(repeating: [Double](), count: plans.count)
        for round in 0..<max(1, settings.rounds) {
            // Each round starts one plan later, so no plan always follows the same one (a pool
            // still winding down, a heap the plan before grew).
            for step in plans.indices {
                let index = (step + round) % plans.count
                rounds[index].append(try measureOnce(workload, inputs, plans[index].1, settings))
            }
        }
        // A job of a few milliseconds is at the mercy of one scheduler tick (a busy neighbour's
        // time slice is 3–4 ms), and three rounds do not settle its median: plans that short run
        // more rounds, interleaved as above, until about 0.3 s of each has been timed.
        let short = plans.indices.filter { median(rounds[$0]) < Self.shortJobSeconds }
        for round in 0..<Self.shortJobExtraRounds {
            let pending = short.filter { rounds[$0].reduce(0, +) < Self.shortJobTimedSeconds }
            if pending.isEmpty { break }
            for step in pending.indices {
                let index = pending[(step + round) % pending.count]
                rounds[index].append(try measureOnce(workload, inputs, plans[index].1, settings))
            }
        }
        // The recommended plan and its closest rival (the fastest other plan) whose rounds
        // overlap were not told apart, whichever won: disk-fsync's threads × 16 and × 20 ran
        // 0.34 to 0.52 s round to round, as the disk's queue came and went. Both run more
        // rounds, interleaved, and the medians of all their rounds decide; rerun whether the
        // recommended plan won or lost, and as often as its rival, so neither is favoured.
        let recommendedIndex = plans.firstIndex { $0.1 == recommendedPlan }!
        let rivalIndex = plans.indices.filter { $0 != recommendedIndex }
            .min { median(rounds[$0]) < median(rounds[$1]) }
        if let rivalIndex, Self.overlap(rounds[recommendedIndex], rounds[rivalIndex]) {
            for round in 0..<Self.contestedExtraRounds {
                for index in round % 2 == 0 ? [recommendedIndex, rivalIndex] : [rivalIndex, recommendedIndex] {
                    rounds[index].append(try measureOnce(workload, inputs, plans[index].1, settings))
                }
            }
        }
        var modes: [String: Timing] = [:]
        for (index, (name, plan, predicted)) in plans.enumerated() where name != "recommended" {
            modes[name] = Timing(
                plan: plan, predictedSeconds: predicted, measuredSeconds: median(rounds[index]), rounds: rounds[index])
        }
        let recommendedRounds = rounds[recommendedIndex]
        let recommended = Timing(
            plan: recommendedPlan, predictedSeconds: advice.predictedSeconds,
            measuredSeconds: median(recommendedRounds), rounds: recommendedRounds)
        let others = hostBefore.flatMap { before in
            HostCPUSnapshot.now().flatMap { HostLoad.othersCores(from: before, to: $0) }
        }
        let best = modes.min { $0.value.measuredSeconds < $1.value.measuredSeconds }!
        let fastest = recommended.measuredSeconds < best.value.measuredSeconds ? "recommended" : best.key
        let fastestSeconds = min(recommended.measuredSeconds, best.value.measuredSeconds)
        return ModeComparison(
            workload: workload.workloadName, items: items, recommended: recommended, rule: advice.decidingRule?.rule,
            modes: modes, fastest: fastest, regret: recommended.measuredSeconds / max(fastestSeconds, 1e-9),
            profilingSeconds: profile.profilingSeconds, othersCPUShare: others,
            profileNoisyHost: profile.scaling?.noisyHost)
    }

    /// Wall time of the whole job with `plan`, pools started inside the timing (as the cost model counts them).
    private static func measureOnce<Workload: ReferenceWorkload>(
        _ workload: Workload.Type, _ inputs: [Workload.Input], _ plan: ExecutionPlan, _ settings: Settings
    ) throws -> Double {
        let executor = Executor(plan: plan, processes: settings.processes)
        defer { executor.shutdown() }
        let clock = ContinuousClock()
        let started = clock.now
        _ = try executor.map(workload, inputs)
        return (clock.now - started).seconds
    }

    /// Extra rounds each for the recommended plan and its closest rival when their rounds overlap.
    static let contestedExtraRounds = 4

    /// Whether two plans' rounds overlap: neither's every round beat all of the other's.
    static func overlap(_ first: [Double], _ second: [Double]) -> Bool {
        guard let firstLow = first.min(), let firstHigh = first.max(), let secondLow = second.min(),
            let secondHigh = second.max()
        else { return false }
        return firstLow <= secondHigh && secondLow <= firstHigh
    }
    /// A plan whose median job is shorter than this gets extra rounds.
    static let shortJobSeconds = 0.1
    /// The extra rounds a short plan gets at most (30 in all with the usual three).
    static let shortJobExtraRounds = 27
    /// A short plan's extra rounds stop once its rounds add up to this.
    static let shortJobTimedSeconds = 0.3

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
