public import PoolProfiler
internal import PoolRules

/// One way to run the job and its predicted wall time.
public struct PlanCost: Sendable, Equatable {
    /// The plan priced.
    public var plan: ExecutionPlan
    /// Predicted wall time of the whole job.
    public var seconds: Double

    /// The plan's mode.
    public var mode: DecisionMode { plan.mode }
    /// Threads or worker processes (for a pipeline: the compute stage's; serial: 1).
    public var workers: Int { plan.workers }
    /// Items per dispatched chunk (1 for serial and a pipeline).
    public var chunk: Int { plan.chunkSize ?? 1 }
    /// For a pipeline: the fetch stage's threads.
    public var fetchWorkers: Int? { plan.mode == .pipeline ? plan.fetchWorkers : nil }
    /// For a pipeline: where the compute stage runs.
    public var computeStage: DecisionMode? { plan.mode == .pipeline ? plan.computeStage : nil }

    /// `plan`, predicted to take `seconds`.
    public init(_ plan: ExecutionPlan, seconds: Double) {
        self.plan = plan
        self.seconds = seconds
    }
}

extension PlanCost: Codable {
    // The plan in its own flat form (`mode`, `workers`, `chunkSize`, `fetchWorkers`,
    // `computeStage`, sizes checked on reading), with `seconds` beside it.
    private enum CodingKeys: String, CodingKey {
        case seconds
    }

    public init(from decoder: any Decoder) throws {
        let seconds = try decoder.container(keyedBy: CodingKeys.self).decode(Double.self, forKey: .seconds)
        self.init(try ExecutionPlan(from: decoder), seconds: seconds)
    }

    public func encode(to encoder: any Encoder) throws {
        try plan.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seconds, forKey: .seconds)
    }
}

/// The predicted wall time of the whole job in each mode, each at its best size.
public struct CostPrediction: Codable, Sendable, Equatable {
    /// Every item on the calling thread.
    public var serial: PlanCost
    /// The fastest thread pool.
    public var threads: PlanCost
    /// The fastest process pool.
    public var processes: PlanCost
    /// Nil when the task declares no stages.
    public var pipeline: PlanCost?
    /// The split pipeline proper, its compute stage on processes (``pipeline`` is the faster of
    /// that and a compute stage on threads); nil when the task declares no stages.
    public var splitPipeline: PlanCost?
    /// Worker processes on the other hosts the advisor was given (and on this machine, when
    /// it is one of them); nil without hosts. Not counted in ``bestParallel``.
    public var multiHost: PlanCost?

    /// The fastest of the parallel plans.
    public var bestParallel: PlanCost {
        ([threads, processes] + (pipeline.map { [$0] } ?? [])).min { $0.seconds < $1.seconds }!
    }
}

/// Predicts the wall time of a job from the task's profile and the machine's costs.
///
/// Each mode's time is the largest of a few lower bounds (the formulas are in `docs/cost-model.md`):
/// the wall time the workers need to get through every call, the CPU the cores must supply, and
/// what the submitting thread must do one item at a time; plus the start-up cost. Thread
/// speed-up on k cores follows the measured Karp–Flatt fraction e: `k / (1 + e·(k − 1))`, which
/// also covers copies that slow each other (e > 1); without it, `k · E_cpu`; without either, `k`.
public struct CostModel: Sendable {
    /// What the task costs per call.
    public let profile: TaskProfile
    /// What the machine charges for threads, workers and shipping.
    public let machine: MachineProfile

    /// A model of `profile` run on `machine`.
    public init(profile: TaskProfile, machine: MachineProfile) {
        self.profile = profile
        self.machine = machine
    }

    var wall: Double { max(profile.calls.wallSecondsPerCall.value, 1e-9) }
    /// CPU of one call: its own thread's, plus its child processes' (a command's work).
    var cpu: Double {
        min(profile.calls.threadCPUSecondsPerCall + profile.calls.childrenCPURatio * wall, wall)
    }
    var ship: Double { profile.payload.shippingSecondsPerCall }
    /// A worker process's start as the task sees it: the machine's start of an idle worker, plus
    /// what the task's first call in a fresh process costs over the others (state it builds
    /// once per process; threads share the state this process already built).
    private var workerStart: Double { machine.workerStartSeconds + profile.calls.warmUpSeconds }
    /// Bounded like any figure a file may hold: doubling it for a busy host must not overflow.
    private var cores: Int { min(max(1, machine.usableCores), 1_000_000) }

    /// Throughput of k concurrent copies on threads, relative to one.
    func threadSpeedup(_ k: Int) -> Double {
        let k = Double(max(1, k))
        if let e = profile.scaling?.serialFraction?.value, e.isFinite {
            return k / (1 + max(0, e) * (k - 1))
        }
        if let efficiency = profile.scaling?.cpuEfficiency.value, efficiency.isFinite {
            return max(0.01, k * min(1, efficiency))
        }
        return k
    }

