internal import Foundation
internal import PoolAdvisor

/// `pool-advisor tasks`: what can be run and profiled, what an input line of each is, and
/// example inputs to start from.
enum TasksCommand {
    static let spec = CommandSpec(
        name: "tasks", synopsis: "[NAME] [--example N] [--json]",
        summary: "List the tasks this program can run, with what an input line is; write example inputs.",
        discussion: """
            Each task is listed with what one line of --inputs is (its JSON shape and what its
            fields mean) and an example line. The stages of a staged task, which its pipeline runs,
            are not listed. With NAME, that task alone; with --example N, N valid input lines for
            it on stdout, ready for 'run NAME --inputs FILE' (reference workloads only).
            """,
        options: .list(example, json), operands: ["NAME"], optionalOperands: 1)

    static let example = CommandOption.integer(
        "--example", in: 1...1_000_000, help: "Write N example input lines for NAME (a reference workload).")
    static let json = CommandOption.flag("--json", help: "Print the list as JSON.")

    struct Entry: Codable {
        var name: String
        var task: String
        var summary: String?
        /// What an input line is.
        var input: String
        /// One input line, shortened when long.
        var example: String?
    }

    static func run(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let parsed = try context.parse(arguments, spec) else { return 0 }
        var tasks = listed(context.catalog.tasks)
        if let name = parsed.operands.first {
            tasks = [try context.task(named: name, spec: spec)]
        }
        if let count = try parsed.value(example) {
            guard let name = parsed.operands.first else {
                throw UsageError(message: "--example needs a task NAME: 'tasks cpu --example 10'", command: spec)
            }
            guard let workload = tasks.first as? any ReferenceWorkload.Type else {
                throw UsageError(
                    message:
                        "\(name) has no example inputs (only the reference workloads have them); an input line is \(entry(tasks[0]).input)",
                    command: spec)
            }
            // Bounded output: a large argument's lines are megabytes each.
            let lineBytes = exampleLines(workload, count: 1).utf8.count
            let limit = 256 << 20
            guard lineBytes * count <= limit else {
                throw UsageError(
                    message:
                        "\(count) lines of \(name) would be about \(NumberText.bytes(Double(lineBytes * count))) (\(NumberText.bytes(Double(lineBytes))) each); ask for at most \(max(1, limit / lineBytes))",
                    command: spec)
            }
            context.print(exampleLines(workload, count: count))
            return 0
        }
        let entries = tasks.map(entry)
        if parsed.has(json) {
            try context.printJSON(entries)
            return 0
        }
        let width = entries.map(\.name.count).max() ?? 0
        let indent = String(repeating: " ", count: width + 4)
        var text = ""
        for entry in entries {
            text += "  \(entry.name.padded(to: width))  \(entry.summary ?? entry.task)\n"
            text += "\(indent)input: \(entry.input)\n"
            if let example = entry.example { text += "\(indent)e.g.   \(example)\n" }
        }
        if parsed.operands.isEmpty {
            text += "\nExample inputs for a task: \(ProgramName.current) tasks NAME --example 100 > inputs.jsonl\n"
        }
        context.print(text)
        return 0
    }

    /// The catalogue's tasks without the stages of its staged tasks.
    static func listed(_ tasks: [any PoolTask.Type]) -> [any PoolTask.Type] {
        func stages<Staged: StagedTask>(_: Staged.Type) -> [String] { [Staged.Fetch.name, Staged.Compute.name] }
        let hidden = Set(tasks.compactMap { $0 as? any StagedTask.Type }.flatMap { stages($0) })
        return tasks.filter { !hidden.contains($0.name) }
    }

    private static func entry(_ task: any PoolTask.Type) -> Entry {
        func inputType<Task: PoolTask>(_: Task.Type) -> String { "a JSON \(String(reflecting: Task.Input.self))" }
        guard let workload = task as? any ReferenceWorkload.Type else {
            return Entry(name: TaskCatalog.commandName(task), task: task.name, input: inputType(task))
        }
        return Entry(
            name: workload.workloadName, task: task.name, summary: workload.summary, input: workload.inputMeaning,
            example: preview(workload))
    }

    /// `count` input lines of `workload`, each ending in a newline.
    static func exampleLines<Workload: ReferenceWorkload>(_ workload: Workload.Type, count: Int) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return workload.inputs(count: count).map { input in
            String(decoding: (try? encoder.encode(input)) ?? Data("null".utf8), as: UTF8.self) + "\n"
        }.joined()
    }

    /// The first example input as one line; a long byte array shows its start and its length.
    private static func preview<Workload: ReferenceWorkload>(_ workload: Workload.Type) -> String? {
        guard let input = workload.inputs(count: 1).first else { return nil }
        if let bytes = input as? [UInt8], bytes.count > 8 {
            return "[\(bytes.prefix(4).map(String.init).joined(separator: ","))," + "…] (\(bytes.count) values)"
        }
        let line = exampleLines(workload, count: 1).dropLast()
        return line.count > 120 ? line.prefix(117) + "…" : String(line)
    }
}
