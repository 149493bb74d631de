internal import PoolAdvisor

/// `pool-advisor run --python MODULE:FUNCTION`: the job on pool-advisor's own pools, with
/// Python workers. Every mode runs in Python worker processes, so each call keeps the process
/// pool's guarantees (exact-once, crash attribution, ordered outputs, progress, job log):
/// processes are N workers; threads are one worker running each batch's calls on N threads of
/// its interpreter; serial is one worker, one call at a time.
enum PythonRun {
    static let idempotent = CommandOption.flag(
        "--idempotent",
        help:
            "With --python and no --mode: the function may be called twice on an input, so auto mode may profile it on the first inputs."
    )

    static func run(_ function: PythonFunction, _ parsed: ParsedArguments, _ context: CommandContext) throws -> Int32 {
        let spec = RunCommand.spec
        guard let inputsPath = try parsed.value(RunCommand.inputs) else {
            throw UsageError(message: "missing --inputs FILE (one JSON value per line)", command: spec)
        }
        if try parsed.value(RunCommand.exec) != nil || !parsed.operands.isEmpty {
            throw UsageError(message: "--python names the task: give no TASK and no --exec with it", command: spec)
        }
        if try !parsed.values(HostOptions.ssh).isEmpty || parsed.value(HostOptions.hosts) != nil {
            throw UsageError(
                message: "--python runs its workers on this machine: leave out --ssh and --hosts", command: spec)
        }
        var settings = try RunCommand.RunSettings(parsed, inputsPath: inputsPath, runsCommands: false)
        try settings.check(for: PythonCall.self)
        if settings.mode == .pipeline {
            throw UsageError(
                message:
                    "a pipeline needs a fetch and a compute stage; one Python function has one: use --mode threads or processes",
                command: spec)
        }
        if settings.mode == nil {
            guard parsed.has(idempotent) else {
                throw UsageError(
                    message:
                        "auto mode profiles a Python function on the first inputs, calling them more than once: add --idempotent if that is harmless, or choose --mode threads|processes|serial ('pool-advisor profile --python \(function.spec) --inputs \(inputsPath)' says which)",
                    command: spec)
            }
            let advised = try PythonOptions.advise(
                function, inputs: Array(try InputFiles.readLines(from: inputsPath).texts.prefix(32)),
                items: 1000, budget: 2, rules: try context.rules(settings.rules))
            if !settings.quiet {
                context.note("advised: \(advised.recommendation.summary); in Python \(advised.advice.summary)\n")
            }
            switch advised.recommendation.plan {
            case .serial: settings.mode = .serial
            case .threads(let workers, _):
                settings.mode = .threads
                settings.workers = workers
            case .processes(let workers, let chunk):
                settings.mode = .processes
                settings.workers = workers
                settings.chunk = chunk
            case .pipeline(_, let compute):
                settings.mode = .processes
                settings.workers = compute.workers
            }
        }
        settings.python = function
        // Threads are one worker's; serial is one worker, one call at a time.
        switch settings.mode {
        case .threads?:
            settings.pythonThreads = max(1, settings.workers)
            settings.chunk = settings.chunk ?? max(1, settings.workers) * 4
            settings.workers = 1
        case .serial?:
            settings.workers = 1
        default:
            break
        }
        settings.mode = .processes
        return try RunJob.execute(PythonCall.self, try InputSource.lineTexts(at: inputsPath), settings, context) { _ in
            nil
        }
    }
}
