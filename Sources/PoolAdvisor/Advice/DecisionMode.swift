public import PoolRules

/// How a job should run: the four answers a decision rule can give, and the actions of the
/// rule language (``actions``) that name them.
public enum DecisionMode: String, Codable, Sendable, CaseIterable {
    case serial, threads, processes, pipeline

    /// The decisions rules files may make and their parameters: the vocabulary PoolRules
    /// checks and evaluates rules against (it knows no mode of its own).
    public static let actions = ActionSchema([
        ActionDefinition("serial"),
        ActionDefinition("threads", parameters: [.number("workers"), .number("chunk")]),
        ActionDefinition(
            "processes",
            parameters: [.number("workers"), .number("chunk"), .word("on", oneOf: ["this-machine", "hosts"])]),
        ActionDefinition(
            "pipeline",
            parameters: [
                .number("fetch_workers"), .number("compute_workers"), .number("chunk"),
                .word("compute", oneOf: ["processes", "threads"]),
            ]),
    ])

    /// The parameters each mode takes; any other parameter on a rule is a load error.
    public var parameterNames: [String] { Self.actions[rawValue]?.parameters.map(\.name) ?? [] }
}

extension RuleDecision {
    /// The decision as a mode, or nil for an action that is no mode (a rule set built with a
    /// vocabulary of its own).
    @available(*, deprecated, message: "the rule language names decisions by `action`: DecisionMode(rawValue: action)")
    public var mode: DecisionMode? { DecisionMode(rawValue: action) }

    /// A pipeline decision's compute stage, if the rule gave one.
    @available(*, deprecated, message: "read words[\"compute\"]")
    public var computeStage: DecisionMode? { words["compute"].flatMap(DecisionMode.init(rawValue:)) }
}
