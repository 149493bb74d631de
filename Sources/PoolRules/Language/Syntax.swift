/// The type of a fact or an expression. Every value is a number, a truth value or a piece of text.
public enum FactType: String, Codable, Sendable {
    case number, boolean, text
}

/// An expression as written, with where it starts and ends so explanations can quote it.
struct Expression: Sendable {
    indirect enum Node: Sendable {
        case number(Double)
        case boolean(Bool)
        case text(String)
        case fact(String)
        case call(String, [Expression])
        case not(Expression)
        case negate(Expression)
        case binary(BinaryOperator, Expression, Expression)
    }

    var node: Node
    var start: SourcePosition
    var end: Int

    /// Whether this node is a boolean connective (`and`, `or`, `not`), whose operands are listed
    /// separately in an explanation.
    var isConnective: Bool {
        switch node {
        case .not: true
        case .binary(let op, _, _): op == .and || op == .or
        default: false
        }
    }
}

enum BinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/"
    case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">=", equal = "==", notEqual = "!="
    case and, or

    var isComparison: Bool { [.less, .lessOrEqual, .greater, .greaterOrEqual, .equal, .notEqual].contains(self) }
    var isArithmetic: Bool { [.add, .subtract, .multiply, .divide].contains(self) }
}

/// How a value is shown inside a reason: `{cpu_ratio:%}`, `{serial_fraction:.2}`, `{call_seconds:s}`.
public enum ValueFormat: Sendable, Equatable {
    case automatic
    /// Percent; with no decimals given, one decimal below 1 % (0.5%) and none above (42%).
    case percent(decimals: Int?)
    case fixed(decimals: Int)
    case seconds
    case bytes
    case times(decimals: Int)
    case integer
}

/// A reason or advisory text: literal pieces and quoted values.
struct Template: Sendable {
    enum Piece: Sendable {
        case literal(String)
        case value(Expression, ValueFormat)
    }

    var pieces: [Piece]
    var start: SourcePosition
}

/// One `name = value` parameter of a decision.
struct ParameterSyntax: Sendable {
    var name: String
    var start: SourcePosition
    var value: Expression?  // nil for a parameter whose value is a word
    /// The value of a parameter that takes a word (`compute = processes`).
    var word: String?
}

enum ActionSyntax: Sendable {
    /// The decision's name (an ``ActionSchema`` entry) and its parameters.
    case decide(String, [ParameterSyntax])
    case warn(Template)
    case advise(Template)
}

/// A rule as written in the file.
struct RuleSyntax: Sendable {
    var name: String
    var start: SourcePosition
    var priority: Int
    var condition: Expression
    var action: ActionSyntax
    var actionStart: SourcePosition
    var reason: Template?

    var isDecision: Bool {
        if case .decide = action { return true }
        return false
    }
}
