internal import Foundation
internal import PoolAdvisor

/// `pool-advisor run TASK --inputs FILE.jsonl`: run a job, outputs as JSON Lines in input order.
enum RunCommand {
    static let spec = CommandSpec(
        name: "run",
        synopsis:
            "TASK | --exec 'CMD {}' --inputs FILE.jsonl [--mode \(modes.map(\.name).joined(separator: "|"))] [--workers N] [--chunk N] [--fetch-workers N] [--rules FILE] [--output FILE] [--timeout SECONDS] [--shell] [--quiet]",
        summary: "Run a task on every input line and write the outputs as JSON Lines, in input order.",
        discussion: """
            Every input line is read and checked before any work starts; a malformed line is an
            error naming its line number. --mode auto (the default) profiles the task on the first
            inputs (their outputs are kept), asks the advisor, and runs the rest as recommended;
            the decision goes to stderr. Progress goes to stderr: a bar on a terminal, a plain line
            every two seconds otherwise, nothing with --quiet.

            With --exec, each input line is one argument of an external command ({} in the
            command, else appended; a JSON string line gives its value). argv is split without a
            shell unless --shell; an input starting with - is then still an option to most
            commands: write -- before {} ('cat -- {}') or give such inputs as ./-name. With
            --shell the command is a /bin/sh script and the input is its $1, never part of the
            script's text. Each output line has the command's status (or signal), its
            stdout (or stdoutBase64 when not UTF-8) and the end of its stderr. A failing command
            does not stop the others; the exit status is then 1 and stderr names the lines.
            No command (nor anything it started) outlives pool-advisor.
            """,
        options: .list(
            inputs, mode, workers, chunk, fetchWorkers, rules, output, timeout, exec, TaskChoice.shell, quiet),
        operands: ["TASK"], optionalOperands: 1)

    static let inputs = CommandOption.text("--inputs", "FILE", help: "The inputs, one JSON value per line (required).")
    /// `auto`, then every fixed mode by its name: what `--mode` accepts.
    static let modes: [(name: String, value: DecisionMode?)] =
        [("auto", nil)] + DecisionMode.allCases.map { ($0.rawValue, $0) }
    /// `auto`, or a fixed mode: nil for auto.
    static let mode = CommandOption.choice(
        "--mode", "MODE", modes,
        help: "auto (default), \(EnglishList.or(DecisionMode.allCases.map(\.rawValue))).")
    static let workers = CommandOption.integer(
        "--workers", in: 1...4096, help: "Threads or processes for a fixed mode (default: the cores).")
    static let chunk = CommandOption.integer(
        "--chunk", in: 1...1_000_000, help: "Items per chunk for a fixed mode (default: automatic).")
    static let fetchWorkers = CommandOption.integer(
        "--fetch-workers", in: 1...4096, help: "Fetch threads of a pipeline (default: 4 × the cores).")
    static let rules = CommandOption.text("--rules", "FILE", help: "Decide with this rules file (auto mode).")
    static let output = CommandOption.text("--output", "FILE", help: "Write the outputs here instead of stdout.")
    static let timeout = CommandOption.number(
        "--timeout", "SECONDS", in: 0.001...2_592_000,
        help: "Fail an input whose call runs longer (its worker is killed and replaced); calls run in workers.")
    static let exec = CommandOption.text(
        "--exec", "CMD", help: "Run an external command per input line instead of a TASK.")
    static let quiet = CommandOption.flag("--quiet", help: "No progress and no summary on stderr.")

    static func run(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let parsed = try context.parse(arguments, spec) else { return 0 }
        let task = try TaskChoice.resolve(parsed, exec: exec, context: context, spec: spec)
        guard let inputsPath = try parsed.value(inputs) else {
            throw UsageError(message: "missing --inputs FILE (one JSON input per line)", command: spec)
        }
        let cores = Machine.usableCores
        let settings = RunSettings(
            inputsPath: inputsPath, mode: try parsed.value(mode, default: nil),
            workers: try parsed.value(workers, default: cores),
            chunk: try parsed.value(chunk),
            fetchWorkers: try parsed.value(fetchWorkers, default: 4 * cores),
            rules: try parsed.value(rules), output: try parsed.value(output), quiet: parsed.has(quiet),
            timeout: try parsed.value(timeout))
        if settings.timeout != nil, let mode = settings.mode, mode != .processes {
            throw UsageError(
                message:
                    "--timeout needs worker processes: a call on a thread cannot be stopped; use --mode processes, or auto (which then runs every call in workers)",
                command: spec)
        }
        if let template = try parsed.value(exec) {
            let (calls, lines) = try InputFiles.readCommandCalls(
                template: template, shell: parsed.has(TaskChoice.shell), from: inputsPath)
            var failed: (count: Int, first: (line: Int, outcome: CommandOutcome)?) = (0, nil)
            try execute(ExternalCommand.self, calls, lines, settings, context) { index, outcome in
                guard !outcome.succeeded else { return }
                failed.count += 1
                if failed.first == nil { failed.first = (lines[index], outcome) }
            }
            guard let first = failed.first else { return 0 }
            let how =
                first.outcome.signal.map { "was killed by signal \($0)" }
                ?? "exited with status \(first.outcome.status ?? -1)"
            let tail = first.outcome.stderr.split(separator: "\n").last.map { ": \($0)" } ?? ""
            context.note(
                "error: \(failed.count) of \(calls.count) commands failed; the first, for line \(first.line), \(how)\(tail)\n"
            )
            return 1
        }
        try readAndExecute(task, settings, context)
        return 0
    }

