/// Reads the rules language:
///
/// ```
/// rule NAME [priority INT]
///   when EXPRESSION
///   then serial | threads|processes [workers = E] [chunk = E]
///        | pipeline [fetch_workers = E] [compute_workers = E] [chunk = E] [compute = processes|threads]
///   (or: warn "TEXT" / advise "TEXT")
///   [why "TEXT"]
/// ```
///
/// A syntax error is recorded and the parser skips to the next `rule`, so one pass reports every
/// broken rule rather than only the first.
struct Parser {
    private let tokens: [Token]
    private let scalars: [Unicode.Scalar]
    private let lines: SourceLines
    /// The decisions rules may make (which parameters take a word rather than an expression).
    private let actions: ActionSchema
    private var index = 0
    private(set) var diagnostics: [RuleDiagnostic] = []

    static let keywords: Set<String> = [
        "rule", "priority", "when", "then", "why", "warn", "advise", "and", "or", "not", "true", "false",
    ]

    init(scalars: [Unicode.Scalar], lines: SourceLines, actions: ActionSchema) throws(SyntaxFailure) {
        var lexer = Lexer(scalars: scalars, lines: lines)
        self.tokens = try lexer.tokens()
        self.scalars = scalars
        self.lines = lines
        self.actions = actions
    }

    /// Parses the whole file; syntax errors land in `diagnostics`.
    mutating func parseFile() -> [RuleSyntax] {
        var rules: [RuleSyntax] = []
        while current.kind != .end {
            do {
                rules.append(try parseRule())
            } catch {
                diagnostics.append(error.diagnostic)
                skipToNextRule()
            }
        }
        return rules
    }

    // MARK: Tokens

    private var current: Token { tokens[index] }

