internal import Foundation
internal import PoolAdvisor
internal import PoolSystem

/// `run`'s job once the inputs are read: which of them run (all, or what a job log left), on
/// which plan, and where each outcome goes (``JobSink``).
enum RunJob {
    /// Runs the job and returns the exit status: 0, or ``RunCommand/someInputsFailed``.
    /// - Parameter judge: a failure's text for an output that stands for one (a command that
    ///   exited non-zero), nil for a success.
    static func execute<Task: PoolTask>(
        _ task: Task.Type, _ inputs: [Task.Input], _ lines: [Int], _ settings: RunCommand.RunSettings,
        _ context: CommandContext, failureOf judge: @escaping (Task.Output) -> String?
    ) throws -> Int32 {
        var inputs = inputs
        var lines = lines
        let continuing = settings.rerun != .everything
        // `--retry-failed` with inputs never run: the outputs stay under the partial name.
        var keepingPartialName = false
        // The log first, locked, before it is read: a rerun without --resume is told about the
        // log (not about FILE.partial), and two runs of one log cannot both read what it lacks.
        let rules = try context.rules(settings.rules)
        // Read by each recorded call, here and in the workers, which inherit it: set before
        // any thread or worker starts.
        // Always set, so a value inherited from elsewhere never stands.
        Environment.set(retriesVariable, to: "\(settings.retries)")
        var log: JobLog?
        // Whether this run created the log: one that could not start removes it again.
        var createdLog = false
        if let path = settings.jobLog {
            let existed = OutputFiles.kind(path) != .missing
            if continuing { try checkEarlierRun(logExists: existed, path, settings) }
            let opened = try JobLog(path: path, appending: continuing)
            log = opened
            createdLog = !existed
            if let clash = opened.sameFile(
                as: [settings.inputsPath] + (settings.output.map { [$0, $0 + ".partial"] } ?? []))
            {
                if createdLog { opened.removeUnused() }
                throw CommandFailure(
                    message:
                        "the job log '\(path)' is the file '\(clash)' names too; give the log a name of its own")
            }
        }
        if continuing, let path = settings.jobLog {
            let history = try JobLogHistory.read(path, lastLine: lines.last ?? 0)
            let chosen = lines.indices.filter {
                settings.rerun == .failed ? history.failed.contains(lines[$0]) : !history.succeeded.contains(lines[$0])
            }
            keepingPartialName = settings.rerun == .failed && history.leavesUnrecorded(lines)
            if !settings.quiet {
                context.note(
                    "the job log '\(path)' records \(history.succeeded.count) inputs done and \(history.failed.count) failed; running \(chosen.count) of \(lines.count)\n"
                )
            }
            if chosen.isEmpty {
                // Nothing left: an earlier run stopped after its last output, so its outputs
                // take their final name now.
                if let output = settings.output, !keepingPartialName, OutputFiles.kind(output + ".partial") == .regular
                {
                    try OutputWriter(path: output, continuing: true).finish()
                }
                return 0
            }
            inputs = chosen.map { inputs[$0] }
            lines = chosen.map { lines[$0] }
        }
        let writer: OutputWriter
        do {
            writer = try OutputWriter(path: settings.output, continuing: continuing)
        } catch {
            if createdLog { log?.removeUnused() }
            throw error
        }
        let sink = JobSink<Task.Output>(
            writer: writer, log: log, lines: lines, tag: settings.tag, halt: settings.halt, judge: judge)
        let interruption = Interruption { [log] in
            guard let log else { return writer.stopForSignal() }
            return log.stopForSignal(writer.stopForSignalReportingWhole)
        }
        defer { interruption.end() }
        let counter = ProgressCounter()
        let reporter =
            settings.quiet
            ? nil : ProgressReporter(total: inputs.count, counter: counter, terminal: Terminal.isTerminal(.error))
        let started = Date()
        let summary: String
        do {
            summary = try run(task, inputs, settings, rules, context, sink, counter) { reporter?.start() }
            reporter?.stop()
            try sink.finish(keepingPartialName: keepingPartialName)
            if keepingPartialName, let partial = writer.partialPath, !settings.quiet {
                context.note(
                    "'\(partial)' keeps its name: the job log has no record of some inputs; --resume runs them\n")
            }
        } catch {
            reporter?.stop()
            throw sink.failure(error, inputsPath: settings.inputsPath, commands: Task.self == ExternalCommand.self)
        }
        if !settings.quiet {
            let failed = sink.failures > 0 ? "; \(sink.failures) failed" : ""
            context.note(
                "ran \(inputs.count) inputs in \(NumberText.seconds(Date().timeIntervalSince(started))): \(summary)\(failed)\n"
            )
        }
        guard let first = sink.firstFailure else { return 0 }
        let noun = Task.self == ExternalCommand.self ? "commands" : "inputs"
        let detail = Task.self == ExternalCommand.self ? ", \(first.text)" : ": \(first.text)"
        let rerun =
            settings.jobLog.map { " (the job log '\($0)' names each; add --retry-failed to run only those)" } ?? ""
        context.note(
            "error: \(sink.failures) of \(inputs.count) \(noun) failed; the first, for line \(first.line)\(detail)\(rerun)\n"
        )
        return RunCommand.someInputsFailed
    }

