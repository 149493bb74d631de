internal import PoolRules

/// One command-line option, declared once next to the command that reads it: its name, what
/// its value looks like, its help line, and how the text becomes a typed value. The command's
/// ``CommandSpec`` lists it for parsing and `--help` (``described``), and the command reads it
/// typed (``ParsedArguments/value(_:)``), so a name is never typed twice.
struct CommandOption<Value>: DescribedOption, Sendable {
    /// `--workers`
    let name: String
    /// `N`, `FILE`; nil for a flag.
    let placeholder: String?
    let help: String
    /// What a valid value is, for the error on an invalid one: "a whole number from 1 to 4096".
    let expected: String
    /// The value of a text, or nil when the text is not one.
    let convert: @Sendable (String) -> Value?

    /// The untyped description parsing and `--help` work from.
    var described: CommandSpec.Option { .init(name: name, value: placeholder, help: help) }
}

/// An option of any value type, as parsing and `--help` see it.
protocol DescribedOption {
    var described: CommandSpec.Option { get }
}

extension [CommandSpec.Option] {
    /// The descriptions of a command's options, in the order `--help` lists them.
    static func list(_ options: any DescribedOption...) -> Self { options.map(\.described) }
}

extension CommandOption where Value == String {
    /// An option whose value is taken as written (a path, a command, a list to split).
    static func text(_ name: String, _ placeholder: String, help: String) -> Self {
        Self(name: name, placeholder: placeholder, help: help, expected: "a value") { $0 }
    }
}

extension CommandOption where Value == Bool {
    /// A flag: present or not, no value.
    static func flag(_ name: String, help: String) -> Self {
        Self(name: name, placeholder: nil, help: help, expected: "no value") { _ in true }
    }
}

extension CommandOption where Value == Int {
    /// A whole number in `range`.
    static func integer(_ name: String, _ placeholder: String = "N", in range: ClosedRange<Int>, help: String) -> Self {
        Self(
            name: name, placeholder: placeholder, help: help,
            expected: "a whole number from \(range.lowerBound) to \(range.upperBound)"
        ) { text in Int(text).flatMap { range.contains($0) ? $0 : nil } }
    }
}

extension CommandOption where Value == Double {
    /// A number in `range` (no NaN, no infinity: the range rules them out).
    static func number(_ name: String, _ placeholder: String, in range: ClosedRange<Double>, help: String) -> Self {
        Self(
            name: name, placeholder: placeholder, help: help,
            expected:
                "a number from \(NumberText.automatic(range.lowerBound)) to \(NumberText.automatic(range.upperBound))"
        ) { text in Double(text).flatMap { range.contains($0) ? $0 : nil } }
    }
}

extension CommandOption where Value: Sendable {
    /// One of a fixed list of names, each standing for a value.
    static func choice(_ name: String, _ placeholder: String, _ choices: [(name: String, value: Value)], help: String)
        -> Self
    {
        Self(name: name, placeholder: placeholder, help: help, expected: EnglishList.or(choices.map(\.name))) { text in
            choices.first { $0.name == text }?.value
        }
    }
}
