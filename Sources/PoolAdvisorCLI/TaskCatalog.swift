internal import Foundation
internal import PoolAdvisor
internal import PoolSystem

/// The tasks the CLI can profile: the reference workloads by their short names, and the tasks
/// the embedding program registered, by ``PoolTask/name``.
struct TaskCatalog: Sendable {
    let tasks: [any PoolTask.Type]

    /// The command-line name: a reference workload's short name, otherwise the task's name.
    static func commandName(_ task: any PoolTask.Type) -> String {
        (task as? any ReferenceWorkload.Type)?.workloadName ?? task.name
    }

    /// The error for input line `line` of `path` that does not decode as `task`'s input: what
    /// the task takes, in words for a reference workload (its Swift type otherwise), where to
    /// read more, and the decoder's reason.
    static func invalidInput<Task: PoolTask>(_ task: Task.Type, path: String, line: Int, reason: String)
        -> CommandFailure
    {
        let name = commandName(task)
        let takes =
            (task as? any ReferenceWorkload.Type)?.inputMeaning ?? "a JSON \(String(reflecting: Task.Input.self))"
        return CommandFailure(
            message:
                "\(path):\(line): not a valid input for \(name), which takes \(takes) (\(ProgramName.current) tasks \(name) describes it): \(reason)"
        )
    }

    func named(_ name: String) -> (any PoolTask.Type)? {
        tasks.first { Self.commandName($0) == name || $0.name == name }
    }

    var names: [String] { tasks.map(Self.commandName) }
}

/// A failure the CLI reports on stderr with exit status 1.
struct CommandFailure: Error {
    var message: String
}

/// Inputs read from a JSON Lines file: one JSON value per line, decoded as the task's input.
enum InputFiles {
    static func read<Task: PoolTask>(_ task: Task.Type, from path: String) throws(CommandFailure) -> [Task.Input] {
        try readNumbered(task, from: path).inputs
    }

