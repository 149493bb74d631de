internal import Foundation
internal import PoolAdvisor
internal import PoolSystem

/// `run`'s job once the inputs are read: which of them run (all, or what a job log left), on
/// which plan, and where each outcome goes (``JobSink``).
enum RunJob {
    /// Runs the job and returns the exit status: 0, ``RunCommand/someInputsFailed``, or 128 +
    /// the signal that stopped it.
    /// - Parameter judge: a failure's text for an output that stands for one (a command that
    ///   exited non-zero), nil for a success.
    static func execute<Task: PoolTask>(
        _ task: Task.Type, _ source: InputSource<Task.Input>, _ settings: RunCommand.RunSettings,
        _ context: CommandContext, failureOf judge: @escaping (Task.Output) -> String?
    ) throws -> Int32 {
        let continuing = settings.rerun != .everything
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
        // Signals are watched from here: counting a large file, or waiting for a FIFO's first
        // lines, can take a while, and a ^C then must not leave a new, empty log behind (the
        // next run would be told to add --resume).
        let stop = JobStop()
        let startedWriter = Locked<OutputWriter?>(nil)
        let madeLog = createdLog
        let interruption = Interruption(drain: { stop.stop() }) { [log] in
            guard let writer = startedWriter.withLock({ $0 }) else {
                if madeLog { log?.removeUnused() }
                return "no input had started"
            }
            guard let log else { return writer.stopForSignal() }
            return log.stopForSignal(writer.stopForSignalReportingWhole)
        }
        defer { interruption.end() }
        let plan: JobBlocks<Task>
        do {
            plan = try JobBlocks(source, settings: settings, context: context)
        } catch {
            if createdLog { log?.removeUnused() }
            // A FIFO closed after a ^C ends as "no inputs": the interruption is what happened.
            if stop.isStopped, let status = interruption.endDrained() { return status }
            throw error
        }
        if stop.isStopped {
            // Interrupted before any work: nothing to write; a log this run made is removed.
            if createdLog { log?.removeUnused() }
            return interruption.endDrained() ?? 0
        }
        if plan.nothingLeft {
            // Nothing left: an earlier run stopped after its last output, so its outputs
            // take their final name now.
            if let output = settings.output, !plan.keepsPartialName, OutputFiles.kind(output + ".partial") == .regular {
                try OutputWriter(path: output, continuing: true).finish()
            }
            return 0
        }
        let writer: OutputWriter
        do {
            writer = try OutputWriter(path: settings.output, continuing: continuing)
        } catch {
            if createdLog { log?.removeUnused() }
            throw error
        }
        startedWriter.withLock { $0 = writer }
        let sink = JobSink<Task.Output>(
            writer: writer, log: log, tag: settings.tag, halt: settings.halt, stop: stop, judge: judge)
        let counter = ProgressCounter()
        let reporter =
            settings.quiet
            ? nil
            : ProgressReporter(
                total: plan.chosenInputs, counter: counter, terminal: Terminal.isTerminal(.error))
        let started = Date()
        let summary: String
        let ran: Int
        do {
            (summary, ran) = try plan.run(task, rules: rules, sink: sink, counter: counter) { reporter?.start() }
            reporter?.stop()
            // Stopped by a signal: what was running finished and is written; the outputs keep
            // their partial name, for --resume (and a log this run made, with nothing in it, goes).
            // Nothing completed: the log this run made (still empty: its header is written with
            // the first lines) goes before the outputs' place is reported.
            if createdLog, counter.completed == 0, stop.isStopped { log?.removeUnused() }
            if let status = interruption.endDrained() { return status }
            if let halted = sink.halted { throw halted }
            try sink.finish(keepingPartialName: plan.keepsPartialName)
            if plan.keepsPartialName, let partial = writer.partialPath, !settings.quiet {
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
                "ran \(ran) input\(ran == 1 ? "" : "s") in \(NumberText.seconds(Date().timeIntervalSince(started))): \(summary)\(failed)\n"
            )
        }
        guard let first = sink.firstFailure else { return 0 }
        let noun = Task.self == ExternalCommand.self ? "commands" : "inputs"
        let detail = Task.self == ExternalCommand.self ? ", \(first.text)" : ": \(first.text)"
        let rerun =
            settings.jobLog.map { " (the job log '\($0)' names each; add --retry-failed to run only those)" } ?? ""
        context.note(
            "error: \(sink.failures) of \(ran) \(noun) failed; the first, for line \(first.line)\(detail)\(rerun)\n")
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
}
