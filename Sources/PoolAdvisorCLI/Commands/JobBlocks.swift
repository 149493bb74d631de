internal import Foundation
internal import PoolAdvisor

/// `run`'s inputs as the job sees them: read a block at a time (``InputSource``), those an
/// earlier run's job log left chosen (`--resume`, `--retry-failed`), and run block after block on
/// one plan, each outcome to the ``JobSink``. Memory holds one block, whatever the file's length.
///
/// A regular file is counted first, in one pass (its total is the progress display's, and a
/// job log naming a line past its end is refused); a FIFO is read once, as it comes. The first
/// block is read and checked before the job's output file is created, so a file of one block
/// (up to 8 MiB and 131,072 lines) that has a malformed line is refused before any work, as
/// before; a malformed line in a later block ends the job there, after the inputs before it ran.
final class JobBlocks<Task: PoolTask> {
    private let source: InputSource<Task.Input>
    private let settings: RunCommand.RunSettings
    private let context: CommandContext
    private let history: JobLogHistory?
    /// The inputs this run is to run, when the file was counted ahead.
    let chosenInputs: Int?
    /// Whether some input has no record in the job log while `--retry-failed` runs only the
    /// failed ones: the outputs keep their partial name, for a `--resume` to come.
    private(set) var keepsPartialName = false
    /// The first block, read before the job starts; nil once taken.
    private var firstBlock: InputSource<Task.Input>.Block?

    /// Reads the job log's history for a rerun, counts a regular file, and reads the first block.
    /// - Throws: ``CommandFailure`` for an unreadable or empty file, a log that names lines the
    ///   file does not have, or a malformed first line.
    init(_ source: InputSource<Task.Input>, settings: RunCommand.RunSettings, context: CommandContext) throws {
        self.source = source
        self.settings = settings
        self.context = context
        var history: JobLogHistory?
        if settings.rerun != .everything, let path = settings.jobLog {
            history = try JobLogHistory.read(path, lastLine: LineSet.largestLine)
        }
        self.history = history
        var unrecorded = false
        let counted = try source.count { line in
            guard let history else { return true }
            if !history.succeeded.contains(line), !history.failed.contains(line) { unrecorded = true }
            return Self.isChosen(line, history, settings.rerun)
        }
        if let counted, let history, let path = settings.jobLog {
            try history.checkLines(of: path, inputLines: counted.lines)
        }
        if counted?.inputs == 0 { throw CommandFailure(message: "the inputs file '\(source.path)' has no inputs") }
        chosenInputs = counted?.chosen
        keepsPartialName = settings.rerun == .failed && unrecorded
        if let history, let path = settings.jobLog, !settings.quiet {
            let running = counted.map { "running \($0.chosen) of \($0.inputs)" } ?? "running the others"
            context.note(
                "the job log '\(path)' records \(history.succeeded.count) inputs done and \(history.failed.count) failed; \(running)\n"
            )
        }
        guard chosenInputs != 0 else { return }
        guard let first = try source.next() else {
            throw CommandFailure(message: "the inputs file '\(source.path)' has no inputs")
        }
        // A file of one block is checked whole before any work, as a small file always was.
        if let malformed = first.malformed, first.inputs.isEmpty || source.blocks.isFinished { throw malformed }
        firstBlock = first
    }

    /// Whether a counted file left nothing to run (every input done, or no failure to retry).
    var nothingLeft: Bool { chosenInputs == 0 }

    private static func isChosen(_ line: Int, _ history: JobLogHistory, _ rerun: RunCommand.RunSettings.Rerun) -> Bool {
        rerun == .failed ? history.failed.contains(line) : !history.succeeded.contains(line)
    }