    /// The inputs and, for each, its line number in the file (blank lines are skipped); see
    /// ``InputLines``.
    static func readNumbered<Task: PoolTask>(_ task: Task.Type, from path: String) throws(CommandFailure) -> (
        inputs: [Task.Input], lines: [Int]
    ) {
        let bytes = try bytes(of: path)
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw CommandFailure(
                message:
                    "cannot read the inputs file '\(path)': it is UTF-16 text, and JSON Lines are UTF-8; convert it (iconv -f UTF-16 -t UTF-8 '\(path)' > inputs.jsonl)"
            )
        }
        let decoded: (inputs: [Task.Input], lines: [Int])
        do throws(InputLines.Malformed) {
            decoded = try InputLines.decode(Task.Input.self, from: bytes)
        } catch {
            throw TaskCatalog.invalidInput(Task.self, path: path, line: error.line, reason: Self.reason(error.error))
        }
        if decoded.inputs.isEmpty { throw CommandFailure(message: "the inputs file '\(path)' has no inputs") }
        return decoded
    }

    /// The inputs file's text, or an error that says why it cannot be read.
    private static func contents(of path: String) throws(CommandFailure) -> String {
        guard let text = String(data: try bytes(of: path), encoding: .utf8) else {
            throw CommandFailure(
                message: "cannot read the inputs file '\(path)': it is not UTF-8 text (JSON Lines are UTF-8)")
        }
        return text
    }

    /// The most bytes of inputs `profile` reads: it runs a sample, and must not read a file (or
    /// `/dev/zero`) without end.
    static let largestWholeFile = 1 << 30

    /// The inputs file's bytes, or an error that says why it cannot be read.
    private static func bytes(of path: String) throws(CommandFailure) -> Data {
        let blocks = try InputBlocks(path: path)
        var data = Data()
        while let block = try blocks.next() {
            data.append(block)
            if data.count > largestWholeFile {
                throw CommandFailure(
                    message:
                        "the inputs file '\(path)' holds more than \(largestWholeFile >> 30) GiB, more than a profile needs; give it a sample (head -n 10000 '\(path)' > sample.jsonl)"
                )
            }
        }
        return data
    }

    /// Each non-blank line's text as it is (a JSON value for a Python function), with its line
    /// number from 1; a line ending in CR loses it.
    static func readLines(from path: String) throws(CommandFailure) -> (texts: [String], lines: [Int]) {
        let (texts, lines) = lineTexts(in: try contents(of: path))
        if texts.isEmpty { throw CommandFailure(message: "the inputs file '\(path)' has no inputs") }
        return (texts, lines)
    }

    /// The non-blank lines of `text` as they are (a final CR dropped), with their numbers from 1.
    static func lineTexts(in text: String) -> (texts: [String], lines: [Int]) {
        var texts: [String] = []
        var lines: [Int] = []
        // Split on the byte: Swift reads "\r\n" as one Character, which a split on "\n" misses.
        for (index, line) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .enumerated()
        {
            let bytes = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
            let text = String(decoding: bytes, as: UTF8.self)
            guard !text.allSatisfy(\.isWhitespace) else { continue }
            texts.append(text)
            lines.append(index + 1)
        }
        return (texts, lines)
    }

    /// One command argument per line: a JSON string's value, or else the line's text as it is.
    static func readArguments(from path: String) throws(CommandFailure) -> (arguments: [String], lines: [Int]) {
        let (arguments, lines) = arguments(in: try contents(of: path))
        if arguments.isEmpty { throw CommandFailure(message: "the inputs file '\(path)' has no inputs") }
        return (arguments, lines)
    }

    /// The arguments of `text`'s non-blank lines (a JSON string's value, or else the line's text
    /// as it is) and their line numbers, from 1.
    static func arguments(in text: String) -> (arguments: [String], lines: [Int]) {
        var arguments: [String] = []
        var lines: [Int] = []
        // "\r\n" is one Character in Swift: split on it too, or a CRLF file is one line.
        let split = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (index, line) in split.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("\""), let value = try? JSONDecoder().decode(String.self, from: Data(trimmed.utf8)) {
                arguments.append(value)
            } else {
                arguments.append(trimmed)
            }
            lines.append(index + 1)
        }
        return (arguments, lines)
    }

    /// The command calls for `--exec TEMPLATE` over the arguments in `path`.
    static func readCommandCalls(template: String, shell: Bool, from path: String) throws -> (
        calls: [CommandCall], lines: [Int]
    ) {
        let parsed = try commandTemplate(template, shell: shell)
        let (arguments, lines) = try readArguments(from: path)
        return (arguments.map(parsed.call(for:)), lines)
    }

    /// `--exec`'s command parsed, or a usage error saying what is wrong with it.
    static func commandTemplate(_ template: String, shell: Bool) throws(UsageError) -> CommandTemplate {
        do {
            return try CommandTemplate(template, shell: shell)
        } catch {
            throw UsageError(message: error.description, command: nil)
        }
    }

    static func reason(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .dataCorrupted(let context)?: "malformed JSON (\(context.debugDescription))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?: context.debugDescription
        case .keyNotFound(let key, _)?: "missing key '\(key.stringValue)'"
        default: "\(error)"
        }
    }
}

/// The task a `profile` or `run` command names: TASK, or the external command of `--exec`.
enum TaskChoice {
    /// `--shell`: the `--exec` command is a /bin/sh script.
    static let shell = CommandOption.flag(
        "--shell", help: "Run the --exec command as a /bin/sh script; the input is $1.")

    /// The task of the operand, or ``ExternalCommand`` when the command's `exec` option is given.
    static func resolve(
        _ parsed: ParsedArguments, exec: CommandOption<String>, context: CommandContext, spec: CommandSpec
    ) throws -> any PoolTask.Type {
        if try parsed.value(exec) != nil {
            guard parsed.operands.isEmpty else {
                throw UsageError(message: "give either TASK or --exec, not both", command: spec)
            }
            return ExternalCommand.self
        }
        if parsed.has(shell) { throw UsageError(message: "--shell applies only with --exec", command: spec) }
        guard let name = parsed.operands.first else {
            throw UsageError(message: "missing TASK (or --exec CMD)", command: spec)
        }
        return try context.task(named: name, spec: spec)
    }
}
