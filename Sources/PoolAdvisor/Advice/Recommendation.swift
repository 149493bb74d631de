public import PoolRules

/// How to run a job, why, and what each way was predicted to cost. `Codable`: the CLI prints it
/// as JSON, and a saved one can be replayed by the executors.
public struct Recommendation: Codable, Sendable {
    /// The task's name as the profile recorded it.
    public var task: String
    /// Items in the job the advice is for.
    public var items: Int
    /// Serial, threads, processes or a pipeline.
    public var mode: DecisionMode
    /// Threads or worker processes; for a pipeline, the compute stage's. Nil for serial.
    public var workers: Int?
    /// Items per dispatched chunk; nil for serial.
    public var chunkSize: Int?
    /// The pipeline's stages, when the mode is `.pipeline`.
    public var pipeline: PipelinePlan?
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

    /// What an ``Executor`` runs on this advice.
    public var plan: ExecutionPlan { ExecutionPlan(self) }

    /// A one-line summary: `processes × 2, chunk 13 (rule cpu-does-not-scale)`, the plan written
    /// as every report writes it (``ExecutionPlan/summary``).
    public var summary: String {
        plan.summary + (decidingRule.map { " (rule \($0.rule))" } ?? "")
    }

    /// The decision, its reason, warnings, advice, then every rule considered with its values.
    public var explanation: String { evaluation.explanation() }
}

/// The two stages of a split pipeline.
public struct PipelinePlan: Codable, Sendable, Equatable {
    /// Threads running the fetch (waiting) stage.
    public var fetchWorkers: Int
    /// Workers running the compute stage.
    public var computeWorkers: Int
    /// `.processes` or `.threads`.
    public var computeStage: DecisionMode
    /// Items per chunk handed to the compute stage.
    public var chunkSize: Int
}