    /// Runs every chosen input, block after block, each outcome to `sink`; returns what the
    /// summary line says of the plan and how many inputs ran. `starting` is called once, before
    /// the first input runs. A stop (a failure under `--halt now`, a signal) ends the job at the
    /// end of the block it stopped.
    /// - Throws: the pool's, the sink's or a malformed line's error (``InputsEnded``).
    func run(
        _ task: Task.Type, rules: RuleSet, sink: JobSink<Task.Output>, counter: ProgressCounter,
        starting: () -> Void
    ) throws -> (summary: String, ran: Int) {
        var executor: Executor?
        defer { executor?.shutdown() }
        // The plain path's own pool, when the plan is threads (see ``EncodedChunks``).
        var chunks: EncodedChunks<Task>?
        defer { chunks?.pool?.shutdown() }
        var summary = ""
        var ran = 0
        var blocks = 0
        var started = false
        var next = firstBlock
        firstBlock = nil
        while let block = next {
            var inputs = block.inputs
            var lines = block.lines
            if let history {
                if settings.rerun == .failed, history.leavesUnrecorded(lines) { keepsPartialName = true }
                let chosen = lines.indices.filter { Self.isChosen(lines[$0], history, settings.rerun) }
                inputs = chosen.map { inputs[$0] }
                lines = chosen.map { lines[$0] }
            }
            if !inputs.isEmpty {
                if !started {
                    starting()
                    started = true
                }
                sink.begin(lines: lines)
                if let executor {
                    try runFixed(task, inputs, executor, sink, counter, &chunks)
                } else if let mode = settings.mode {
                    // Never more workers than inputs, when the job is this one block.
                    let items = blocks == 0 && source.blocks.isFinished ? inputs.count : Int.max
                    let plan = ExecutionPlan(
                        mode: mode, workers: min(settings.workers, items), chunkSize: settings.chunk,
                        fetchWorkers: min(settings.fetchWorkers, items))
                    warnOfManyProcesses(plan)
                    let fixed = Executor(plan: plan, processes: settings.processes)
                    executor = fixed
                    summary = plan.summary
                    try runFixed(task, inputs, fixed, sink, counter, &chunks)
                } else {
                    let report = try runAuto(task, inputs, rules: rules, sink: sink, counter: counter)
                    summary = autoSummary(report)
                    // The blocks after this one run on the plan it ended on.
                    if let plan = report.endingPlan {
                        let processes = settings.processes
                        executor = Executor(
                            plan: plan,
                            processes: report.endingPlanRunsOnHosts
                                ? processes : processes.onThisMachine(workers: plan.workers))
                    }
                }
                ran += inputs.count
            }
            blocks += 1
            if sink.stop.isStopped { break }
            if let malformed = block.malformed { throw InputsEnded(failure: malformed) }
            next = try source.next()
        }
        if blocks > 1, settings.mode == nil {
            summary += "; the inputs read in \(blocks) blocks, those after the first on the plan it ended on"
        }
        return (summary, ran)
    }

    /// A staged task keeps its stages (its recorded form has none): its log lines have no times.
    /// A Python function's worker serves its call alone (no recorded form): its log lines have
    /// no times either.
    private var recorded: Bool {
        settings.recordsCalls && !(Task.self is any StagedTask.Type) && Task.self != PythonCall.self
    }

    private func runFixed(
        _ task: Task.Type, _ inputs: [Task.Input], _ executor: Executor, _ sink: JobSink<Task.Output>,
        _ counter: ProgressCounter, _ chunks: inout EncodedChunks<Task>?
    ) throws {
        // A command's outcome is judged (a non-zero exit is a failure) by the sink, one at a time.
        if !settings.recordsCalls, Task.self != ExternalCommand.self,
            executor.plan.mode == .threads || executor.plan.mode == .serial
        {
            let threads = executor.plan.mode == .threads
            let encoded =
                chunks.flatMap { ($0.pool != nil) == threads ? $0 : nil }
                ?? EncodedChunks(
                    pool: threads ? ThreadPool(workers: max(1, executor.plan.workers), name: "run") : nil,
                    chunkSize: executor.plan.chunkSize)
            chunks = encoded
            try encoded.run(inputs, progress: counter, stopping: sink.stop) { try sink.writeLines($0, count: $1) }
            return
        }
        if recorded {
            try executor.forEachResult(of: Recorded<Task>.self, inputs, progress: counter, stopping: sink.stop) {
                try sink.take($0, recorded: $1)
            }
        } else if settings.recordsCalls {
            try executor.forEachResult(of: task, inputs, progress: counter, stopping: sink.stop) {
                try sink.take($0, $1)
            }
        } else {
            try executor.forEachOutput(of: task, inputs, progress: counter, stopping: sink.stop) {
                try sink.take($0, .success($1))
            }
        }
    }

