/// A value a rule can read: a number, a truth value, a piece of text, or unknown when the
/// profiler could not measure it (no `/proc`, scaling not tested, …).
public enum FactValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case number(Double)
    case boolean(Bool)
    case text(String)
    case unknown

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .unknown
        } else if let flag = try? container.decode(Bool.self) {
            self = .boolean(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .text(try container.decode(String.self))
        }
    }

    /// Numbers and booleans encode as themselves, unknown as `null`; non-finite numbers as `null` too.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let x) where x.isFinite: try container.encode(x)
        case .number, .unknown: try container.encodeNil()
        case .boolean(let b): try container.encode(b)
        case .text(let t): try container.encode(t)
        }
    }

    public var description: String {
        switch self {
        case .number(let x): NumberText.automatic(x)
        case .boolean(let b): b ? "true" : "false"
        case .text(let t): "\"\(t)\""
        case .unknown: "unknown"
        }
    }

    var number: Double? {
        if case .number(let x) = self, !x.isNaN { return x }
        return nil
    }

    var truth: Bool? {
        if case .boolean(let b) = self { return b }
        return nil
    }
}

/// A fact the rules may use: its name, type, unit and meaning (shown by `rules list` and in docs).
public struct FactDefinition: Codable, Sendable, Equatable {
    /// The name rules use, in snake_case.
    public var name: String
    /// Number, boolean or text: the checker holds every use to it.
    public var type: FactType
    /// `ratio`, `seconds`, `bytes`, `count`, … for the reader; the language itself has no units.
    public var unit: String
    /// One line on what the fact means, for `rules facts` and the docs.
    public var summary: String
    /// Whether a profile can leave the fact unknown (then comparisons with it are unknown too).
    public var mayBeUnknown: Bool

    /// Defines the fact `name` of `type`.
    public init(_ name: String, _ type: FactType, unit: String = "", _ summary: String, mayBeUnknown: Bool = false) {
        self.name = name
        self.type = type
        self.unit = unit
        self.summary = summary
        self.mayBeUnknown = mayBeUnknown
    }
}

/// The facts a rules file is checked against: an unknown name is a load error, not a silent false.
public struct FactSchema: Sendable {
    /// Every fact, in the order listings show them.
    public let facts: [FactDefinition]
    private let byName: [String: FactDefinition]

    /// A schema of `facts`; a repeated name keeps its first definition.
    public init(_ facts: [FactDefinition]) {
        self.facts = facts
        self.byName = Dictionary(facts.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public subscript(name: String) -> FactDefinition? { byName[name] }

    /// The known name closest to `name`, if close enough to be a likely typo.
    func suggestion(for name: String) -> String? { NameSuggestion.closest(to: name, among: facts.map(\.name)) }
}

/// Names joined the way a sentence lists them: rules errors, option errors and help texts.
public enum EnglishList {
    /// "a, b or c" ("a" alone, "" for none).
    public static func or(_ items: [String]) -> String {
        guard items.count > 1, let last = items.last else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " or " + last
    }
}

/// "Did you mean …?" for names: facts in rules files, options and commands on the command line.
public enum NameSuggestion {
    /// The candidate nearest to `name` by edit distance when it is within a third of the name's
    /// length (at least 2 edits), or else one that `name` is a prefix of (or that is a prefix of it).
    public static func closest(to name: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(name, $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        if best.1 <= max(2, name.count / 3) { return best.0 }
        return candidates.first { $0.hasPrefix(name) || name.hasPrefix($0) }
    }
}

/// The values of the facts for one evaluation. Names absent from the dictionary are unknown.
public struct Facts: Sendable, Codable, Equatable {
    /// The values by fact name.
    public var values: [String: FactValue]

    /// Facts with `values`; any other name reads as unknown.
    public init(_ values: [String: FactValue] = [:]) { self.values = values }

    public subscript(name: String) -> FactValue {
        get { values[name] ?? .unknown }
        set { values[name] = newValue }
    }
}

/// Levenshtein distance over Unicode scalars.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars)
    let b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var row = previous
    for i in 1...a.count {
        row[0] = i
        for j in 1...b.count {
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &row)
    }
    return previous[b.count]
}
