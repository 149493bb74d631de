internal import Foundation
public import PoolAdvisor

/// The `pool-advisor` command line, as a library: a program with its own tasks gets the same
/// commands by calling ``main(tasks:arguments:)`` first thing in its `main`.
///
/// ```swift
/// @main struct Tool {
///     static func main() { PoolAdvisorCLI.main(tasks: [Checksum.self, Thumbnail.self]) }
/// }
/// ```
///
/// `main` includes the worker entry guard: when the process was started as a pool worker it
/// serves tasks and never returns to the caller. Exit status: 0 success, 1 failure (profiling
/// failed, a rules file has errors, a file cannot be read), 2 usage error (unknown command,
/// option or task, bad value).
public enum PoolAdvisorCLI {
    /// The version `--version` prints.
    public static let version = PoolAdvisorVersion.current

    /// Runs the CLI on `arguments` (the program's own by default) and exits with its status.
    /// - Parameter tasks: the program's tasks; the reference workloads are always available too.
    public static func main(tasks: [any PoolTask.Type], arguments: [String] = CommandLine.arguments) -> Never {
        let all = allTasks(tasks)
        WorkerEntry.runIfWorker(tasks: all)
        ProgramName.set(fromPath: arguments.first ?? "")
        Terminal.exit(run(Array(arguments.dropFirst()), tasks: all))
    }

    static func allTasks(_ tasks: [any PoolTask.Type]) -> [any PoolTask.Type] {
        var seen = Set<String>()
        return (tasks + ReferenceWorkloads.tasks).filter { seen.insert($0.name).inserted }
    }

    /// Runs one command line and returns its exit status.
    static func run(_ arguments: [String], tasks: [any PoolTask.Type]) -> Int32 {
        let context = CommandContext(catalog: TaskCatalog(tasks: tasks))
        do {
            return try dispatch(arguments[...], context)
        } catch let error as UsageError {
            var text = "error: \(error.message)\n"
            if let command = error.command {
                text += "Usage: \(command.usage)\n  See '\(ProgramName.current) \(command.name) --help'.\n"
            } else {
                text += "Usage: \(ProgramName.current) <command> [options]\n  See '\(ProgramName.current) --help'.\n"
            }
            Terminal.write(text, to: .error)
            return 2
        } catch let error as CommandFailure {
            Terminal.write("error: \(error.message)\n", to: .error)
            return 1
        } catch let error as RuleFileError {
            Terminal.write("\(error)\n", to: .error)
            return 1
        } catch {
            Terminal.write("error: \(error)\n", to: .error)
            return 1
        }
    }

    static let overview = """
        OVERVIEW: measure a task, decide threads, processes, a pipeline or serial by explicit rules, and say why.

        USAGE: pool-advisor <command> [options]

        COMMANDS:
          demo                Profile, recommend and run every mode on every reference workload.
          profile TASK        Profile a task and recommend how to run it.
          run TASK            Run a task on JSON Lines inputs (auto mode: profile, decide, run).
          calibrate           Measure (or show the cached) costs of this machine.
          tasks [NAME]        List the tasks, what an input line of each is; --example N writes inputs.
          rules list          List the decision rules in evaluation order.
          rules facts         List the facts rules can use.
          rules check FILE    Check a rules file; errors name file:line:col.
          rules explain FILE  Evaluate the rules on a saved profile and show every rule's values.
          help [COMMAND]      Show help for a command.

        OPTIONS:
          --version           Show the version.
          --help              Show this help.

        See 'pool-advisor <command> --help' for a command's options.

        """

    /// The overview with the name this program was run by.
    static var overviewText: String {
        overview.replacingOccurrences(of: "pool-advisor <command>", with: "\(ProgramName.current) <command>")
    }

