internal import PoolRules
internal import Synchronization

/// A command's options and operands, for parsing and for `--help`.
struct CommandSpec: Sendable {
    struct Option: Sendable {
        /// `--sample`
        var name: String
        /// `N` for an option with a value; nil for a flag.
        var value: String?
        var help: String
    }

    /// `profile`, or `rules check` for a nested command.
    var name: String
    /// `TASK [--sample N] …`, after the command's name.
    var synopsis: String
    var summary: String
    var discussion: String = ""
    var options: [Option] = []
    /// Names of the operands, in order, e.g. `["TASK"]`.
    var operands: [String] = []
    var optionalOperands: Int = 0

    var usage: String { "\(ProgramName.current) \(name) \(synopsis)".trimmingSpaces() }

    /// The text `--help` prints.
    var help: String {
        var lines = ["OVERVIEW: \(summary)", "", "USAGE: \(usage)"]
        if !discussion.isEmpty { lines += ["", discussion] }
        let all = options + [Option(name: "--help", value: nil, help: "Show this help.")]
        lines += ["", "OPTIONS:"]
        let width = all.map { $0.name.count + ($0.value.map { $0.count + 1 } ?? 0) }.max() ?? 0
        for option in all {
            let head = option.name + (option.value.map { " \($0)" } ?? "")
            lines.append("  \(head.padded(to: width))  \(option.help)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A mistake on the command line: exit status 2, with the usage and a hint.
struct UsageError: Error {
    var message: String
    var command: CommandSpec?
}

/// The command line after parsing against a ``CommandSpec``.
struct ParsedArguments {
    /// What the command line was parsed against (named in the errors of ``value(_:)``).
    let spec: CommandSpec
    var operands: [String] = []
    private(set) var values: [String: String] = [:]
    /// Every value of each option, in order: a repeatable option's (``values(_:)``).
    private(set) var repeated: [String: [String]] = [:]
    private(set) var flags: Set<String> = []
    var wantsHelp = false

    /// Parses `--name value`, `--name=value`, flags, `--` and operands; `-h`/`--help` anywhere.
    init(_ arguments: ArraySlice<String>, for spec: CommandSpec) throws(UsageError) {
        self.spec = spec
        var rest = arguments[...]
        var onlyOperands = false
        while let argument = rest.popFirst() {
            if onlyOperands || !argument.hasPrefix("-") || argument == "-" {
                operands.append(argument)
                continue
            }
            if argument == "--" {
                onlyOperands = true
                continue
            }
            if argument == "--help" || argument == "-h" {
                wantsHelp = true
                continue
            }
            var name = argument
            var inline: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inline = String(argument[argument.index(after: equals)...])
            }
            guard let option = spec.options.first(where: { $0.name == name }) else {
                let close = NameSuggestion.closest(to: name, among: spec.options.map(\.name) + ["--help"])
                let hint = close.map { " (did you mean '\($0)'?)" } ?? ""
                throw UsageError(message: "unknown option '\(name)'\(hint)", command: spec)
            }
            if option.value == nil {
                guard inline == nil else {
                    throw UsageError(message: "option '\(name)' takes no value", command: spec)
                }
                flags.insert(name)
            } else if let value = inline ?? rest.popFirst() {
                values[name] = value
                repeated[name, default: []].append(value)
            } else {
                throw UsageError(message: "option '\(name)' needs a value (\(option.value!))", command: spec)
            }
        }
        if wantsHelp { return }
        let required = spec.operands.count - spec.optionalOperands
        if operands.count < required {
            throw UsageError(message: "missing \(spec.operands[operands.count])", command: spec)
        }
        if operands.count > spec.operands.count {
            throw UsageError(message: "unexpected argument '\(operands[spec.operands.count])'", command: spec)
        }
    }

    /// The option's value, or nil when the command line does not give it.
    /// - Throws: ``UsageError`` naming the option, the text and what it expects.
    func value<Value>(_ option: CommandOption<Value>) throws(UsageError) -> Value? {
        guard let text = values[option.name] else { return nil }
        guard let value = option.convert(text) else {
            throw UsageError(
                message: "invalid value '\(text)' for '\(option.name)': expected \(option.expected)", command: spec)
        }
        return value
    }

    /// Every value a repeatable option was given, in order; empty when none.
    /// - Throws: ``UsageError`` naming the option, the text and what it expects.
    func values<Value>(_ option: CommandOption<Value>) throws(UsageError) -> [Value] {
        var converted: [Value] = []
        for text in repeated[option.name] ?? [] {
            guard let value = option.convert(text) else {
                throw UsageError(
                    message: "invalid value '\(text)' for '\(option.name)': expected \(option.expected)", command: spec)
            }
            converted.append(value)
        }
        return converted
    }

    /// The option's value, or `fallback` when the command line does not give it.
    func value<Value>(_ option: CommandOption<Value>, default fallback: Value) throws(UsageError) -> Value {
        try value(option) ?? fallback
    }

    /// Whether the flag is on the command line.
    func has(_ flag: CommandOption<Bool>) -> Bool { flags.contains(flag.name) }
}

extension String {
    func padded(to width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}

/// The name the program was run by (`pool-advisor`, or `mycli` for a program that embeds the
/// CLI), for usage lines and hints.
enum ProgramName {
    private static let stored = Mutex("pool-advisor")

    static var current: String { stored.withLock { $0 } }

    /// Takes the last component of `path` (the program's `argv[0]`); an empty one is ignored.
    static func set(fromPath path: String) {
        guard let name = path.split(separator: "/").last, !name.isEmpty else { return }
        stored.withLock { $0 = String(name) }
    }
}
