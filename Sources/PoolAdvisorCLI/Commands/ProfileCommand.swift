internal import PoolAdvisor

/// `pool-advisor profile TASK`: profile, recommend, report.
enum ProfileCommand {
    static let spec = CommandSpec(
        name: "profile",
        synopsis: "TASK [--sample N] [--items N] [--budget SECONDS] [--rules FILE] [--inputs FILE] [--json]",
        summary: "Profile a task, recommend how to run it, and say why.",
        discussion: """
            TASK is a reference workload (see 'pool-advisor tasks') or a task the program registered.
            With --exec, the task is an external command, run once per line of --inputs with the
            line as its argument ({} in the command, else appended); argv is split without a
            shell unless --shell. The command's CPU is measured from the children's rusage.
            The machine's costs are measured once and cached. The report shows where a call's time
            goes, how copies scale on threads, what shipping a call to a process costs, the
            predicted time of each mode and the recommendation with the rule that chose it.
            """,
        options: [
            .init(name: "--sample", value: "N", help: "Distinct inputs to profile on (default 32)."),
            .init(name: "--items", value: "N", help: "Items in the job to advise on (default 1000)."),
            .init(name: "--budget", value: "SECONDS", help: "Most time to spend profiling (default 3)."),
            .init(name: "--rules", value: "FILE", help: "Decide with this rules file instead of the built-in matrix."),
            .init(
                name: "--inputs", value: "FILE",
                help: "Sample inputs as JSON Lines (required for tasks without built-in inputs)."),
            .init(name: "--exec", value: "CMD", help: "Profile an external command instead of a TASK."),
            .init(name: "--shell", value: nil, help: "Run the --exec command as a /bin/sh script; the input is $1."),
            .init(name: "--json", value: nil, help: "Print the profile, machine and recommendation as JSON."),
        ], operands: ["TASK"], optionalOperands: 1)

    static func run(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let parsed = try context.parse(arguments, spec) else { return 0 }
        let task = try TaskChoice.resolve(parsed, context: context, spec: spec)
        let sample = try parsed.integer("--sample", in: 1...100_000, default: 32, spec: spec)
        let items = try parsed.integer("--items", in: 1...1_000_000_000, default: 1000, spec: spec)
        let budget = try parsed.number("--budget", in: 0.1...3600, default: 3, spec: spec)
        let rules = try context.rules(parsed.values["--rules"])
        let machine = try context.machine()
        var options = ProfilerOptions()
        options.maximumSeconds = budget
        options.minimumSeconds = min(options.minimumSeconds, budget / 2)
        // This program's workers run every task it lists: processes can be measured too.
        options.processScaling = ProcessPool.Configuration()
        let profiler = Profiler(options: options, machine: machine)
        let profile: TaskProfile
        if let template = parsed.values["--exec"] {
            guard let inputs = parsed.values["--inputs"] else {
                throw UsageError(message: "--exec needs --inputs FILE (one argument per line)", command: spec)
            }
            let calls = try InputFiles.readCommandCalls(template: template, shell: parsed.has("--shell"), from: inputs)
                .calls
            profile = try profiled(ExternalCommand.self) { try profiler.profile(ExternalCommand.self, sample: calls) }
        } else {
            profile = try measure(task, sample: sample, inputsFile: parsed.values["--inputs"], profiler: profiler)
        }
        let recommendation = Advisor(rules: rules, machine: machine).recommend(profile, items: items)
        if parsed.has("--json") {
            try context.printJSON(ProfileDocument(profile: profile, machine: machine, recommendation: recommendation))
        } else {
            let summary = (task as? any ReferenceWorkload.Type)?.summary
            context.print(
                ProfileReport.render(
                    profile, name: parsed.values["--exec"].map { "--exec '\($0)'" } ?? TaskCatalog.commandName(task),
                    summary: summary, machine: machine,
                    recommendation: recommendation, style: context.outputStyle))
        }
        return 0
    }

    private static func measure(
        _ task: any PoolTask.Type, sample: Int, inputsFile: String?, profiler: Profiler
    ) throws -> TaskProfile {
        if let inputsFile { return try measure(task, inputsFile: inputsFile, profiler: profiler) }
        guard let reference = task as? any ReferenceWorkload.Type else {
            throw CommandFailure(message: "\(task.name) has no built-in inputs: give some with --inputs FILE.jsonl")
        }
        return try measure(reference, sample: sample, profiler: profiler)
    }

    private static func measure<Task: ReferenceWorkload>(_ task: Task.Type, sample: Int, profiler: Profiler) throws
        -> TaskProfile
    {
        try profiled(task) { try profiler.profile(task, sample: task.inputs(count: sample)) }
    }

    private static func measure<Task: PoolTask>(_ task: Task.Type, inputsFile: String, profiler: Profiler) throws
        -> TaskProfile
    {
        let inputs = try InputFiles.read(task, from: inputsFile)
        return try profiled(task) { try profiler.profile(task, sample: inputs) }
    }

    private static func profiled<Task: PoolTask>(_ task: Task.Type, _ body: () throws -> TaskProfile) throws
        -> TaskProfile
    {
        do {
            return try body()
        } catch let error as ProfilerError {
            throw CommandFailure(message: "profiling \(TaskCatalog.commandName(task)) failed: \(error)")
        }
    }
}
