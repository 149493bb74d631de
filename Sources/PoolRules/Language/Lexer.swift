/// The tokens of the rules language.
enum TokenKind: Equatable, Sendable {
    case word(String)  // identifiers and keywords alike; the parser tells them apart
    case ruleName(String)  // the word after `rule`, which may contain hyphens
    case number(Double)
    case string(contentStart: Int, contentEnd: Int)  // scalar offsets of the text between the quotes
    case symbol(String)  // ( ) , = + - * / < <= > >= == != :
    case end
}

struct Token: Sendable {
    let kind: TokenKind
    let start: SourcePosition
    let end: Int  // scalar offset just past the token
}

/// Splits rules text into tokens. Newlines are plain whitespace: clauses are delimited by their
/// keywords (`rule`, `when`, `then`, …), so a long condition may continue on the next line.
struct Lexer {
    let scalars: [Unicode.Scalar]
    let lines: SourceLines
    private var offset: Int
    private let limit: Int
    private var line: Int
    private var column: Int
    private var afterRuleKeyword = false

    init(scalars: [Unicode.Scalar], lines: SourceLines, from start: SourcePosition? = nil, limit: Int? = nil) {
        self.scalars = scalars
        self.lines = lines
        self.offset = start?.offset ?? 0
        self.line = start?.line ?? 1
        self.column = start?.column ?? 1
        self.limit = limit ?? scalars.count
    }

    /// Every token up to the end, finishing with `.end`.
    mutating func tokens() throws(SyntaxFailure) -> [Token] {
        var result: [Token] = []
        while true {
            let token = try next()
            result.append(token)
            if token.kind == .end { return result }
        }
    }

    private var position: SourcePosition { SourcePosition(offset: offset, line: line, column: column) }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        offset + ahead < limit ? scalars[offset + ahead] : nil
    }

    private mutating func advance() {
        if scalars[offset] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        offset += 1
    }

    private func fail(_ message: String, at where_: SourcePosition? = nil) -> SyntaxFailure {
        SyntaxFailure(diagnostic: lines.diagnostic(.error, .syntax, at: where_ ?? position, message))
    }

    private mutating func next() throws(SyntaxFailure) -> Token {
        skipSpaceAndComments()
        let start = position
        guard let c = peek() else { return Token(kind: .end, start: start, end: offset) }
        if afterRuleKeyword {
            afterRuleKeyword = false
            if c.isWordStart {
                while let d = peek(), d.isWordPart || d == "-" { advance() }
                return Token(kind: .ruleName(text(from: start.offset)), start: start, end: offset)
            }
        }
        if c.isWordStart {
            while let d = peek(), d.isWordPart { advance() }
            let word = text(from: start.offset)
            afterRuleKeyword = word == "rule"
            return Token(kind: .word(word), start: start, end: offset)
        }
        if c.isDigit || (c == "." && (peek(1)?.isDigit ?? false)) { return try number(from: start) }
        if c == "\"" { return try string(from: start) }
        let two = String(c) + (peek(1).map { String($0) } ?? "")
        if ["<=", ">=", "==", "!="].contains(two) {
            advance()
            advance()
            return Token(kind: .symbol(two), start: start, end: offset)
        }
        if "(),=+-*/<>:".unicodeScalars.contains(c) {
            advance()
            return Token(kind: .symbol(String(c)), start: start, end: offset)
        }
        if c == "!" { throw fail("unexpected '!': write 'not' for negation and '!=' for inequality") }
        if c == "&" || c == "|" { throw fail("unexpected '\(c)': write 'and' / 'or'") }
        throw fail("unexpected character '\(c)'")
    }

    private mutating func skipSpaceAndComments() {
        while let c = peek() {
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                advance()
            } else if c == "#" {
                while let d = peek(), d != "\n" { advance() }
            } else {
                return
            }
        }
    }

    private func text(from start: Int) -> String {
        var s = ""
        s.unicodeScalars.append(contentsOf: scalars[start..<offset])
        return s
    }

    /// A number with an optional unit: `%` (hundredths), `ns`/`us`/`µs`/`ms`/`s` (seconds),
    /// `KiB`/`MiB`/`GiB`/`KB`/`MB`/`GB` (bytes). Units only scale; the language keeps one number type.
    private mutating func number(from start: SourcePosition) throws(SyntaxFailure) -> Token {
        while let d = peek(), d.isDigit || d == "." || d == "_" { advance() }
        if let e = peek(), e == "e" || e == "E", let sign = peek(1), sign.isDigit || sign == "-" || sign == "+" {
            advance()
            advance()
            while let d = peek(), d.isDigit { advance() }
        }
        let literal = text(from: start.offset).replacingUnderscores()
        guard var value = Double(literal) else { throw fail("malformed number '\(literal)'", at: start) }
        let unitStart = position
        if peek() == "%" {
            advance()
            value /= 100
        } else if let u = peek(), u.isWordStart {
            while let d = peek(), d.isWordPart { advance() }
            let unit = text(from: unitStart.offset)
            guard let scale = Lexer.units[unit] else {
                throw fail(
                    "unknown unit '\(unit)' (known: %, \(Lexer.units.keys.sorted().joined(separator: ", ")))",
                    at: unitStart)
            }
            value *= scale
        }
        return Token(kind: .number(value), start: start, end: offset)
    }

    static let units: [String: Double] = [
        "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1024,
        "MiB": 1_048_576, "GiB": 1_073_741_824,
    ]

    /// A double-quoted string on one line; `\"` and `\\` escape, braces are left for the template parser.
    private mutating func string(from start: SourcePosition) throws(SyntaxFailure) -> Token {
        advance()
        let contentStart = offset
        while let c = peek() {
            if c == "\n" { break }
            if c == "\\" {
                advance()
                if peek() != nil && peek() != "\n" { advance() }
                continue
            }
            if c == "\"" {
                let contentEnd = offset
                advance()
                return Token(
                    kind: .string(contentStart: contentStart, contentEnd: contentEnd), start: start, end: offset)
            }
            advance()
        }
        throw fail("unterminated string: close it with '\"' on the same line", at: start)
    }
}

extension Unicode.Scalar {
    var isDigit: Bool { ("0"..."9").contains(self) }
    var isWordStart: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) || self == "_" || self == "µ" }
    var isWordPart: Bool { isWordStart || isDigit }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(unicodeScalars.filter { $0 != "_" }) }
}