    /// Throughput of k worker processes relative to one. Processes share no lock, cache line or
    /// allocator, so they scale with the cores, except for what the host withholds. When copies on
    /// threads clearly scale (E_cpu ≥ 0.85 and e ≤ 0.15), the task shares nothing that matters,
    /// so any shortfall of the measured speed-up is the host's (neighbours, two vCPUs on one
    /// core, memory bandwidth) and processes pay it too. Otherwise the model cannot tell the
    /// host's share from the task's and lets processes scale fully, which flatters them.
    ///
    /// A measured process speed-up (``ScalingProfile/processSpeedup``) settles it: its Karp–Flatt
    /// fraction for the workers it ran carries over to k workers. One measured beside a busy
    /// neighbour does not: it holds the neighbour's share (which ``hostShare(_:)`` counts) and
    /// is only compared with the threads' speed-up under the same load, by the rules.
    func processSpeedup(_ k: Int) -> Double {
        let k = max(1, k)
        if k > 1, let scaling = profile.scaling, !scaling.noisyHost, let measured = scaling.processSpeedup?.value,
            measured.isFinite, measured > 0
        {
            let n = Double(max(2, scaling.threads))
            let e = min(10, max(0, (n / min(measured, n) - 1) / (n - 1)))
            return Double(k) / (1 + e * Double(k - 1))
        }
        // Beside a busy program the shortfall is the neighbours', which ``hostShare(_:)`` counts.
        guard k > 1, othersCores == 0, let scaling = profile.scaling, let speedup = scaling.speedup?.value,
            let e = scaling.serialFraction?.value, scaling.cpuEfficiency.value >= 0.85, e <= 0.15
        else { return Double(k) }
        let measuredCopies = Double(max(2, scaling.threads))
        let withheld = min(1, max(0.5, speedup / (measuredCopies * min(1, scaling.cpuEfficiency.value))))
        return Double(k) * withheld
    }

    /// Other programs' busy cores during the profile, within `0...cores`; nil when not measured
    /// (or not a number, from a corrupt file).
    var measuredOthersCores: Double? {
        guard let others = profile.host.othersBusyCores, others.isFinite else { return nil }
        return min(max(0, others), Double(cores))
    }

    /// Other programs' busy cores during the profile, when they held enough to matter
    /// (``PoolProfiler/HostLoad/busyOthersCores`` or more); nil on a quiet or unmeasured host.
    public var busyOthersCores: Double? {
        guard let others = measuredOthersCores, others >= HostLoad.busyOthersCores else { return nil }
        return others
    }

    /// ``busyOthersCores``, 0 on a quiet host.
    private var othersCores: Double { busyOthersCores ?? 0 }

    /// The share of `min(k, cores)` cores that k runnable copies get while other programs keep
    /// ``othersCores`` busy. The scheduler shares each core evenly among runnable threads, so
    /// k copies beside b busy ones get `cores · k / (k + b)` cores once `k + b` exceeds the
    /// cores: more copies take back more of the machine. Beyond twice the cores no further gain
    /// is counted; switching and cache misses among so many copies eat it.
    func hostShare(_ k: Int) -> Double {
        let b = othersCores
        guard b > 0 else { return 1 }
        let held = coresHeld(copies: Double(min(max(1, k), 2 * cores)), others: b)
        return min(1, held / min(Double(max(1, k)), Double(cores)))
    }

    /// The cores `copies` runnable copies hold beside `others` busy ones: all they ask for
    /// while the machine has room, else their even share of it, `cores · copies / (copies + others)`.
    private func coresHeld(copies: Double, others: Double) -> Double {
        Self.coresHeld(copies: copies, others: others, cores: Double(cores))
    }

    /// The cores `copies` runnable copies hold on `cores` beside `others` busy ones (the
    /// formula above, shared with the run's idle-threads check).
    static func coresHeld(copies: Double, others: Double, cores: Double) -> Double {
        copies + others > cores ? cores * copies / (copies + others) : copies
    }

    /// The speed-up `copies` that share nothing would show over one beside other programs
    /// holding ``measuredOthersCores``: each side's share of the cores (see ``hostShare(_:)``,
    /// here without its cap at twice the cores), one copy against `copies`. What the scaling
    /// test measured under load (``PoolProfiler/ScalingProfile/speedupUnderLoad``) is judged
    /// against it; nil when the load was not measured.
    public func fairSpeedupUnderLoad(copies: Int) -> Double? {
        guard let others = measuredOthersCores else { return nil }
        let n = Double(min(max(1, copies), 1_000_000))
        return coresHeld(copies: n, others: others) / max(coresHeld(copies: 1, others: others), 1e-9)
    }

    /// The copies CPU-bound work should run as: the cores on a quiet host; twice the cores
    /// while other programs hold at least ``PoolProfiler/HostLoad/busyOthersCores`` of them
    /// (see ``hostShare(_:)``). Never more than `items`.
    public func cpuWorkers(items: Int) -> Int {
        max(1, min(items, othersCores > 0 ? 2 * cores : cores))
    }

