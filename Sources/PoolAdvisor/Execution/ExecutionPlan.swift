internal import PoolRules

/// What an ``Executor`` runs: a mode with exactly the sizes that mode takes.
///
/// A fixed plan reads as English at the call site: `Executor(.processes(workers: 2))`,
/// `Executor(.threads(workers: 8, chunk: 16))`,
/// `Executor(.pipeline(fetchWorkers: 8, compute: .processes(workers: 2)))`. A recommendation
/// or a cost-model prediction becomes one with `ExecutionPlan(_:)`, and
/// ``CostModel/seconds(for:items:)`` prices one.
public enum ExecutionPlan: Sendable, Hashable {
    /// One call after another on the calling thread.
    case serial
    /// `workers` threads of one ``ThreadPool``, `chunk` items a dispatch (nil: the pool sizes
    /// chunks from what is left).
    case threads(workers: Int = Machine.usableCores, chunk: Int? = nil)
    /// `workers` worker processes of one ``ProcessPool``, `chunk` items a request (nil: the
    /// pool chooses).
    case processes(workers: Int = Machine.usableCores, chunk: Int? = nil)
    /// A ``Pipeline``: `fetchWorkers` threads run a ``StagedTask``'s fetch stage and feed its
    /// compute stage, one item at a time. A task without stages runs on the fetch threads.
    case pipeline(fetchWorkers: Int, compute: ComputeStage = .processes(workers: Machine.usableCores))

    /// Where a pipeline's second stage runs.
    public enum ComputeStage: Sendable, Hashable {
        /// Threads of the pipeline's own pool (the computing part scales on threads).
        case threads(workers: Int)
        /// Worker processes (the computing part needs processes to scale).
        case processes(workers: Int)

        /// Its threads or worker processes.
        public var workers: Int {
            switch self {
            case .threads(let workers), .processes(let workers): workers
            }
        }

        /// `.threads` or `.processes`.
        public var mode: DecisionMode {
            switch self {
            case .threads: .threads
            case .processes: .processes
            }
        }
    }

    /// Serial, threads, processes or pipeline.
    public var mode: DecisionMode {
        switch self {
        case .serial: .serial
        case .threads: .threads
        case .processes: .processes
        case .pipeline: .pipeline
        }
    }

    /// Threads or worker processes (for a pipeline: its compute stage's; serial: 1).
    public var workers: Int {
        switch self {
        case .serial: 1
        case .threads(let workers, _), .processes(let workers, _): workers
        case .pipeline(_, let compute): compute.workers
        }
    }

    /// Items per chunk of a thread or process plan; nil when the pool chooses, or the plan
    /// has no chunks (serial, pipeline).
    public var chunkSize: Int? {
        switch self {
        case .threads(_, let chunk), .processes(_, let chunk): chunk
        case .serial, .pipeline: nil
        }
    }

    /// A pipeline's fetch threads (1 for any other plan).
    public var fetchWorkers: Int {
        guard case .pipeline(let fetchWorkers, _) = self else { return 1 }
        return fetchWorkers
    }

    /// Where a pipeline's compute stage runs (`.processes` for any other plan).
    public var computeStage: DecisionMode {
        guard case .pipeline(_, let compute) = self else { return .processes }
        return compute.mode
    }

    /// A plan from a mode and sizes; a size the mode does not take is ignored, and a compute
    /// stage other than `.threads` means processes.
    public init(
        mode: DecisionMode, workers: Int = Machine.usableCores, chunkSize: Int? = nil, fetchWorkers: Int = 1,
        computeStage: DecisionMode = .processes
    ) {
        switch mode {
        case .serial: self = .serial
        case .threads: self = .threads(workers: workers, chunk: chunkSize)
        case .processes: self = .processes(workers: workers, chunk: chunkSize)
        case .pipeline:
            self = .pipeline(
                fetchWorkers: fetchWorkers,
                compute: computeStage == .threads ? .threads(workers: workers) : .processes(workers: workers))
        }
    }

    /// This plan with at most `maximum` threads or worker processes in each pool (a
    /// pipeline's fetch threads and its compute stage alike); chunks stay as they are.
    public func limited(toWorkers maximum: Int) -> ExecutionPlan {
        let maximum = max(1, maximum)
        switch self {
        case .serial: return .serial
        case .threads(let workers, let chunk): return .threads(workers: min(workers, maximum), chunk: chunk)
        case .processes(let workers, let chunk): return .processes(workers: min(workers, maximum), chunk: chunk)
        case .pipeline(let fetchWorkers, .threads(let workers)):
            return .pipeline(
                fetchWorkers: min(fetchWorkers, maximum), compute: .threads(workers: min(workers, maximum)))
        case .pipeline(let fetchWorkers, .processes(let workers)):
            return .pipeline(
                fetchWorkers: min(fetchWorkers, maximum), compute: .processes(workers: min(workers, maximum)))
        }
    }

    /// The plan a recommendation describes (``Recommendation/plan``).
    public init(_ recommendation: Recommendation) { self = recommendation.plan }

    /// The plan a cost-model prediction describes (a mode at the size the model found best).
    public init(_ cost: PlanCost) { self = cost.plan }

    /// `threads × 4, chunk 8`, `processes × 2`, `pipeline 3 → processes × 2`, `serial`: the one
    /// way a plan is written, in reports, progress lines and switch records.
    public var summary: String {
        switch self {
        case .serial: "serial"
        case .threads(let workers, let chunk), .processes(let workers, let chunk):
            "\(mode.rawValue) × \(workers)" + ((chunk ?? 1) > 1 ? ", chunk \(chunk ?? 1)" : "")
        case .pipeline(let fetchWorkers, let compute):
            "pipeline \(fetchWorkers) → \(compute.mode.rawValue) × \(compute.workers)"
        }
    }
}

extension ExecutionPlan: Codable {
    // The keys of the plan's flat form (what reports wrote before the plan was an enum):
    // a report read back, or written for other tools, keeps its shape.
    private enum CodingKeys: String, CodingKey {
        case mode, workers, chunkSize, fetchWorkers, computeStage
    }

    /// The most workers or items per chunk a decoded plan may hold (what the advisor clamps
    /// a rule's sizes to): a plan read from a file is input like any other.
    static let largestSize = 1_000_000

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            mode: try container.decode(DecisionMode.self, forKey: .mode),
            workers: try container.decodeSizeIfPresent(forKey: .workers) ?? Machine.usableCores,
            chunkSize: try container.decodeSizeIfPresent(forKey: .chunkSize),
            fetchWorkers: try container.decodeSizeIfPresent(forKey: .fetchWorkers) ?? 1,
            computeStage: try container.decodeIfPresent(DecisionMode.self, forKey: .computeStage) ?? .processes)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mode, forKey: .mode)
        try container.encode(workers, forKey: .workers)
        try container.encodeIfPresent(chunkSize, forKey: .chunkSize)
        try container.encode(fetchWorkers, forKey: .fetchWorkers)
        try container.encode(computeStage, forKey: .computeStage)
    }
}

extension KeyedDecodingContainer {
    /// A plan's size (workers, fetch workers, items per chunk) at `key`, nil when absent: a
    /// value outside 1…``ExecutionPlan/largestSize`` is an error naming the key, since a plan
    /// read from a file is input like any other.
    func decodeSizeIfPresent(forKey key: Key) throws -> Int? {
        guard let value = try decodeIfPresent(Int.self, forKey: key) else { return nil }
        guard (1...ExecutionPlan.largestSize).contains(value) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "\(key.stringValue) must be from 1 to \(ExecutionPlan.largestSize), not \(value)")
        }
        return value
    }
}
