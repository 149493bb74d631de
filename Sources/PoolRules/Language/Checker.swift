/// The load-time checks that go beyond syntax: names, types, actions, duplicates and rules that
/// can never fire. Everything is reported at once, each at its own `file:line:col`.
struct Checker {
    let schema: FactSchema
    let actions: ActionSchema
    let lines: SourceLines
    private(set) var diagnostics: [RuleDiagnostic] = []

    init(schema: FactSchema, actions: ActionSchema, lines: SourceLines) {
        self.schema = schema
        self.actions = actions
        self.lines = lines
    }

    /// The functions of the language and how many arguments each takes.
    static let functions: [String: ClosedRange<Int>] = [
        "min": 2...16, "max": 2...16, "clamp": 3...3, "ceil": 1...1, "floor": 1...1, "round": 1...1, "abs": 1...1,
        "sqrt": 1...1, "known": 1...1,
    ]

    private mutating func report(_ kind: RuleDiagnostic.Kind, at position: SourcePosition, _ message: String) {
        diagnostics.append(lines.diagnostic(.error, kind, at: position, message))
    }

    mutating func check(_ rules: [RuleSyntax]) {
        var seen: [String: RuleSyntax] = [:]
        for rule in rules {
            if let first = seen[rule.name] {
                report(
                    .duplicateRule, at: rule.start,
                    "duplicate rule name '\(rule.name)': it is already used at line \(first.start.line)")
            } else {
                seen[rule.name] = rule
            }
            expect(.boolean, rule.condition, "a rule's condition")
            switch rule.action {
            case .decide(let action, let parameters): checkParameters(parameters, of: action)
            case .warn(let text), .advise(let text): checkTemplate(text)
            }
            if let reason = rule.reason { checkTemplate(reason) }
        }
        checkReachability(rules)
    }

    private mutating func checkParameters(_ parameters: [ParameterSyntax], of name: String) {
        // The parser only builds decisions its schema has.
        let takes = actions[name]?.parameters.map(\.name) ?? []
        var given: Set<String> = []
        for parameter in parameters {
            guard takes.contains(parameter.name) else {
                let list = takes.isEmpty ? "no parameters" : takes.joined(separator: ", ")
                report(
                    .invalidAction, at: parameter.start,
                    "'\(name)' does not take '\(parameter.name)' (it takes \(list))")
                continue
            }
            if !given.insert(parameter.name).inserted {
                report(.invalidAction, at: parameter.start, "'\(parameter.name)' is given twice")
            }
            if let value = parameter.value { expect(.number, value, "'\(parameter.name)'") }
        }
    }

    private mutating func checkTemplate(_ template: Template) {
        for case .value(let expression, let format) in template.pieces {
            guard let type = typeOf(expression) else { continue }
            if format != .automatic && type != .number {
                report(.typeMismatch, at: expression.start, "a number format is applied to a \(type.rawValue)")
            }
        }
    }

    private mutating func expect(_ type: FactType, _ expression: Expression, _ what: String) {
        guard let actual = typeOf(expression), actual != type else { return }
        report(
            .typeMismatch, at: expression.start, "\(what) must be a \(type.rawValue), but this is a \(actual.rawValue)")
    }

