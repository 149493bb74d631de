/// A parameter of a decision: a positive number a rule computes from facts (`workers =
/// cpu_workers`), or one word of a fixed list (`compute = processes`).
public struct ActionParameter: Sendable {
    /// The name rules write before `=`.
    public var name: String
    /// The words it accepts; nil for a number.
    public var words: [String]?

    /// A parameter whose value is a positive number.
    public static func number(_ name: String) -> Self { Self(name: name, words: nil) }
    /// A parameter whose value is one of `words`.
    public static func word(_ name: String, oneOf words: [String]) -> Self { Self(name: name, words: words) }
}

/// One decision a rule can make (`then NAME parameter = value …`).
public struct ActionDefinition: Sendable {
    /// The word after `then`.
    public var name: String
    /// The parameters it takes, in the order listings show them.
    public var parameters: [ActionParameter]

    /// The decision `name`, taking `parameters`.
    public init(_ name: String, parameters: [ActionParameter] = []) {
        self.name = name
        self.parameters = parameters
    }

    /// The parameter called `name`, if the decision takes it.
    public func parameter(_ name: String) -> ActionParameter? { parameters.first { $0.name == name } }
}

/// The decisions a rules file may make: the rule language knows the words only from here,
/// as it knows facts only from a ``FactSchema``, so the program that evaluates the rules owns
/// its vocabulary (for pool-advisor: how to run a job). An unknown decision, parameter or word
/// is a load error.
public struct ActionSchema: Sendable {
    /// Every decision, in the order listings and errors show them.
    public let actions: [ActionDefinition]

    /// A schema of `actions`; a repeated name keeps its first definition.
    public init(_ actions: [ActionDefinition]) { self.actions = actions }

    public subscript(name: String) -> ActionDefinition? { actions.first { $0.name == name } }

    /// "serial, threads, processes or pipeline".
    var names: String { EnglishList.or(actions.map(\.name)) }
}
