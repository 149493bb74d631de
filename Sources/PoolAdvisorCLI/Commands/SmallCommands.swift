internal import PoolAdvisor

/// `pool-advisor calibrate`: the machine's costs.
enum CalibrateCommand {
    static let spec = CommandSpec(
        name: "calibrate", synopsis: "[--refresh] [--json]",
        summary: "Measure this machine's costs: worker start, round trip, pipe bandwidth, thread costs.",
        discussion: "The result is cached per host and build for 7 days; --refresh measures again.",
        options: [
            .init(name: "--refresh", value: nil, help: "Measure again even if a fresh calibration is cached."),
            .init(name: "--json", value: nil, help: "Print the machine profile as JSON."),
        ])

    static func run(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let parsed = try context.parse(arguments, spec) else { return 0 }
        let machine = try context.machine(refresh: parsed.has("--refresh"))
        if parsed.has("--json") {
            try context.printJSON(machine)
            return 0
        }
        let rows: [(String, String)] = [
            ("usable cores", "\(machine.usableCores)"),
            ("worker start", NumberText.seconds(machine.workerStartSeconds)),
            ("round trip", NumberText.seconds(machine.roundTripSeconds)),
            ("pipe bandwidth", "\(NumberText.bytes(machine.ipcBandwidthBytesPerSecond))/s"),
            ("thread start", NumberText.seconds(machine.threadStartSeconds)),
            ("thread dispatch", NumberText.seconds(machine.threadDispatchSeconds)),
            ("thread map item", NumberText.seconds(machine.threadMapItemSeconds)),
            ("process map item", NumberText.seconds(machine.processMapItemSeconds)),
        ]
        context.print(rows.map { "  \($0.0.padded(to: 17)) \($0.1)" }.joined(separator: "\n") + "\n")
        return 0
    }
}

/// `pool-advisor tasks`: what can be profiled.
enum TasksCommand {
    static let spec = CommandSpec(
        name: "tasks", synopsis: "[--json]", summary: "List the tasks this program can profile.",
        options: [.init(name: "--json", value: nil, help: "Print the list as JSON.")])

    struct Entry: Codable {
        var name: String
        var task: String
        var summary: String?
    }

    static func run(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let parsed = try context.parse(arguments, spec) else { return 0 }
        let entries = context.catalog.tasks.map {
            Entry(
                name: TaskCatalog.commandName($0), task: $0.name, summary: ($0 as? any ReferenceWorkload.Type)?.summary)
        }
        if parsed.has("--json") {
            try context.printJSON(entries)
            return 0
        }
        let width = entries.map(\.name.count).max() ?? 0
        context.print(
            entries.map { "  \($0.name.padded(to: width))  \($0.summary ?? $0.task)" }.joined(separator: "\n") + "\n")
        return 0
    }
}