    private mutating func take() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func isWord(_ word: String) -> Bool { current.kind == .word(word) }
    private func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }

    private mutating func skipToNextRule() {
        if isWord("rule") { _ = take() }
        while current.kind != .end && !isWord("rule") { _ = take() }
    }

    private func fail(_ message: String, at token: Token? = nil) -> SyntaxFailure {
        SyntaxFailure(diagnostic: lines.diagnostic(.error, .syntax, at: (token ?? current).start, message))
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .word(let w), .ruleName(let w): "'\(w)'"
        case .number: "a number"
        case .string: "a string"
        case .symbol(let s): "'\(s)'"
        case .end: "the end of the file"
        }
    }

    private mutating func expectWord(_ word: String, _ context: String) throws(SyntaxFailure) {
        guard isWord(word) else { throw fail("expected '\(word)' \(context), found \(describe(current))") }
        _ = take()
    }

    // MARK: Rules

    private mutating func parseRule() throws(SyntaxFailure) -> RuleSyntax {
        let ruleToken = current
        guard isWord("rule") else {
            throw fail("expected 'rule' to start a rule, found \(describe(current))")
        }
        _ = take()
        guard case .ruleName(let name) = current.kind else {
            throw fail("expected a rule name after 'rule' (letters, digits, '-' and '_'), found \(describe(current))")
        }
        _ = take()
        var priority = 0
        if isWord("priority") {
            _ = take()
            var sign = 1.0
            if isSymbol("-") {
                _ = take()
                sign = -1
            }
            guard case .number(let value) = current.kind, value == value.rounded(), abs(value) <= 1_000_000 else {
                throw fail("expected a whole number after 'priority', found \(describe(current))")
            }
            _ = take()
            priority = Int(sign * value)
        }
        try expectWord("when", "after the rule's name and priority")
        let condition = try parseExpression()
        let actionToken = current
        let action: ActionSyntax
        switch current.kind {
        case .word("then"):
            _ = take()
            action = try parseDecision()
        case .word("warn"):
            _ = take()
            action = .warn(try parseTemplate(after: "warn"))
        case .word("advise"):
            _ = take()
            action = .advise(try parseTemplate(after: "advise"))
        default:
            throw fail("expected 'then', 'warn' or 'advise' after the condition, found \(describe(current))")
        }
        var reason: Template?
        if isWord("why") {
            _ = take()
            reason = try parseTemplate(after: "why")
        }
        if current.kind != .end && !isWord("rule") {
            throw fail("expected a new 'rule' or the end of the file, found \(describe(current))")
        }
        return RuleSyntax(
            name: name, start: ruleToken.start, priority: priority, condition: condition, action: action,
            actionStart: actionToken.start, reason: reason)
    }

    private mutating func parseDecision() throws(SyntaxFailure) -> ActionSyntax {
        guard case .word(let word) = current.kind, let action = actions[word] else {
            throw fail("expected a decision after 'then' (\(actions.names)), found \(describe(current))")
        }
        _ = take()
        var parameters: [ParameterSyntax] = []
        while case .word(let name) = current.kind, !Parser.keywords.contains(name) {
            let nameToken = take()
            guard isSymbol("=") else { throw fail("expected '=' after the parameter '\(name)'") }
            _ = take()
            if let words = action.parameter(name)?.words {
                guard case .word(let value) = current.kind, words.contains(value) else {
                    let list = EnglishList.or(words.map { "'\($0)'" })
                    throw fail("'\(name)' takes \(list), found \(describe(current))")
                }
                _ = take()
                parameters.append(ParameterSyntax(name: name, start: nameToken.start, value: nil, word: value))
            } else {
                parameters.append(ParameterSyntax(name: name, start: nameToken.start, value: try parseExpression()))
            }
            if isSymbol(",") { _ = take() }
        }
        return .decide(action.name, parameters)
    }

    // MARK: Expressions (precedence: or < and < not < comparison < + - < * / < unary)

    mutating func parseExpression() throws(SyntaxFailure) -> Expression { try parseBinary(level: 0) }

    private static let levels: [[BinaryOperator]] = [
        [.or], [.and], [], [.less, .lessOrEqual, .greater, .greaterOrEqual, .equal, .notEqual],
        [.add, .subtract], [.multiply, .divide],
    ]

    private func binaryOperator(at level: Int) -> BinaryOperator? {
        let candidates = Parser.levels[level]
        switch current.kind {
        case .word(let w): return candidates.first { $0.rawValue == w && ($0 == .and || $0 == .or) }
        case .symbol(let s): return candidates.first { $0.rawValue == s && $0 != .and && $0 != .or }
        default: return nil
        }
    }

    private mutating func parseBinary(level: Int) throws(SyntaxFailure) -> Expression {
        if level == 2 { return try parseNot() }
        if level == Parser.levels.count { return try parseUnary() }
        var left = try parseBinary(level: level + 1)
        while let op = binaryOperator(at: level) {
            _ = take()
            let right = try parseBinary(level: level + 1)
            if op.isComparison, binaryOperator(at: level) != nil {
                throw fail("comparisons do not chain: write 'a < b and b < c'")
            }
            left = Expression(node: .binary(op, left, right), start: left.start, end: right.end)
        }
        return left
    }

    private mutating func parseNot() throws(SyntaxFailure) -> Expression {
        if isWord("not") {
            let token = take()
            let operand = try parseNot()
            return Expression(node: .not(operand), start: token.start, end: operand.end)
        }
        return try parseBinary(level: 3)
    }

    private mutating func parseUnary() throws(SyntaxFailure) -> Expression {
        if isSymbol("-") {
            let token = take()
            let operand = try parseUnary()
            return Expression(node: .negate(operand), start: token.start, end: operand.end)
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(SyntaxFailure) -> Expression {
        let token = current
        switch token.kind {
        case .number(let value):
            _ = take()
            return Expression(node: .number(value), start: token.start, end: token.end)
        case .string(let from, let to):
            _ = take()
            let text = unescape(from, to)
            return Expression(node: .text(text), start: token.start, end: token.end)
        case .word("true"), .word("false"):
            _ = take()
            return Expression(node: .boolean(token.kind == .word("true")), start: token.start, end: token.end)
        case .word(let name) where !Parser.keywords.contains(name):
            _ = take()
            guard isSymbol("(") else { return Expression(node: .fact(name), start: token.start, end: token.end) }
            _ = take()
            var arguments: [Expression] = []
            if !isSymbol(")") {
                arguments.append(try parseExpression())
                while isSymbol(",") {
                    _ = take()
                    arguments.append(try parseExpression())
                }
            }
            guard isSymbol(")") else {
                throw fail("expected ',' or ')' in the call to \(name), found \(describe(current))")
            }
            let close = take()
            return Expression(node: .call(name, arguments), start: token.start, end: close.end)
        case .symbol("("):
            _ = take()
            var inner = try parseExpression()
            guard isSymbol(")") else { throw fail("expected ')' to close the '(' at column \(token.start.column)") }
            let close = take()
            inner.start = token.start
            inner.end = close.end
            return inner
        default:
            throw fail("expected a value (a number, a fact, a function call or '('), found \(describe(token))")
        }
    }

    // MARK: Strings and templates

    private func unescape(_ from: Int, _ to: Int) -> String {
        var result = ""
        var i = from
        while i < to {
            if scalars[i] == "\\", i + 1 < to {
                result.unicodeScalars.append(scalars[i + 1] == "n" ? "\n" : scalars[i + 1])
                i += 2
            } else {
                result.unicodeScalars.append(scalars[i])
                i += 1
            }
        }
        return result
    }

    /// Parses `"text {expression:format} text"`; `{{` and `}}` are literal braces. Adjacent strings join.
    private mutating func parseTemplate(after keyword: String) throws(SyntaxFailure) -> Template {
        guard case .string = current.kind else { throw fail("expected a quoted text after '\(keyword)'") }
        let first = current
        var pieces: [Template.Piece] = []
        while case .string(let from, let to) = current.kind {
            let token = take()
            try appendPieces(of: token, from: from, to: to, into: &pieces)
        }
        return Template(pieces: pieces, start: first.start)
    }

    private func appendPieces(of token: Token, from: Int, to: Int, into pieces: inout [Template.Piece])
        throws(SyntaxFailure)
    {
        var literal = ""
        var i = from
        func position(_ offset: Int) -> SourcePosition {
            SourcePosition(
                offset: offset, line: token.start.line, column: token.start.column + (offset - token.start.offset))
        }
        while i < to {
            let c = scalars[i]
            if c == "\\", i + 1 < to {
                literal.unicodeScalars.append(scalars[i + 1] == "n" ? "\n" : scalars[i + 1])
                i += 2
            } else if c == "{" && i + 1 < to && scalars[i + 1] == "{" || c == "}" && i + 1 < to && scalars[i + 1] == "}"
            {
                literal.unicodeScalars.append(c)
                i += 2
            } else if c == "{" {
                guard let close = (i + 1..<to).first(where: { scalars[$0] == "}" }) else {
                    throw SyntaxFailure(
                        diagnostic: lines.diagnostic(
                            .error, .syntax, at: position(i), "'{' without a closing '}' (write '{{' for a brace)"))
                }
                let colon = (i + 1..<close).first { scalars[$0] == ":" }
                if !literal.isEmpty { pieces.append(.literal(literal)) }
                literal = ""
                let expression = try parseEmbedded(from: position(i + 1), to: colon ?? close)
                let format = try parseFormat(colon.map { ($0 + 1, close) }, at: colon.map { position($0 + 1) })
                pieces.append(.value(expression, format))
                i = close + 1
            } else if c == "}" {
                throw SyntaxFailure(
                    diagnostic: lines.diagnostic(
                        .error, .syntax, at: position(i), "'}' without an opening '{' (write '}}' for a brace)"))
            } else {
                literal.unicodeScalars.append(c)
                i += 1
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
    }

    private func parseEmbedded(from start: SourcePosition, to limit: Int) throws(SyntaxFailure) -> Expression {
        var lexer = Lexer(scalars: scalars, lines: lines, from: start, limit: limit)
        var inner = Parser(tokens: try lexer.tokens(), scalars: scalars, lines: lines, actions: actions)
        guard inner.current.kind != .end else {
            throw SyntaxFailure(
                diagnostic: lines.diagnostic(
                    .error, .syntax, at: start, "empty '{}': put a fact or an expression inside"))
        }
        let expression = try inner.parseExpression()
        guard inner.current.kind == .end else {
            throw inner.fail("unexpected \(inner.describe(inner.current)) inside '{…}'")
        }
        return expression
    }

    private init(tokens: [Token], scalars: [Unicode.Scalar], lines: SourceLines, actions: ActionSchema) {
        self.tokens = tokens
        self.scalars = scalars
        self.lines = lines
        self.actions = actions
    }

    /// Formats: `%` or `.1%` (percent), `.2` (fixed decimals), `s` (seconds with a unit), `B` (bytes
    /// with a unit), `x` or `.1x` (a multiple, "3.2×"), `d` (whole number).
    private func parseFormat(_ range: (Int, Int)?, at start: SourcePosition?) throws(SyntaxFailure) -> ValueFormat {
        guard let (from, to) = range, let start else { return .automatic }
        var spec = ""
        spec.unicodeScalars.append(contentsOf: scalars[from..<to])
        var decimals: Int?
        var rest = Substring(spec)
        if rest.hasPrefix("."), let digit = rest.dropFirst().first, let n = Int(String(digit)) {
            decimals = n
            rest = rest.dropFirst(2)
        }
        switch rest {
        case "%": return .percent(decimals: decimals)
        case "" where decimals != nil: return .fixed(decimals: decimals!)
        case "s" where decimals == nil: return .seconds
        case "B" where decimals == nil: return .bytes
        case "x": return .times(decimals: decimals ?? 1)
        case "d" where decimals == nil: return .integer
        default:
            throw SyntaxFailure(
                diagnostic: lines.diagnostic(
                    .error, .syntax, at: start, "unknown format '\(spec)' (use %, .N%, .N, s, B, x, .Nx or d)"))
        }
    }
}