    struct RunSettings {
        var inputsPath: String
        var mode: DecisionMode?
        var workers: Int
        var chunk: Int?
        var fetchWorkers: Int
        var rules: String?
        var output: String?
        var quiet: Bool
        /// Longest a call may run, in seconds (processes only).
        var timeout: Double?

        /// Worker settings: this executable, with the task timeout if one was given.
        var processes: ProcessPool.Configuration {
            var configuration = ProcessPool.Configuration()
            configuration.taskTimeout = timeout.map { .nanoseconds(Int64(($0 * 1e9).rounded())) }
            return configuration
        }
    }

    /// Runs the job, writing each output as soon as it and all before it are done.
    /// - Parameter observe: sees every output, in input order, before it is written.
    private static func execute<Task: PoolTask>(
        _ task: Task.Type, _ inputs: [Task.Input], _ lines: [Int], _ settings: RunSettings, _ context: CommandContext,
        observe: (Int, Task.Output) -> Void = { _, _ in }
    ) throws {
        let rules = try context.rules(settings.rules)
        let writer = try OutputWriter(path: settings.output)
        let interruption = Interruption(stop: writer.stopForSignal)
        defer { interruption.end() }
        let counter = ProgressCounter()
        let reporter =
            settings.quiet
            ? nil : ProgressReporter(total: inputs.count, counter: counter, terminal: Terminal.isTerminal(.error))
        let started = Date()
        func write(_ index: Int, _ output: Task.Output) throws {
            observe(index, output)
            try writer.write(output)
        }
        var summary: String
        do {
            if let mode = settings.mode {
                let plan = ExecutionPlan(
                    mode: mode, workers: settings.workers, chunkSize: settings.chunk,
                    fetchWorkers: settings.fetchWorkers)
                let executor = Executor(plan: plan, processes: settings.processes)
                defer { executor.shutdown() }
                reporter?.start()
                try executor.forEachOutput(of: task, inputs, progress: counter, write)
                summary = plan.summary
            } else {
                let machine = try context.machine()
                var options = AutoExecutor.Options()
                options.processes = settings.processes
                let auto = AutoExecutor(advisor: Advisor(rules: rules, machine: machine), options: options)
                reporter?.start()
                let run = try auto.run(task, inputs, progress: counter, forEachOutput: write)
                summary =
                    (run.recommendation?.summary ?? "serial") + ", decided on \(run.profiledItems) profiled inputs"
                for change in run.switches {
                    summary += "; switched at input \(change.atIndex + 1) to \(change.to.summary): \(change.reason)"
                }
                if let reason = run.recommendation?.decidingRule?.reason, !settings.quiet {
                    context.note("why: \(reason)\n")
                }
            }
            reporter?.stop()
            try writer.finish()
        } catch {
            reporter?.stop()
            let kept = writer.keepWhatWasWritten().map { "; \($0)" } ?? ""
            switch error {
            case let failure as MapError:
                let stage = failure.stage.map { " in its \($0.rawValue) stage" } ?? ""
                throw CommandFailure(
                    message:
                        "\(settings.inputsPath):\(lines[failure.index]): the task failed\(stage): \(failure.error)\(kept)"
                )
            default:
                throw error
            }
        }
        if !settings.quiet {
            context.note(
                "ran \(inputs.count) inputs in \(NumberText.seconds(Date().timeIntervalSince(started))): \(summary)\n")
        }
    }

    /// Reads `task`'s inputs from the file and runs them.
    private static func readAndExecute<Task: PoolTask>(
        _ task: Task.Type, _ settings: RunSettings, _ context: CommandContext
    )
        throws
    {
        let (inputs, lines) = try InputFiles.readNumbered(task, from: settings.inputsPath)
        try execute(task, inputs, lines, settings, context)
    }
}
