/// A checked rules file, ready to evaluate.
///
/// ```swift
/// let rules = try RuleSet(source: text, file: "rules/mine.rules", schema: schema, actions: actions)
/// let result = rules.evaluate(facts)
/// print(result.decision?.action, result.explanation())
/// ```
///
/// Loading parses and checks the whole file and throws ``RuleFileError`` listing every error, each
/// at `file:line:col` with the line and a caret. Warnings (for instance, no fallback rule) do not
/// stop loading; they are in ``warnings``.
public struct RuleSet: Sendable {
    /// The file name used in locations.
    public let file: String
    /// The facts the rules were checked against.
    public let schema: FactSchema
    /// The decisions the rules were checked against.
    public let actions: ActionSchema
    /// Problems that do not stop the rules from running.
    public let warnings: [RuleDiagnostic]
    let rules: [RuleSyntax]  // in evaluation order: priority, highest first, then file order
    /// Per rule (same order), what its trace needs that does not depend on the facts: computed
    /// once here so an evaluation only computes values.
    private(set) var prepared: [PreparedRule] = []
    let lines: SourceLines
    let scalars: [Unicode.Scalar]

    /// Parses and checks `source`.
    /// - Parameters:
    ///   - source: the text of a rules file.
    ///   - file: the name shown in locations (a path, or `<rules>`).
    ///   - schema: the facts the rules may use.
    ///   - actions: the decisions the rules may make, and their parameters.
    /// - Throws: ``RuleFileError`` with every syntax, name, type, duplicate, action and reachability error.
    public init(source: String, file: String = "<rules>", schema: FactSchema, actions: ActionSchema)
        throws(RuleFileError)
    {
        let lines = SourceLines(file: file, text: source)
        let scalars = Array(source.unicodeScalars)
        var diagnostics: [RuleDiagnostic] = []
        var parsed: [RuleSyntax] = []
        do {
            var parser = try Parser(scalars: scalars, lines: lines, actions: actions)
            parsed = parser.parseFile()
            diagnostics += parser.diagnostics
        } catch {
            diagnostics.append(error.diagnostic)
        }
        var checker = Checker(schema: schema, actions: actions, lines: lines)
        checker.check(parsed)
        diagnostics += checker.diagnostics
        if parsed.isEmpty && diagnostics.isEmpty {
            diagnostics.append(
                lines.diagnostic(
                    .error, .syntax, at: SourcePosition(offset: 0, line: 1, column: 1), "the file has no rules"))
        }
        diagnostics.sort { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
        if diagnostics.contains(where: { $0.severity == .error }) { throw RuleFileError(diagnostics: diagnostics) }
        self.file = file
        self.schema = schema
        self.actions = actions
        self.warnings = diagnostics
        self.rules = RuleOrder.sorted(parsed)
        self.lines = lines
        self.scalars = scalars
        self.prepared = rules.map(prepare)
    }

    private func prepare(_ rule: RuleSyntax) -> PreparedRule {
        PreparedRule(
            location: location(rule.start), kind: RuleKind(rule.action),
            leaves: Evaluator.conditions(in: rule.condition).map { leaf in
                PreparedRule.Leaf(
                    expression: leaf, text: quote(leaf), location: location(leaf.start),
                    facts: Evaluator.factNames(in: leaf))
            })
    }

    /// One line per rule, in evaluation order, for listings.
    public var summaries: [RuleSummary] {
        rules.map { rule in
            RuleSummary(
                name: rule.name, priority: rule.priority, kind: RuleKind(rule.action), location: location(rule.start),
                condition: quote(rule.condition), action: quoteAction(rule))
        }
    }

    func location(_ position: SourcePosition) -> SourceLocation {
        SourceLocation(file: file, line: position.line, column: position.column)
    }

    /// The expression as written (whitespace runs, newlines included, collapse to one space).
    func quote(_ expression: Expression) -> String { quote(from: expression.start.offset, to: expression.end) }

    func quote(from: Int, to: Int) -> String {
        var text = ""
        var lastWasSpace = false
        for scalar in scalars[from..<min(to, scalars.count)] {
            let isSpace = scalar == " " || scalar == "\n" || scalar == "\t" || scalar == "\r"
            if isSpace && lastWasSpace { continue }
            text.unicodeScalars.append(isSpace ? " " : scalar)
            lastWasSpace = isSpace
        }
        return text
    }

    private func quoteAction(_ rule: RuleSyntax) -> String {
        switch rule.action {
        case .decide(let action, let parameters):
            let parts = parameters.map { p in "\(p.name) = \(p.value.map(quote) ?? p.word ?? "")" }
            return ([action] + parts).joined(separator: " ")
        case .warn: return "warn"
        case .advise: return "advise"
        }
    }
}

/// The fact-independent parts of a rule's trace.
struct PreparedRule: Sendable {
    struct Leaf: Sendable {
        let expression: Expression
        let text: String
        let location: SourceLocation
        let facts: [String]
    }

    let location: SourceLocation
    let kind: RuleKind
    let leaves: [Leaf]
}

/// What a rule does when it matches.
public enum RuleKind: String, Codable, Sendable {
    /// Chooses the mode; the first matching one in priority order wins.
    case decision
    /// Adds a warning line; every matching one does.
    case warning
    /// Adds an advice line; every matching one does.
    case advice

    init(_ action: ActionSyntax) {
        switch action {
        case .decide: self = .decision
        case .warn: self = .warning
        case .advise: self = .advice
        }
    }
}

/// A rule as `rules list` shows it.
public struct RuleSummary: Codable, Sendable {
    /// The rule's name.
    public var name: String
    /// Its priority; higher is considered first.
    public var priority: Int
    /// Decision, warning or advice.
    public var kind: RuleKind
    /// Where the rule starts.
    public var location: SourceLocation
    /// The condition as written.
    public var condition: String
    /// The mode and its parameters as written, or `warn` / `advise`.
    public var action: String
}
