internal import PoolSystem

/// One run of an external command: its arguments, the first being the program (looked up in `PATH`).
public struct CommandCall: Codable, Sendable, Equatable {
    /// The program, then its arguments; no shell interprets them.
    public var arguments: [String]

    /// A call of `arguments`.
    public init(arguments: [String]) { self.arguments = arguments }
}

/// How a command ended and what it wrote.
public struct CommandOutcome: Codable, Sendable, Equatable {
    /// The exit status, or nil if a signal ended it.
    public var status: Int32?
    /// The signal that ended it, if one did.
    public var signal: Int32?
    /// Standard output as UTF-8 text, when it is valid UTF-8.
    public var stdout: String?
    /// Standard output in base64, when it is not valid UTF-8 (compressed data, images).
    public var stdoutBase64: String?
    /// Standard error as text (invalid UTF-8 replaced), at most its last 4 KiB.
    public var stderr: String

    /// True when the command exited with status 0.
    public var succeeded: Bool { status == 0 }

    /// An outcome from its parts.
    public init(status: Int32?, signal: Int32?, stdout: String?, stdoutBase64: String?, stderr: String) {
        self.status = status
        self.signal = signal
        self.stdout = stdout
        self.stdoutBase64 = stdoutBase64
        self.stderr = stderr
    }

    init(_ finished: CommandProcesses.Finished) {
        switch finished.exit {
        case .exited(let code): status = code
        case .signaled(let number): signal = number
        case .unknown: status = nil
        }
        if let text = String(validating: finished.standardOutput, as: UTF8.self) {
            stdout = text
        } else {
            stdoutBase64 = Base64.encode(finished.standardOutput)
        }
        stderr = String(decoding: finished.standardError.suffix(4096), as: UTF8.self)
    }
}

/// A task that runs an external command per input and reports how it ended. A command that
/// fails is not an error: its outcome carries the status, so the other inputs are delivered.
///
/// Each call is a process already, so the advisor sizes how many run at once (threads that
/// wait for children), and the profiler measures the command's CPU from its rusage.
public struct ExternalCommand: PoolTask {
    /// The name every worker serves it under.
    public static let name = "pool-advisor.exec"
    /// Declares that each call runs a command (the advisor sizes parallelism from the children's CPU).
    public static let traits: TaskTraits = [.runsCommand]

    /// Runs the command and waits for it.
    /// - Throws: ``SystemCallError`` only if the output cannot be captured.
    public static func run(_ call: CommandCall) throws -> CommandOutcome {
        CommandOutcome(try CommandProcesses.run(call.arguments))
    }
}

/// A command line with a `{}` placeholder, turned into one ``CommandCall`` per argument.
///
/// Without a shell the template is split into words as a shell would split it (whitespace,
/// single and double quotes, backslash escapes) but nothing else is interpreted: no globs,
/// variables or pipes, and the argument is substituted as it is, never re-split. The argument
/// is still one word of the command's argv, so one that starts with `-` is an option to most
/// programs: write `--` before the placeholder (`cat -- {}`) or give such inputs as `./-name`.
///
/// With `shell: true` the template is a script for `/bin/sh -c`, and the argument is its first
/// positional parameter: `/bin/sh -c SCRIPT sh ARGUMENT`, where each `{}` in the script has
/// become a quoted reference to `$1` (see `ShellScript`). The argument's text never becomes
/// part of the script, so nothing in it is run, whatever quotes the template puts around `{}`.
///
/// A template without `{}` gets the argument as its last word.
public struct CommandTemplate: Sendable, Equatable {
    /// The template split into words (with `{}` still in place).
    public let words: [String]
    /// Whether calls run under `/bin/sh -c`.
    public let usesShell: Bool
    /// The script `/bin/sh -c` runs, reading the argument from `$1`; nil without a shell.
    public let script: String?

    /// Parses `template`.
    /// - Throws: ``CommandTemplateError`` for an unclosed quote, a trailing backslash or an empty command.
    public init(_ template: String, shell: Bool = false) throws(CommandTemplateError) {
        self.usesShell = shell
        self.words = try Self.split(template)
        if words.isEmpty { throw CommandTemplateError(template: template, problem: "the command is empty") }
        self.script = shell ? ShellScript.script(for: template) : nil
    }

    /// The call for one input argument.
    public func call(for argument: String) -> CommandCall {
        if let script {
            // "sh" is $0, the name the shell uses in its error messages; the argument is $1.
            return CommandCall(arguments: ["/bin/sh", "-c", script, "sh", argument])
        }
        guard words.contains(where: { $0.contains("{}") }) else { return CommandCall(arguments: words + [argument]) }
        return CommandCall(arguments: words.map { $0.replacing("{}", with: argument) })
    }

    static func split(_ text: String) throws(CommandTemplateError) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                // Inside double quotes a backslash escapes only \ " $ and `, as in a shell.
                if quote == "\"" && !"\\\"$`".contains(character) { current.append("\\") }
                current.append(character)
                escaped = false
                inWord = true
            } else if let open = quote {
                if character == open {
                    quote = nil
                } else if character == "\\" && open == "\"" {
                    escaped = true
                } else {
                    current.append(character)
                }
            } else if character == "'" || character == "\"" {
                quote = character
                inWord = true
            } else if character == "\\" {
                escaped = true
            } else if character.isWhitespace {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        if quote != nil { throw CommandTemplateError(template: text, problem: "a quote is not closed") }
        if escaped { throw CommandTemplateError(template: text, problem: "it ends with a backslash") }
        if inWord { words.append(current) }
        return words
    }
}

/// A command template that cannot be split into words.
public struct CommandTemplateError: Error, Sendable, CustomStringConvertible {
    /// The template as given.
    public var template: String
    /// What is wrong with it.
    public var problem: String
    public var description: String { "cannot use the command '\(template)': \(problem)" }
}

/// Standard base64 (RFC 4648) without Foundation.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let a = UInt32(bytes[index])
            let b = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let c = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let triple = a << 16 | b << 8 | c
            out.append(alphabet[Int(triple >> 18 & 63)])
            out.append(alphabet[Int(triple >> 12 & 63)])
            out.append(index + 1 < bytes.count ? alphabet[Int(triple >> 6 & 63)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(triple & 63)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