    /// Refuses a rerun with nothing to go on: `--retry-failed` without a log, or `--resume`
    /// without one while an earlier run's outputs are there (it would run every input again and
    /// append the outputs a second time).
    private static func checkEarlierRun(
        logExists: Bool, _ path: String, _ settings: RunCommand.RunSettings
    ) throws(CommandFailure) {
        guard !logExists else { return }
        if settings.rerun == .failed {
            throw CommandFailure(
                message: "there is no job log '\(path)', so no failed inputs to retry; check the --joblog path")
        }
        guard let output = settings.output else { return }
        for earlier in [output + ".partial", output] where OutputFiles.kind(earlier) != .missing {
            throw CommandFailure(
                message:
                    "there is no job log '\(path)', yet '\(earlier)' holds an earlier run's outputs: --resume would run every input again and append them twice; check the --joblog path, or move '\(earlier)' away to start over"
            )
        }
    }

    /// Runs the inputs on the fixed plan or in auto mode, each outcome to `sink`; returns what
    /// the summary line says of the plan.
    private static func run<Task: PoolTask>(
        _ task: Task.Type, _ inputs: [Task.Input], _ settings: RunCommand.RunSettings, _ rules: RuleSet,
        _ context: CommandContext, _ sink: JobSink<Task.Output>, _ counter: ProgressCounter, starting: () -> Void
    ) throws -> String {
        // A staged task keeps its stages (its recorded form has none): its log lines have no times.
        let recorded = settings.recordsCalls && !(task is any StagedTask.Type)
        if let mode = settings.mode {
            let plan = ExecutionPlan(
                mode: mode, workers: min(settings.workers, inputs.count), chunkSize: settings.chunk,
                fetchWorkers: min(settings.fetchWorkers, inputs.count))
            warnOfManyProcesses(plan, settings, context)
            let executor = Executor(plan: plan, processes: settings.processes)
            defer { executor.shutdown() }
            starting()
            if recorded {
                try executor.forEachResult(of: Recorded<Task>.self, inputs, progress: counter) {
                    try sink.take($0, recorded: $1)
                }
            } else if settings.recordsCalls {
                try executor.forEachResult(of: task, inputs, progress: counter) { try sink.take($0, $1) }
            } else {
                try executor.forEachOutput(of: task, inputs, progress: counter) { try sink.take($0, .success($1)) }
            }
            return plan.summary
        }
        var options = AutoExecutor.Options()
        options.processes = settings.processes
        if settings.workersGiven { options.maximumWorkers = settings.workers }
        if !settings.quiet {
            let clear = Terminal.isTerminal(.error) ? "\r\u{1B}[K" : ""
            options.onDecision = { advice, plan in
                let starting = plan == ExecutionPlan(advice) ? "" : "; starting on \(plan.summary)"
                let why = advice.decidingRule?.reason.map { "\nwhy: \($0)" } ?? ""
                context.note("\(clear)decided: \(advice.summary)\(starting)\(why)\n")
            }
        }
        let auto = AutoExecutor(advisor: Advisor(rules: rules, machine: try context.machine()), options: options)
        starting()
        let report =
            recorded
            ? try auto.run(Recorded<Task>.self, inputs, progress: counter) { try sink.take($0, recorded: .success($1)) }
            : try auto.run(task, inputs, progress: counter) { try sink.take($0, .success($1)) }
        var summary =
            (report.recommendation.map { recommendation in
                let advised = ExecutionPlan(recommendation)
                let plan = settings.workersGiven ? advised.limited(toWorkers: settings.workers) : advised
                return plan == advised
                    ? recommendation.summary : "\(plan.summary) (the advice, within --workers \(settings.workers))"
            } ?? "serial") + ", decided on \(report.profiledItems) profiled inputs"
        for change in report.switches {
            summary += "; switched at input \(change.atIndex + 1) to \(change.to.summary): \(change.reason)"
        }
        return summary
    }

    /// More worker processes than the machine can run at once cost a start and memory each,
    /// and help only a task that waits (which threads serve more cheaply): said before they start.
    private static func warnOfManyProcesses(
        _ plan: ExecutionPlan, _ settings: RunCommand.RunSettings, _ context: CommandContext
    ) {
        let cores = Machine.usableCores
        let processes = plan.mode == .processes || (plan.mode == .pipeline && plan.computeStage == .processes)
        guard processes, plan.workers > 4 * cores, !settings.quiet else { return }
        context.note(
            "warning: \(plan.workers) worker processes on \(cores) cores: each is a process to start with memory of its own, and more than the cores helps only a task that waits; threads serve waiting tasks more cheaply (--mode threads)\n"
        )
    }
}
