/// The decision a rule made: the mode, its parameters and the reason with the values quoted.
public struct RuleDecision: Codable, Sendable, Equatable {
    /// The deciding rule's name.
    public var rule: String
    public var location: SourceLocation
    public var mode: DecisionMode
    /// `workers`, `chunk`, `fetch_workers`, `compute_workers` as the rule computed them.
    public var parameters: [String: Double]
    /// For a pipeline: where the compute stage runs (`processes` or `threads`), if the rule said.
    public var computeStage: DecisionMode?
    /// The rule's `why` text with the values filled in, if it has one.
    public var reason: String?
}

/// A warning or an advice line added by an advisory rule.
public struct RuleAdvisory: Codable, Sendable, Equatable {
    /// The advisory rule's name.
    public var rule: String
    public var location: SourceLocation
    public var kind: RuleKind
    /// The `warn` or `advise` text with the values filled in.
    public var text: String
    public var reason: String?

    /// An advisory line; the advisor adds its own (for instance, about a missing calibration) this way.
    public init(rule: String, location: SourceLocation, kind: RuleKind, text: String, reason: String? = nil) {
        self.rule = rule
        self.location = location
        self.kind = kind
        self.text = text
        self.reason = reason
    }
}

/// One comparison of a condition with its value and the facts it read.
public struct ConditionTrace: Codable, Sendable, Equatable {
    /// The comparison as written in the file.
    public var text: String
    /// Where the comparison starts in the file.
    public var location: SourceLocation
    /// True, false or unknown.
    public var value: FactValue
    /// The facts the comparison read and their values, in order of appearance.
    public var facts: [FactReading]
}

/// A fact's name and value as a rule read it.
public struct FactReading: Codable, Sendable, Equatable {
    /// The fact's name.
    public var name: String
    public var value: FactValue

    /// A reading of `name` as `value`.
    public init(name: String, value: FactValue) {
        self.name = name
        self.value = value
    }
}

/// How a rule came out in one evaluation.
public enum RuleOutcome: String, Codable, Sendable {
    /// The decision rule that chose the mode.
    case decided
    /// Matched, but a rule ahead of it had already decided.
    case outranked
    /// Matched, but a parameter came out unknown or not a positive number, so the next rule was tried.
    case invalidParameters
    /// An advisory rule that matched and added its line.
    case added
    /// The condition was false.
    case notMatched
    /// The condition needed a fact that was not measured.
    case unknown
}

/// Every rule's outcome with each of its conditions, so near misses are visible.
public struct RuleTrace: Codable, Sendable, Equatable {
    /// The rule's name.
    public var rule: String
    public var location: SourceLocation
    public var priority: Int
    public var kind: RuleKind
    /// How the rule came out.
    public var outcome: RuleOutcome
    /// Why the outcome, when it needs words (for instance, which parameter was unknown).
    public var note: String?
    /// Each comparison of the condition (the leaves under `and`, `or`, `not`) with its value.
    public var conditions: [ConditionTrace]
}

/// The result of evaluating a rule set on facts.
public struct RuleEvaluation: Codable, Sendable, Equatable {
    /// The decision, or nil when no decision rule matched (possible only without a fallback rule).
    public var decision: RuleDecision?
    /// Every matching advisory rule's line, in evaluation order.
    public var advisories: [RuleAdvisory]
    /// Every rule in evaluation order.
    public var trace: [RuleTrace]
    /// The facts the rules saw.
    public var facts: Facts
}

extension RuleSet {
    /// Evaluates every rule on `facts`. The first matching decision rule in priority order decides;
    /// every matching advisory rule adds its line; every rule is traced.
    public func evaluate(_ facts: Facts) -> RuleEvaluation {
        var result = RuleEvaluation(decision: nil, advisories: [], trace: [], facts: facts)
        for (rule, prepared) in zip(rules, prepared) {
            let matched = Evaluator.value(of: rule.condition, facts: facts).truth
            var trace = RuleTrace(
                rule: rule.name, location: prepared.location, priority: rule.priority, kind: prepared.kind,
                outcome: matched == true ? .added : matched == false ? .notMatched : .unknown, note: nil,
                conditions: prepared.leaves.map { leaf in
                    ConditionTrace(
                        text: leaf.text, location: leaf.location,
                        value: Evaluator.value(of: leaf.expression, facts: facts),
                        facts: leaf.facts.map { FactReading(name: $0, value: facts[$0]) })
                })
            let reason = rule.reason.map { Evaluator.render($0, facts: facts) }
            if matched == true {
                switch rule.action {
                case .decide(let mode, let parameters):
                    if result.decision != nil {
                        trace.outcome = .outranked
                        trace.note = "'\(result.decision!.rule)' decided first"
                    } else {
                        switch decide(mode, parameters, facts) {
                        case .success(let values):
                            trace.outcome = .decided
                            result.decision = RuleDecision(
                                rule: rule.name, location: prepared.location, mode: mode, parameters: values,
                                computeStage: parameters.first { $0.stageMode != nil }?.stageMode, reason: reason)
                        case .failure(let problem):
                            trace.outcome = .invalidParameters
                            trace.note = problem.message
                        }
                    }
                case .warn(let text), .advise(let text):
                    result.advisories.append(
                        RuleAdvisory(
                            rule: rule.name, location: prepared.location, kind: trace.kind,
                            text: Evaluator.render(text, facts: facts), reason: reason))
                }
            }
            result.trace.append(trace)
        }
        return result
    }

    private struct ParameterProblem: Error { let message: String }

    private func decide(_ mode: DecisionMode, _ parameters: [ParameterSyntax], _ facts: Facts) -> Result<
        [String: Double], ParameterProblem
    > {
        var values: [String: Double] = [:]
        for parameter in parameters {
            guard let expression = parameter.value else { continue }
            let value = Evaluator.value(of: expression, facts: facts)
            guard let x = value.number, x.isFinite, x > 0 else {
                return .failure(
                    ParameterProblem(
                        message: "\(parameter.name) = \(quote(expression)) is \(value), not a positive number"))
            }
            values[parameter.name] = x
        }
        return .success(values)
    }
}