    /// Items per chunk so the per-chunk `overhead` stays under 2 % of the chunk's work, but at least
    /// four chunks per worker remain for balance.
    /// Any `overhead` is accepted (a hostile or corrupt calibration may hold infinity or NaN):
    /// the result is always in `1...max(1, items / (4 · workers))`.
    public func chunk(items: Int, workers: Int, overhead: Double) -> Int {
        let wanted = Int(saturating: (50 * overhead / wall).rounded(.up))
        let balanced = max(1, items / max(1, 4 * workers))
        return max(1, min(wanted, balanced))
    }

    /// Predicted seconds for `items` run as `plan` says (a chunk the pool chooses counts as 1).
    public func seconds(for plan: ExecutionPlan, items: Int) -> Double {
        seconds(
            plan.mode, items: items, workers: plan.workers, chunk: plan.chunkSize ?? 1, fetchWorkers: plan.fetchWorkers,
            computeStage: plan.computeStage)
    }

    /// Predicted seconds for `items` run in `mode`.
    public func seconds(
        _ mode: DecisionMode, items: Int, workers: Int = 1, chunk: Int = 1, fetchWorkers: Int = 1,
        computeStage: DecisionMode = .processes
    ) -> Double {
        let n = Double(items)
        let w = Double(max(1, workers))
        let chunks = (n / Double(max(1, chunk))).rounded(.up)
        let busyCores = min(max(1, workers), cores)
        switch mode {
        case .serial:
            return n * wall
        case .threads:
            let start = w * machine.threadStartSeconds
            let waitBound = n * wall / w
            let cpuBound = n * cpu / (threadSpeedup(busyCores) * hostShare(workers))
            let dispatchBound = chunks * machine.threadDispatchSeconds
            return start + max(waitBound, cpuBound, dispatchBound)
        case .processes:
            let start = workerStart * (w / Double(cores)).rounded(.up)
            let perItemParent = ship / 2 + machine.processMapItemSeconds
            let waitBound = (n * (wall + ship / 2) + chunks * machine.roundTripSeconds) / w
            let cpuBound =
                n * (cpu + ship + machine.processMapItemSeconds) / (processSpeedup(busyCores) * hostShare(workers))
            return start + max(waitBound, cpuBound, n * perItemParent)
        case .pipeline:
            let fetch = n * max(wall - cpu, 0) / Double(max(1, fetchWorkers))
            let computeCores = processSpeedup(busyCores) * hostShare(workers)
            let compute: Double
            let start: Double
            if computeStage == .processes {
                start = workerStart * (w / Double(cores)).rounded(.up)
                compute = max(
                    n * (cpu + ship + machine.processMapItemSeconds) / computeCores,
                    n * (ship / 2 + machine.processMapItemSeconds))
            } else {
                start = (w + Double(fetchWorkers)) * machine.threadStartSeconds
                compute = n * cpu / (threadSpeedup(busyCores) * hostShare(workers))
            }
            return start + max(fetch, compute, chunks * machine.threadDispatchSeconds)
        }
    }

    /// Each mode at its best size among worker counts 1…64.
    public func predict(items: Int) -> CostPrediction {
        let serial = PlanCost(.serial, seconds: seconds(.serial, items: items))
        let counts = Self.workerCounts(cores: cores, items: items)
        func best(_ mode: DecisionMode, overhead: Double) -> PlanCost {
            counts.map { workers in
                let chunk = chunk(items: items, workers: workers, overhead: overhead)
                let plan = ExecutionPlan(mode: mode, workers: workers, chunkSize: chunk)
                return PlanCost(plan, seconds: seconds(for: plan, items: items))
            }.min { $0.seconds < $1.seconds }!
        }
        let threads = best(.threads, overhead: machine.threadDispatchSeconds)
        let processes = best(.processes, overhead: machine.roundTripSeconds)
        var pipeline: PlanCost?
        var splitPipeline: PlanCost?
        if profile.declared?.stages != nil {
            let compute = cpuWorkers(items: items)
            let plans = counts.flatMap { fetch in
                [DecisionMode.processes, .threads].map { stage in
                    let plan = ExecutionPlan(
                        mode: .pipeline, workers: compute, fetchWorkers: fetch, computeStage: stage)
                    return PlanCost(plan, seconds: seconds(for: plan, items: items))
                }
            }
            pipeline = plans.min { $0.seconds < $1.seconds }
            splitPipeline = plans.filter { $0.computeStage == .processes }.min { $0.seconds < $1.seconds }
        }
        return CostPrediction(
            serial: serial, threads: threads, processes: processes, pipeline: pipeline, splitPipeline: splitPipeline)
    }

    static func workerCounts(cores: Int, items: Int) -> [Int] {
        let limit = max(1, min(64, items))
        var counts = Set((1...min(cores, limit)).map { $0 })
        var k = cores
        while k <= limit {
            counts.insert(k)
            k *= 2
        }
        counts.insert(limit)
        return counts.sorted()
    }
}

extension Int {
    /// `value` as an integer, clamped instead of trapping: NaN is 0, anything beyond the range
    /// of `Int` (infinities included) is `Int.min` or `Int.max`. Every figure the cost model or a
    /// rule turns into a count passes through here, because any of them can come from a file.
    init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9.2e18 {
            self = .max
        } else if value <= -9.2e18 {
            self = .min
        } else {
            self = Int(value)
        }
    }
}
