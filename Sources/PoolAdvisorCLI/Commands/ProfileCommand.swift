internal import PoolAdvisor

/// `pool-advisor profile TASK`: profile, recommend, report.
enum ProfileCommand {
    static let spec = CommandSpec(
        name: "profile",
        synopsis:
            "TASK [--sample N] [--items N] [--budget SECONDS] [--rules FILE] [--inputs FILE] [--ssh LOGINS|--hosts FILE] [--json]\n       pool-advisor profile --python MODULE:FUNCTION [--fetch MODULE:FUNCTION] --inputs FILE.jsonl [--path DIR] [--python-exe PYTHON] [--items N] [--json]",
        summary: "Profile a task, recommend how to run it, and say why.",
        discussion: """
            TASK is a reference workload (see 'pool-advisor tasks') or a task the program registered.
            With --exec, the task is an external command, run once per line of --inputs with the
            line as its argument ({} in the command, else appended); argv is split without a
            shell unless --shell. The command's CPU is measured from the children's rusage.
            The machine's costs are measured once and cached. The report shows where a call's time
            goes, how copies scale on threads, what shipping a call to a process costs, the
            predicted time of each mode and the recommendation with the rule that chose it.
            With --ssh or --hosts, the other hosts are measured through their launchers (cached)
            and the prediction for running on all of them is shown beside the local ones; a rule
            chooses them only when they win after their start and shipping.
            With --python, the task is a Python function, imported and called in pool-advisor's
            Python worker with one JSON value per line of --inputs: the same report, with the
            interpreter and its GIL, Python's own executors' costs as the machine's, and the
            advice as ThreadPoolExecutor, ProcessPoolExecutor, a split or a loop, with a program.
            """,
        options: .list(
            sample, items, budget, rules, inputs, exec, TaskChoice.shell, json, HostOptions.ssh, HostOptions.hosts,
            HostOptions.remoteExecutable, PythonOptions.function, PythonOptions.fetch, PythonOptions.path,
            PythonOptions.executable),
        operands: ["TASK"], optionalOperands: 1)

    static let sample = CommandOption.integer(
        "--sample", in: 1...100_000, help: "Distinct inputs to profile on (default 32).")
    static let items = CommandOption.integer(
        "--items", in: 1...1_000_000_000, help: "Items in the job to advise on (default 1000).")
    static let budget = CommandOption.number(
        "--budget", "SECONDS", in: 0.1...3600, help: "Most time to spend profiling (default 3).")
    static let rules = CommandOption.text(
        "--rules", "FILE", help: "Decide with this rules file instead of the built-in matrix.")
    static let inputs = CommandOption.text(
        "--inputs", "FILE", help: "Sample inputs as JSON Lines (required for tasks without built-in inputs).")
    static let exec = CommandOption.text("--exec", "CMD", help: "Profile an external command instead of a TASK.")
    static let json = CommandOption.flag("--json", help: "Print the profile, machine and recommendation as JSON.")

    static func run(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let parsed = try context.parse(arguments, spec) else { return 0 }
        if let function = try PythonOptions.resolve(parsed) { return try profilePython(function, parsed, context) }
        let task = try TaskChoice.resolve(parsed, exec: exec, context: context, spec: spec)
        let sampleSize = try parsed.value(sample, default: 32)
        let jobItems = try parsed.value(items, default: 1000)
        let seconds = try parsed.value(budget, default: 3)
        let decisionRules = try context.rules(try parsed.value(rules))
        let machine = try context.machine()
        var options = ProfilerOptions()
        options.maximumSeconds = seconds
        options.minimumSeconds = min(options.minimumSeconds, seconds / 2)
        // This program's workers run every task it lists: processes can be measured too.
        options.processScaling = ProcessPool.Configuration()
        let profiler = Profiler(options: options, machine: machine)
        let profile: TaskProfile
        let inputsPath = try parsed.value(inputs)
        let template = try parsed.value(exec)
        if let template {
            guard let inputsPath else {
                throw UsageError(message: "--exec needs --inputs FILE (one argument per line)", command: spec)
            }
            let calls = try InputFiles.readCommandCalls(
                template: template, shell: parsed.has(TaskChoice.shell), from: inputsPath
            )
            .calls
            profile = try profiled(ExternalCommand.self) { try profiler.profile(ExternalCommand.self, sample: calls) }
        } else {
            profile = try measure(task, sample: sampleSize, inputsFile: inputsPath, profiler: profiler)
        }
        var advisor = Advisor(rules: decisionRules, machine: machine)
        (advisor.hosts, advisor.localWorkersWithHosts) = try HostOptions.remoteHosts(parsed, context)
        let recommendation = advisor.recommend(profile, items: jobItems)
        if parsed.has(json) {
            try context.printJSON(ProfileDocument(profile: profile, machine: machine, recommendation: recommendation))
        } else {
            let summary = (task as? any ReferenceWorkload.Type)?.summary
            context.print(
                ProfileReport.render(
                    profile, name: template.map { "--exec '\($0)'" } ?? TaskCatalog.commandName(task),
                    summary: summary, machine: machine,
                    recommendation: recommendation, style: context.outputStyle))
        }
        return 0
    }

    private static func profilePython(_ function: PythonFunction, _ parsed: ParsedArguments, _ context: CommandContext)
        throws -> Int32
    {
        guard let inputsPath = try parsed.value(inputs) else {
            throw UsageError(message: "--python needs --inputs FILE.jsonl (one JSON value per line)", command: spec)
        }
        let sampleSize = try parsed.value(sample, default: 32)
        let texts = try InputFiles.readLines(from: inputsPath).texts
        let advised = try PythonOptions.advise(
            function, inputs: Array(texts.prefix(sampleSize)), items: try parsed.value(items, default: 1000),
            budget: try parsed.value(budget, default: 3), rules: try context.rules(try parsed.value(rules)))
        if parsed.has(json) {
            try context.printJSON(advised)
        } else {
            context.print(
                ProfileReport.render(
                    advised.python.task,
                    name: "--python \(function.spec)" + (function.fetch.map { " --fetch \($0)" } ?? ""), summary: nil,
                    machine: advised.machine,
                    recommendation: advised.recommendation, style: context.outputStyle)
                    + PythonOptions.render(advised, style: context.outputStyle))
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
