/// A place in a rules file: 1-based line and column (columns count Unicode scalars).
public struct SourceLocation: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The file name as the user gave it (or `<rules>` for text without a file).
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column, counting Unicode scalars.
    public var column: Int

    /// The place `file:line:column`.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:col`, the form editors and terminals turn into links.
    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found in a rules file, located precisely enough to fix without reading the parser.
public struct RuleDiagnostic: Codable, Sendable, Hashable, CustomStringConvertible {
    /// Errors stop the file from loading; warnings are reported and the rules still run.
    public enum Severity: String, Codable, Sendable { case error, warning }

    /// What kind of problem, so tools and tests can tell them apart without parsing text.
    public enum Kind: String, Codable, Sendable {
        case syntax, unknownFact, unknownFunction, typeMismatch, duplicateRule, invalidAction, unreachableRule,
            noFallback
    }

    /// Whether the file still loads.
    public var severity: Severity
    /// The class of problem.
    public var kind: Kind
    /// Where the problem starts.
    public var location: SourceLocation
    /// What is wrong, and where it helps, what to write instead.
    public var message: String
    /// The offending source line, shown under the message with a caret.
    public var sourceLine: String

    /// A diagnostic at `location` quoting `line`.
    public init(_ severity: Severity, _ kind: Kind, at location: SourceLocation, _ message: String, line: String) {
        self.severity = severity
        self.kind = kind
        self.location = location
        self.message = message
        self.sourceLine = line
    }

    /// `file:line:col: error: message`, then the line and a caret under the column.
    public var description: String {
        let caretPad = String(
            sourceLine.unicodeScalars.prefix(max(0, location.column - 1)).map { $0 == "\t" ? "\t" : " " })
        return "\(location): \(severity.rawValue): \(message)\n    \(sourceLine)\n    \(caretPad)^"
    }
}

/// The errors that kept a rules file from loading (at least one), with any warnings found too.
public struct RuleFileError: Error, Sendable, CustomStringConvertible {
    /// Every error and warning, in file order.
    public var diagnostics: [RuleDiagnostic]

    /// Wraps `diagnostics`, of which at least one is an error.
    public init(diagnostics: [RuleDiagnostic]) { self.diagnostics = diagnostics }

    /// The errors alone.
    public var errors: [RuleDiagnostic] { diagnostics.filter { $0.severity == .error } }

    public var description: String {
        let count = errors.count
        let head = "\(count) error\(count == 1 ? "" : "s") in \(diagnostics.first?.location.file ?? "the rules")"
        return ([head] + diagnostics.map(\.description)).joined(separator: "\n")
    }
}

/// The lines of a source text, for quoting them in diagnostics.
struct SourceLines: Sendable {
    let file: String
    private let lines: [String]

    init(file: String, text: String) {
        self.file = file
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
    }

    func line(_ number: Int) -> String { number >= 1 && number <= lines.count ? lines[number - 1] : "" }

    func diagnostic(
        _ severity: RuleDiagnostic.Severity, _ kind: RuleDiagnostic.Kind, at position: SourcePosition, _ message: String
    ) -> RuleDiagnostic {
        RuleDiagnostic(
            severity, kind, at: SourceLocation(file: file, line: position.line, column: position.column), message,
            line: line(position.line))
    }
}

/// A position inside the source: scalar offset plus line and column, so a node can quote its text.
struct SourcePosition: Sendable, Hashable {
    var offset: Int
    var line: Int
    var column: Int
}

/// Thrown inside the parser to unwind to the next rule after a syntax error.
struct SyntaxFailure: Error {
    let diagnostic: RuleDiagnostic
}
