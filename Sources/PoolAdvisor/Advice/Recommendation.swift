public import PoolRules

/// How to run a job, why, and what each way was predicted to cost. `Codable`: the CLI prints it
/// as JSON, and a saved one can be replayed by the executors.
public struct Recommendation: Sendable {
    /// The task's name as the profile recorded it.
    public var task: String
    /// Items in the job the advice is for.
    public var items: Int
    /// What an ``Executor`` runs on this advice: the mode with its sizes.
    public var plan: ExecutionPlan
    /// The rule that decided, with its location and reason (values quoted); nil only when no
    /// decision rule matched, in which case the advisor ran serially by default.
    public var decidingRule: RuleDecision?
    /// Lines from `warn` rules: reasons to doubt the profile (borderline, noisy host, failures).
    public var warnings: [RuleAdvisory]
    /// Lines from `advise` rules: what would make the task run better.
    public var advice: [RuleAdvisory]
    /// Predicted wall time of the job per mode, each at its best size.
    public var predicted: CostPrediction
    /// Predicted wall time of the job as recommended.
    public var predictedSeconds: Double
    /// True when a deciding measurement sits on a threshold or the host was noisy: another
    /// profile may decide differently.
    public var isBorderline: Bool
    /// Every rule with each of its conditions and the facts it read.
    public var evaluation: RuleEvaluation
    /// Whether the worker processes run on the other hosts the advisor was given (a rule
    /// decided `processes on = hosts`) rather than on this machine alone.
    public var runsOnHosts = false

    /// Serial, threads, processes or a pipeline (the plan's).
    public var mode: DecisionMode { plan.mode }

    /// Threads or worker processes; for a pipeline, the compute stage's. Nil for serial.
    public var workers: Int? { plan == .serial ? nil : plan.workers }

    /// Items per dispatched chunk of a thread or process plan; 1 for a pipeline (it hands on
    /// one item at a time); nil for serial.
    public var chunkSize: Int? {
        switch plan {
        case .serial: nil
        case .threads, .processes: plan.chunkSize
        case .pipeline: 1
        }
    }

    /// The pipeline's stages, when the mode is `.pipeline`.
    public var pipeline: PipelinePlan? {
        guard case .pipeline(let fetchWorkers, let compute) = plan else { return nil }
        return PipelinePlan(
            fetchWorkers: fetchWorkers, computeWorkers: compute.workers, computeStage: compute.mode, chunkSize: 1)
    }

    /// A one-line summary: `processes × 2, chunk 13 (rule cpu-does-not-scale)`, the plan written
    /// as every report writes it (``ExecutionPlan/summary``).
    public var summary: String {
        plan.summary + (runsOnHosts ? " on the hosts" : "") + (decidingRule.map { " (rule \($0.rule))" } ?? "")
    }

    /// The decision, its reason, warnings, advice, then every rule considered with its values.
    public var explanation: String { evaluation.explanation() }
}

extension Recommendation: Codable {
    // The plan is written in its own flat form (`mode`, `workers`, `chunkSize`, `fetchWorkers`,
    // `computeStage`, sizes checked on reading) beside the other keys, as reports had it.
    private enum CodingKeys: String, CodingKey {
        case task, items, decidingRule, warnings, advice, predicted, predictedSeconds, isBorderline, evaluation
        case runsOnHosts
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            task: try container.decode(String.self, forKey: .task),
            items: try container.decode(Int.self, forKey: .items), plan: try ExecutionPlan(from: decoder),
            decidingRule: try container.decodeIfPresent(RuleDecision.self, forKey: .decidingRule),
            warnings: try container.decode([RuleAdvisory].self, forKey: .warnings),
            advice: try container.decode([RuleAdvisory].self, forKey: .advice),
            predicted: try container.decode(CostPrediction.self, forKey: .predicted),
            predictedSeconds: try container.decode(Double.self, forKey: .predictedSeconds),
            isBorderline: try container.decode(Bool.self, forKey: .isBorderline),
            evaluation: try container.decode(RuleEvaluation.self, forKey: .evaluation))
        runsOnHosts = try container.decodeIfPresent(Bool.self, forKey: .runsOnHosts) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        try plan.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(task, forKey: .task)
        try container.encode(items, forKey: .items)
        try container.encodeIfPresent(decidingRule, forKey: .decidingRule)
        try container.encode(warnings, forKey: .warnings)
        try container.encode(advice, forKey: .advice)
        try container.encode(predicted, forKey: .predicted)
        try container.encode(predictedSeconds, forKey: .predictedSeconds)
        try container.encode(isBorderline, forKey: .isBorderline)
        try container.encode(evaluation, forKey: .evaluation)
        if runsOnHosts { try container.encode(runsOnHosts, forKey: .runsOnHosts) }
    }
}

/// The two stages of a split pipeline (``Recommendation/pipeline``).
public struct PipelinePlan: Sendable, Equatable {
    /// Threads running the fetch (waiting) stage.
    public var fetchWorkers: Int
    /// Workers running the compute stage.
    public var computeWorkers: Int
    /// `.processes` or `.threads`.
    public var computeStage: DecisionMode
    /// Items per chunk handed to the compute stage (1: a pipeline hands on one at a time).
    public var chunkSize: Int
}