    private static func dispatch(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let first = arguments.first else {
            Terminal.write(overviewText, to: .output)
            return 0
        }
        let rest = arguments.dropFirst()
        switch first {
        case "--help", "-h":
            Terminal.write(overviewText, to: .output)
            return 0
        case "--version":
            Terminal.write("pool-advisor \(version)\n", to: .output)
            return 0
        case "help":
            guard let topic = rest.first else {
                Terminal.write(overviewText, to: .output)
                return 0
            }
            return try dispatch(
                rest.dropFirst().prefix(1).isEmpty ? [topic, "--help"] : [topic] + rest.dropFirst() + ["--help"],
                context)
        case "profile": return try ProfileCommand.run(rest, context)
        case "calibrate": return try CalibrateCommand.run(rest, context)
        case "tasks": return try TasksCommand.run(rest, context)
        case "run": return try RunCommand.run(rest, context)
        case "demo": return try DemoCommand.run(rest, context)
        case "rules": return try RulesCommand.run(rest, context)
        default:
            let commands = ["demo", "profile", "run", "calibrate", "tasks", "rules", "help"]
            let hint =
                NameSuggestion.closest(to: first, among: commands + ["--help", "--version"]).map {
                    " (did you mean '\($0)'?)"
                } ?? ""
            let what = first.hasPrefix("-") ? "unknown option" : "unknown command"
            throw UsageError(message: "\(what) '\(first)'\(hint)", command: nil)
        }
    }
}

/// What every command needs: the tasks, the output streams and their styles.
struct CommandContext: Sendable {
    let catalog: TaskCatalog
    var outputStyle: Style { Style(colour: Terminal.usesColour(.output)) }

    func print(_ text: String) { Terminal.write(text, to: .output) }
    func note(_ text: String) { Terminal.write(text, to: .error) }

    /// Pretty, key-sorted JSON of `value` followed by a newline.
    func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        print(String(decoding: try encoder.encode(value), as: UTF8.self) + "\n")
    }

    /// Parses `arguments` for `spec`; for `--help`, prints the help and returns nil.
    func parse(_ arguments: ArraySlice<String>, _ spec: CommandSpec) throws(UsageError) -> ParsedArguments? {
        let parsed = try ParsedArguments(arguments, for: spec)
        guard parsed.wantsHelp else { return parsed }
        print(spec.help)
        return nil
    }

    /// The task called `name`, or a usage error with a suggestion.
    func task(named name: String, spec: CommandSpec) throws -> any PoolTask.Type {
        guard let task = catalog.named(name) else {
            // A task of the program is named with its module (`mycli.WordCount`).
            let qualified = catalog.names.first { $0.hasSuffix(".\(name)") }
            let hint =
                (qualified ?? NameSuggestion.closest(to: name, among: catalog.names)).map { " (did you mean '\($0)'?)" }
                ?? ""
            throw UsageError(
                message: "unknown task '\(name)'\(hint); '\(ProgramName.current) tasks' lists them", command: spec)
        }
        return task
    }

    /// Loads `--rules FILE` if given, else the built-in matrix.
    func rules(_ path: String?) throws -> RuleSet {
        guard let path else { return Advisor.defaultRules }
        do {
            return try Advisor.loadRules(contentsOf: path)
        } catch let error as RuleLoadingError {
            throw CommandFailure(message: error.description)
        }
    }

    /// The machine's costs: the cached calibration, or a new one (saying so on stderr).
    func machine(refresh: Bool = false) throws -> MachineProfile {
        let calibration = MachineCalibration()
        if !refresh {
            let check = calibration.checkCache()
            if let cached = check.profile { return cached }
            if let problem = check.problem { note("note: \(problem); measuring again\n") }
        }
        note(
            "calibrating this machine (worker start, round trip, thread costs)\(calibration.cachePath.map { "; cached in \($0)" } ?? "")…\n"
        )
        do {
            let measured = try calibration.profile(refresh: true)
            if let noise = measured.method?.noiseDescription {
                note(
                    "note: the calibration was noisy (\(noise)); the quietest rounds are used, and the figures are kept for an hour only\n"
                )
            }
            return measured
        } catch {
            throw CommandFailure(message: "calibrating the machine failed: \(error)")
        }
    }
}

/// `{profile, machine, recommendation}`: what `profile --json` prints and `rules explain` reads.
struct ProfileDocument: Codable {
    var profile: TaskProfile
    var machine: MachineProfile?
    var recommendation: Recommendation?
}
