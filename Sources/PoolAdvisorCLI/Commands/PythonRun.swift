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
            "With --python: the function may be called twice on an input, so auto mode (no --mode) may profile it on the first inputs, and --retries may run a failed call again."
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
        if settings.mode == .pipeline {
            throw UsageError(
                message:
                    "a pipeline needs a fetch and a compute stage; one Python function has one: use --mode threads or processes",
                command: spec)
        }
        if settings.mode == nil {
            try advise(function, &settings, parsed, context)
        }
        var threads = 1
        // Threads are one worker's; serial is one worker, one call at a time.
        switch settings.mode {
        case .threads?:
            if settings.timeout != nil {
                throw UsageError(
                    message:
                        "--timeout kills the worker, and in threads mode every call on its threads with it: use --mode processes",
                    command: spec)
            }
            threads = max(1, settings.workers)
            settings.chunk = settings.chunk ?? threads * 4
            settings.workers = 1
            if !settings.quiet {
                context.note(
                    "threads: one Python worker runs \(threads) calls at a time on its threads, \(settings.chunk ?? 1) to a batch\n"
                )
            }
        case .serial?:
            settings.workers = 1
        default:
            break
        }
        settings.mode = .processes
        do {
            settings.pythonWorkers = try function.poolConfiguration(workers: settings.workers, threads: threads)
        } catch {
            throw CommandFailure(message: error.message)
        }
        return parsed.has(idempotent)
            ? try execute(IdempotentPythonCall.self, settings, context)
            : try execute(PythonCall.self, settings, context)
    }

    private static func execute<Task: PoolTask>(
        _ task: Task.Type, _ settings: RunCommand.RunSettings, _ context: CommandContext
    ) throws -> Int32 where Task.Input == String {
        try settings.check(for: task)
        return try RunJob.execute(task, try InputSource.lineTexts(at: settings.inputsPath), settings, context) { _ in
            nil
        }
    }

    /// Auto mode: profiles the function on the first inputs (read from the file's first block,
    /// so a file of any size is not read whole) and takes the advised plan; `--workers` caps it.
    private static func advise(
        _ function: PythonFunction, _ settings: inout RunCommand.RunSettings, _ parsed: ParsedArguments,
        _ context: CommandContext
    ) throws {
        let spec = RunCommand.spec
        guard parsed.has(idempotent) else {
            throw UsageError(
                message:
                    "auto mode profiles a Python function on the first inputs, calling them more than once: add --idempotent if that is harmless, or choose --mode threads|processes|serial ('pool-advisor profile --python \(function.spec) --inputs \(settings.inputsPath)' says which)",
                command: spec)
        }
        guard OutputFiles.kind(settings.inputsPath) == .regular else {
            throw UsageError(
                message:
                    "auto mode reads the first inputs twice (to profile, then to run): give --inputs a regular file, or choose --mode for a pipe",
                command: spec)
        }
        let first = try InputSource.lineTexts(at: settings.inputsPath).next()
        guard let sample = first.map({ Array($0.inputs.prefix(32)) }), !sample.isEmpty else {
            throw CommandFailure(message: "the inputs file '\(settings.inputsPath)' has no inputs")
        }
        let advised = try PythonOptions.advise(
            function, inputs: sample, items: 1000, budget: 2, rules: try context.rules(settings.rules))
        if !settings.quiet {
            context.note("advised: \(advised.recommendation.summary); in Python \(advised.advice.summary)\n")
        }
        let limit = settings.workersGiven ? settings.workers : Int.max
        switch advised.recommendation.plan {
        case .serial:
            settings.mode = .serial
        case .threads(let workers, _):
            settings.mode = .threads
            settings.workers = min(workers, limit)
        case .processes(let workers, let chunk):
            settings.mode = .processes
            settings.workers = min(workers, limit)
            settings.chunk = chunk
        case .pipeline(_, let compute):
            settings.mode = .processes
            settings.workers = min(compute.workers, limit)
        }
    }
}
