/// The decision a rule made: the action, its parameters and the reason with the values quoted.
public struct RuleDecision: Sendable, Equatable {
    /// The deciding rule's name.
    public var rule: String
    public var location: SourceLocation
    /// The decision, a name of the rule set's ``ActionSchema`` (for pool-advisor, a mode).
    public var action: String
    /// The number parameters as the rule computed them (`workers`, `chunk`, …).
    public var parameters: [String: Double]
    /// The word parameters as the rule wrote them (`compute`: `processes`).
    public var words: [String: String]
    /// The rule's `why` text with the values filled in, if it has one.
    public var reason: String?

    /// A decision as a rule makes it.
    public init(
        rule: String, location: SourceLocation, action: String, parameters: [String: Double],
        words: [String: String] = [:], reason: String? = nil
    ) {
        self.rule = rule
        self.location = location
        self.action = action
        self.parameters = parameters
        self.words = words
        self.reason = reason
    }
}

extension RuleDecision: Codable {
    // `mode` and `computeStage` are the keys saved profiles used before decisions were
    // generic: a profile written then still reads (`rules explain`).
    private enum CodingKeys: String, CodingKey {
        case rule, location, action = "mode", parameters, words, computeStage, reason
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var words = try container.decodeIfPresent([String: String].self, forKey: .words) ?? [:]
        if let stage = try container.decodeIfPresent(String.self, forKey: .computeStage), words["compute"] == nil {
            words["compute"] = stage
        }
        self.init(
            rule: try container.decode(String.self, forKey: .rule),
            location: try container.decode(SourceLocation.self, forKey: .location),
            action: try container.decode(String.self, forKey: .action),
            parameters: try container.decode([String: Double].self, forKey: .parameters), words: words,
            reason: try container.decodeIfPresent(String.self, forKey: .reason))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rule, forKey: .rule)
        try container.encode(location, forKey: .location)
        try container.encode(action, forKey: .action)
        try container.encode(parameters, forKey: .parameters)
        if !words.isEmpty { try container.encode(words, forKey: .words) }
        try container.encodeIfPresent(reason, forKey: .reason)
    }
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

    /// The outcome in words, for the printed trace (the JSON keeps the raw value).
    public var words: String {
        switch self {
        case .decided: "decided"
        case .outranked: "matched, but a rule ahead of it decided"
        case .invalidParameters: "matched, but a parameter was unknown or not a positive number"
        case .added: "added its line"
        case .notMatched: "did not match"
        case .unknown: "unknown (a fact it reads was not measured)"
        }
    }
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
                case .decide(let action, let parameters):
                    if result.decision != nil {
                        trace.outcome = .outranked
                        trace.note = "'\(result.decision!.rule)' decided first"
                    } else {
                        switch decide(parameters, facts) {
                        case .success(let values):
                            trace.outcome = .decided
                            var words: [String: String] = [:]
                            for parameter in parameters {
                                if let word = parameter.word { words[parameter.name] = word }
                            }
                            result.decision = RuleDecision(
                                rule: rule.name, location: prepared.location, action: action, parameters: values,
                                words: words, reason: reason)
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

    private func decide(_ parameters: [ParameterSyntax], _ facts: Facts) -> Result<
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