    private func runAuto(
        _ task: Task.Type, _ inputs: [Task.Input], rules: RuleSet, sink: JobSink<Task.Output>,
        counter: ProgressCounter
    ) throws -> AutoReport {
        var options = AutoExecutor.Options()
        options.processes = settings.processes
        if settings.workersGiven { options.maximumWorkers = settings.workers }
        if !settings.quiet {
            let clear = Terminal.isTerminal(.error) ? "\r\u{1B}[K" : ""
            options.onDecision = { [context] advice, plan in
                let starting = plan == ExecutionPlan(advice) ? "" : "; starting on \(plan.summary)"
                let why = advice.decidingRule?.reason.map { "\nwhy: \($0)" } ?? ""
                context.note("\(clear)decided: \(advice.summary)\(starting)\(why)\n")
                // Threads advised for a task that must run in workers (--timeout) become as
                // many worker processes.
                if let warning = Self.manyProcessesWarning(plan) { context.note(warning) }
            }
        }
        var advisor = Advisor(rules: rules, machine: try context.machine())
        advisor.hosts = settings.remoteHosts
        advisor.localWorkersWithHosts = settings.localWorkersWithHosts
        let auto = AutoExecutor(advisor: advisor, options: options)
        return
            recorded
            ? try auto.run(Recorded<Task>.self, inputs, progress: counter, stopping: sink.stop) {
                try sink.take($0, recorded: .success($1))
            }
            : try auto.run(task, inputs, progress: counter, stopping: sink.stop) { try sink.take($0, .success($1)) }
    }

    /// What the summary line says of an auto run: the advice (within `--workers`), the profiled
    /// inputs, and each switch.
    private func autoSummary(_ report: AutoReport) -> String {
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
        for kept in report.keptPlans {
            summary += "; at input \(kept.atIndex + 1): \(kept.reason)"
        }
        // A plan the advice does not name and no switch explains: every call in a worker
        // process (--timeout, a crash-prone task).
        if let ending = report.endingPlan, report.switches.isEmpty,
            let advice = report.recommendation, ending != ExecutionPlan(advice).limited(toWorkers: settings.workers),
            ending != ExecutionPlan(advice)
        {
            summary += "; ran on \(ending.summary), every call in a worker process"
        }
        return summary
    }

    /// More worker processes than the machine can run at once cost a start and memory each,
    /// and help only a task that waits (which threads serve more cheaply): said before they start.
    private func warnOfManyProcesses(_ plan: ExecutionPlan) {
        guard !settings.quiet, let warning = Self.manyProcessesWarning(plan) else { return }
        context.note(warning)
    }

    /// The warning for `plan`, when it starts more worker processes than four per core.
    private static func manyProcessesWarning(_ plan: ExecutionPlan) -> String? {
        let cores = Machine.usableCores
        let processes = plan.mode == .processes || (plan.mode == .pipeline && plan.computeStage == .processes)
        guard processes, plan.workers > 4 * cores else { return nil }
        return
            "warning: \(plan.workers) worker processes on \(cores) cores: each is a process to start with memory of its own, and more than the cores helps only a task that waits; threads serve waiting tasks more cheaply (--mode threads, or without --timeout)\n"
    }
}
