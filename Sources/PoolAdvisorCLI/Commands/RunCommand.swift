internal import Foundation
internal import PoolAdvisor

/// `pool-advisor run TASK --inputs FILE.jsonl`: run a job, outputs as JSON Lines in input order.
enum RunCommand {
    static let spec = CommandSpec(
        name: "run",
        synopsis:
            "TASK | --exec 'CMD {}' --inputs FILE.jsonl [--mode \(modes.map(\.name).joined(separator: "|"))] [--workers N] [--chunk N] [--fetch-workers N] [--rules FILE] [--output FILE] [--timeout SECONDS|P%] [--joblog FILE [--resume|--retry-failed]] [--halt now|never] [--tag] [--retries N] [--ssh LOGINS|--hosts FILE [--remote-executable PATH]] [--shell] [--quiet]\n       pool-advisor run --python MODULE:FUNCTION --inputs FILE.jsonl [--path DIR] [--python-exe PYTHON] [--mode …|--idempotent] [the options above but --ssh, --hosts, --exec]",
        summary: "Run a task on every input line and write the outputs as JSON Lines, in input order.",
        discussion: """
            The inputs are read a block at a time (about 8 MiB, at most 131,072 lines), so a file
            of any length (or a FIFO) runs in bounded memory. A malformed line is an error naming
            its line number: before any work in a file of one block, else after the inputs before
            it ran (their outputs are kept). --mode auto (the default) profiles the task on the
            first inputs (their outputs are kept), asks the advisor, and runs the rest as
            recommended, the blocks after the first on the plan it ended on; the decision goes to
            stderr. Progress goes to stderr: a bar on a terminal, a plain line
            every two seconds otherwise, nothing with --quiet.

            With --exec, each input line is one argument of an external command ({} in the
            command, else appended; a JSON string line gives its value). argv is split without a
            shell unless --shell; an input starting with - is then still an option to most
            commands: write -- before {} ('cat -- {}') or give such inputs as ./-name. With
            --shell the command is a /bin/sh script and the input is its $1, never part of the
            script's text. Each output line has the command's status (or signal), its
            stdout (or stdoutBase64 when not UTF-8) and the end of its stderr. A failing command
            does not stop the others (--halt never is its default) and stderr names the first.
            No command (nor anything it started) outlives pool-advisor.

            A long job: --joblog FILE writes a line per input (line, start, seconds, worker, ok or
            failed and why) once its output is written. After an interruption or failures, the
            same command with --resume runs only the inputs the log does not record as done, and
            appends their outputs to the earlier --output file; --retry-failed runs only the
            failed ones. --halt never runs every input and reports the failures at the end;
            --tag writes each output as {"line": N, "output": ...} so outputs of several runs can
            be matched to their inputs. --retries N runs a call that threw (or a command that
            exited non-zero) again, up to N more times, in the same worker; a task must be
            declared idempotent, and giving it for --exec declares the command safe to repeat.

            More than one machine: --ssh 4/user@node1,4/user@node2 (or --hosts FILE, one such
            login per line; ':' is this machine) runs worker processes there through ssh (or
            'N/srun …' through Slurm), each item on whichever worker has room. In auto mode each
            host is measured through its launcher (cached for a day) and the hosts are used only
            when predicted to win after their start and shipping; --mode processes uses them. The executable must
            be at the same path on each host (--remote-executable names another) and be the same
            build. A crash or a lost connection fails only the items that worker held; a host
            that keeps failing is dropped with a warning and the job goes on elsewhere.

            The first SIGINT or SIGTERM starts no more inputs and lets the running ones finish
            (their outputs are written and logged); a second stops at once.

            With --python, each input line is one JSON value passed to a Python function in
            pool-advisor's Python workers, and each result is printed as one JSON line. Processes
            are N workers; threads are one worker running N calls at once on its threads; serial
            is one worker. Without --mode it is profiled first (--idempotent required).

            Exit status: 0 every input ran and succeeded; 1 the job stopped (a failing input under
            --halt now, a malformed line, a file or pool error); 2 usage error; 3 every input ran
            and some failed (--halt never); 130 or 143 interrupted.
            """,
        options: .list(
            inputs, mode, workers, chunk, fetchWorkers, rules, output, timeout, jobLog, resume, retryFailed, halt,
            tag, retries, HostOptions.ssh, HostOptions.hosts, HostOptions.remoteExecutable, exec, TaskChoice.shell,
            quiet, PythonOptions.function, PythonOptions.path, PythonOptions.executable, PythonRun.idempotent),
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
        "--workers", in: 1...4096,
        help: "Threads or processes for a fixed mode (default: the cores); in auto mode, the most it may use.")
    static let chunk = CommandOption.integer(
        "--chunk", in: 1...1_000_000, help: "Items per chunk for a fixed mode (default: automatic).")
    static let fetchWorkers = CommandOption.integer(
        "--fetch-workers", in: 1...4096, help: "Fetch threads of a pipeline (default: 4 × the cores).")
    static let rules = CommandOption.text("--rules", "FILE", help: "Decide with this rules file (auto mode).")
    static let output = CommandOption.text("--output", "FILE", help: "Write the outputs here instead of stdout.")
    static let timeout = CommandOption<CallTimeout>(
        name: "--timeout", placeholder: "SECONDS|P%",
        help:
            "Fail an input whose call runs longer (its worker is killed and replaced), in seconds or as P% of the median successful call (as GNU parallel's 200%); calls run in workers.",
        expected: "seconds from 0.001 to 2592000, or a percentage from 100% to 100000% (of the median successful call)",
        convert: CallTimeout.init(parsing:))
    static let exec = CommandOption.text(
        "--exec", "CMD", help: "Run an external command per input line instead of a TASK.")
    static let quiet = CommandOption.flag("--quiet", help: "No progress and no summary on stderr.")
    static let jobLog = CommandOption.text(
        "--joblog", "FILE",
        help: "Log a line per input once its output is written: line, start, seconds, worker, ok or failed.")
    static let resume = CommandOption.flag(
        "--resume", help: "Run only the inputs the --joblog does not record as done; append to the earlier --output.")
    static let retryFailed = CommandOption.flag(
        "--retry-failed", help: "Run only the inputs the --joblog records as failed; append to the earlier --output.")
    /// When a failing input stops the job.
    enum Halt: Sendable { case now, never }
    static let halt = CommandOption.choice(
        "--halt", "WHEN", [("now", Halt.now), ("never", Halt.never)],
        help: "now: stop at the first failing input (a TASK's default); never: run all, report failures at the end.")
    static let tag = CommandOption.flag(
        "--tag", help: "Write {\"line\": N, \"output\": …} per input, or {\"line\": N, \"error\": …} for a failed one.")
    static let retries = CommandOption.integer(
        "--retries", in: 1...100,
        help: "Run a failing call again, up to N more times (an idempotent task, or any --exec command).")
    /// The exit status of a job that ran every input while some failed (`--halt never`).
    static let someInputsFailed: Int32 = 3