    /// The expression's type, or nil after reporting why it has none.
    mutating func typeOf(_ expression: Expression) -> FactType? {
        switch expression.node {
        case .number: return .number
        case .boolean: return .boolean
        case .text: return .text
        case .fact(let name):
            if let definition = schema[name] { return definition.type }
            let hint = schema.suggestion(for: name).map { "; did you mean '\($0)'?" } ?? ""
            report(.unknownFact, at: expression.start, "unknown fact '\(name)'\(hint)")
            return nil
        case .call(let name, let arguments):
            guard let arity = Checker.functions[name] else {
                let known = Checker.functions.keys.sorted().joined(separator: ", ")
                let hint =
                    schema[name] != nil ? " ('\(name)' is a fact: drop the parentheses)" : " (functions: \(known))"
                report(.unknownFunction, at: expression.start, "unknown function '\(name)'\(hint)")
                return nil
            }
            guard arity.contains(arguments.count) else {
                let wanted = arity.count == 1 ? "\(arity.lowerBound)" : "\(arity.lowerBound) or more"
                report(
                    .typeMismatch, at: expression.start,
                    "'\(name)' takes \(wanted) argument\(arity.upperBound == 1 ? "" : "s"), not \(arguments.count)")
                return nil
            }
            if name == "known" {
                _ = typeOf(arguments[0])
                return .boolean
            }
            var ok = true
            for argument in arguments {
                guard let type = typeOf(argument) else { ok = false; continue }
                if type != .number {
                    report(.typeMismatch, at: argument.start, "'\(name)' takes numbers, but this is a \(type.rawValue)")
                    ok = false
                }
            }
            return ok ? .number : nil
        case .not(let operand):
            guard let type = typeOf(operand) else { return nil }
            if type != .boolean {
                report(.typeMismatch, at: operand.start, "'not' needs a condition, but this is a \(type.rawValue)")
            }
            return .boolean
        case .negate(let operand):
            guard let type = typeOf(operand) else { return nil }
            if type != .number {
                report(.typeMismatch, at: operand.start, "'-' needs a number, but this is a \(type.rawValue)")
            }
            return .number
        case .binary(let op, let left, let right):
            let l = typeOf(left)
            let r = typeOf(right)
            guard let l, let r else { return op.isArithmetic ? .number : .boolean }
            if op == .equal || op == .notEqual {
                if l != r {
                    report(
                        .typeMismatch, at: right.start, "'\(op.rawValue)' compares a \(l.rawValue) with a \(r.rawValue)"
                    )
                }
                return .boolean
            }
            let operandType: FactType = (op == .and || op == .or) ? .boolean : .number
            for (side, type) in [(left, l), (right, r)] where type != operandType {
                report(
                    .typeMismatch, at: side.start,
                    "'\(op.rawValue)' needs \(operandType == .number ? "numbers" : "conditions"), but this is a \(type.rawValue)"
                )
            }
            return op.isArithmetic ? .number : .boolean
        }
    }

    /// A decision rule can never fire when a rule ahead of it (higher priority, or equal priority
    /// earlier in the file) always matches, or matches on exactly the same condition.
    private mutating func checkReachability(_ rules: [RuleSyntax]) {
        let decisions = RuleOrder.sorted(rules).filter(\.isDecision)
        var ahead: [(rule: RuleSyntax, canonical: String, alwaysTrue: Bool)] = []
        var hasFallback = false
        for rule in decisions {
            let canonical = Canonical.text(rule.condition)
            let alwaysTrue = Canonical.isAlwaysTrue(rule.condition)
            if let blocker = ahead.first(where: { $0.alwaysTrue || $0.canonical == canonical }) {
                let why = blocker.alwaysTrue ? "always matches" : "has the same condition"
                report(
                    .unreachableRule, at: rule.start,
                    "rule '\(rule.name)' can never fire: '\(blocker.rule.name)' (line \(blocker.rule.start.line), priority \(blocker.rule.priority)) comes first and \(why)"
                )
            }
            hasFallback = hasFallback || alwaysTrue
            ahead.append((rule, canonical, alwaysTrue))
        }
        if !hasFallback, let last = decisions.last {
            diagnostics.append(
                lines.diagnostic(
                    .warning, .noFallback, at: last.start,
                    "no decision rule has the condition 'true', so some profiles may get no decision; the caller then chooses"
                ))
        }
    }
}

/// The order rules are considered in: priority, highest first; ties keep file order.
enum RuleOrder {
    static func sorted(_ rules: [RuleSyntax]) -> [RuleSyntax] {
        rules.enumerated().sorted { a, b in
            a.element.priority != b.element.priority ? a.element.priority > b.element.priority : a.offset < b.offset
        }.map(\.element)
    }
}

/// Expressions written without positions, to compare two conditions by their structure.
enum Canonical {
    static func text(_ expression: Expression) -> String {
        switch expression.node {
        case .number(let x): return NumberText.automatic(x)
        case .boolean(let b): return b ? "true" : "false"
        case .text(let t): return "\"\(t)\""
        case .fact(let name): return name
        case .call(let name, let arguments): return "\(name)(\(arguments.map(text).joined(separator: ", ")))"
        case .not(let operand): return "not (\(text(operand)))"
        case .negate(let operand): return "-(\(text(operand)))"
        case .binary(let op, let l, let r): return "(\(text(l)) \(op.rawValue) \(text(r)))"
        }
    }

    /// Whether the condition is true whatever the facts: no fact in it and it evaluates to true.
    static func isAlwaysTrue(_ expression: Expression) -> Bool {
        guard !mentionsFacts(expression) else { return false }
        return Evaluator.value(of: expression, facts: Facts()) == .boolean(true)
    }

    static func mentionsFacts(_ expression: Expression) -> Bool {
        switch expression.node {
        case .number, .boolean, .text: false
        case .fact: true
        case .call(_, let arguments): arguments.contains(where: mentionsFacts)
        case .not(let e), .negate(let e): mentionsFacts(e)
        case .binary(_, let l, let r): mentionsFacts(l) || mentionsFacts(r)
        }
    }
}