    static func run(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let parsed = try context.parse(arguments, spec) else { return 0 }
        if let function = try PythonOptions.resolve(parsed) { return try PythonRun.run(function, parsed, context) }
        let task = try TaskChoice.resolve(parsed, exec: exec, context: context, spec: spec)
        guard let inputsPath = try parsed.value(inputs) else {
            throw UsageError(message: "missing --inputs FILE (one JSON input per line)", command: spec)
        }
        let template = try parsed.value(exec)
        var settings = try RunSettings(parsed, inputsPath: inputsPath, runsCommands: template != nil)
        settings.hosts = try HostOptions.resolve(parsed, context, quiet: settings.quiet)
        // Auto mode weighs the hosts against this machine: each measured through its launcher.
        if !settings.hosts.isEmpty && settings.mode == nil {
            (settings.remoteHosts, settings.localWorkersWithHosts) = try HostOptions.measured(
                settings.hosts, context, quiet: settings.quiet)
        }
        try settings.check(for: task)
        if let template {
            let source = try InputSource.commandCalls(
                InputFiles.commandTemplate(template, shell: parsed.has(TaskChoice.shell)), at: inputsPath)
            return try RunJob.execute(ExternalCommand.self, source, settings, context) {
                $0.succeeded ? nil : $0.failureDescription
            }
        }
        return try readAndExecute(task, settings, context)
    }

    /// Runs `task` on the inputs in the file, read a block at a time.
    private static func readAndExecute<Task: PoolTask>(
        _ task: Task.Type, _ settings: RunSettings, _ context: CommandContext
    ) throws -> Int32 {
        try RunJob.execute(task, try InputSource.inputs(of: task, at: settings.inputsPath), settings, context) { _ in
            nil
        }
    }
}

extension CommandOutcome {
    /// `exited with status 3: <the last line of stderr>`, or `was killed by signal 9`.
    var failureDescription: String {
        let how = signal.map { "was killed by signal \($0)" } ?? "exited with status \(status ?? -1)"
        let tail = stderr.split(separator: "\n").last.map { ": \($0)" } ?? ""
        return how + tail
    }
}
