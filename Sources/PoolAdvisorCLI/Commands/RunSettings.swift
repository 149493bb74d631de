internal import PoolAdvisor

extension RunCommand {
    /// What `run`'s options ask for, checked against each other before any input is read.
    struct RunSettings {
        var inputsPath: String
        /// nil: auto.
        var mode: DecisionMode?
        /// A fixed mode's threads or processes; auto's limit when given.
        var workers: Int
        var workersGiven: Bool
        var chunk: Int?
        var fetchWorkers: Int
        var fetchWorkersGiven: Bool
        var rules: String?
        var output: String?
        var quiet: Bool
        /// Longest a call may run (processes only).
        var timeout: CallTimeout?
        /// The limit `--timeout P%` sets as calls succeed (the workers' pool moves it).
        let relativeTimeout: TaskTimeLimit?
        var jobLog: String?
        var rerun: Rerun
        var halt: Halt
        var tag: Bool
        /// Further attempts for a failing call (`--retries`), 0 without.
        var retries: Int
        /// Where the workers run (`--ssh`, `--hosts`); empty: this machine.
        var hosts: [WorkerHost] = []
        /// The other hosts among them with their measured costs, for the advisor (auto mode).
        var remoteHosts: [RemoteHost] = []
        /// Workers on this machine among the hosts (`N/:`), 0 when it is not listed.
        var localWorkersWithHosts = 0
        /// A Python function's workers (`--python`), made once its script is written out.
        var pythonWorkers: ProcessPool.Configuration?

        /// Which inputs run: all of them, or those an earlier run's job log did not finish.
        enum Rerun: Equatable {
            case everything
            /// `--resume`: every input without a recorded success.
            case unfinished
            /// `--retry-failed`: only the inputs recorded as failed.
            case failed
        }

        init(_ parsed: ParsedArguments, inputsPath: String, runsCommands: Bool) throws(UsageError) {
            let cores = Machine.usableCores
            self.inputsPath = inputsPath
            mode = try parsed.value(RunCommand.mode, default: nil)
            workersGiven = try parsed.value(RunCommand.workers) != nil
            workers = try parsed.value(RunCommand.workers, default: cores)
            chunk = try parsed.value(RunCommand.chunk)
            fetchWorkersGiven = try parsed.value(RunCommand.fetchWorkers) != nil
            fetchWorkers = try parsed.value(RunCommand.fetchWorkers, default: 4 * cores)
            rules = try parsed.value(RunCommand.rules)
            output = try parsed.value(RunCommand.output)
            quiet = parsed.has(RunCommand.quiet)
            timeout = try parsed.value(RunCommand.timeout)
            if case .percentOfMedian(let percent)? = timeout {
                relativeTimeout = .percentOfMedian(percent)
            } else {
                relativeTimeout = nil
            }
            jobLog = try parsed.value(RunCommand.jobLog)
            halt = try parsed.value(RunCommand.halt, default: runsCommands ? .never : .now)
            tag = parsed.has(RunCommand.tag)
            retries = try parsed.value(RunCommand.retries, default: 0)
            switch (parsed.has(RunCommand.resume), parsed.has(RunCommand.retryFailed)) {
            case (true, true):
                throw UsageError(message: "give --resume or --retry-failed, not both", command: RunCommand.spec)
            case (true, false): rerun = .unfinished
            case (false, true): rerun = .failed
            case (false, false): rerun = .everything
            }
        }

        /// Rejects options that would be ignored or could not be honoured, saying what to give instead.
        func check(for task: any PoolTask.Type) throws(UsageError) {
            func usage(_ message: String) -> UsageError { UsageError(message: message, command: RunCommand.spec) }
            if rerun != .everything, jobLog == nil {
                let flag = rerun == .unfinished ? "--resume" : "--retry-failed"
                throw usage("\(flag) needs --joblog FILE: the job log of the run to continue")
            }
            if let jobLog, [output, output.map { $0 + ".partial" }, inputsPath].contains(jobLog) {
                throw usage("--joblog names the inputs or the output file; give the log a name of its own")
            }
            if retries > 0, !task.isIdempotent, task != ExternalCommand.self {
                throw usage(
                    "--retries runs a failing call again, and \(TaskCatalog.commandName(task)) is not declared idempotent (PoolTask.isIdempotent): a second call could repeat its effects; declare it, or leave --retries out"
                )
            }
            if retries > 0, task is any StagedTask.Type {
                throw usage(
                    "--retries runs a call again in its recorded form, which a staged task (fetch and compute stages) does not have; leave --retries out"
                )
            }
            if chunk != nil, mode == nil {
                throw usage(
                    "--chunk sizes a fixed mode's chunks and auto mode sizes its own: add --mode threads or --mode processes, or leave --chunk out"
                )
            }
            if fetchWorkersGiven, mode != .pipeline {
                throw usage("--fetch-workers sizes a pipeline's fetch stage: it applies only with --mode pipeline")
            }
            if mode == .pipeline, !(task is any StagedTask.Type) {
                throw usage(
                    "\(TaskCatalog.commandName(task)) has no fetch and compute stages, and a pipeline runs a StagedTask: use --mode threads for a task that waits, or --mode processes"
                )
            }
            if relativeTimeout != nil, task is any StagedTask.Type {
                throw usage(
                    "--timeout P% times each call against the median successful one, and a staged task's calls run as a pipeline that is not timed per call; give --timeout SECONDS"
                )
            }
            if !hosts.isEmpty, workersGiven {
                throw usage(
                    "--workers counts workers on this machine; with --ssh or --hosts give each host its count (N/host)")
            }
            if !hosts.isEmpty, let mode, mode != .processes {
                throw usage(
                    "--ssh and --hosts run worker processes on those hosts: use --mode processes, or auto (the default), which runs there when the advisor predicts they win"
                )
            }
            if timeout != nil, let mode, mode != .processes {
                throw usage(
                    "--timeout needs worker processes: a call on a thread cannot be stopped; use --mode processes, or auto (which then runs every call in workers)"
                )
            }
        }

        /// Each call runs in its recorded form (``Recorded``): its error is a value, its time
        /// and worker are known.
        var recordsCalls: Bool { jobLog != nil || halt == .never || tag || retries > 0 || relativeTimeout != nil }

        /// Worker settings: this executable, on the hosts given, with the task timeout if one
        /// was given.
        var processes: ProcessPool.Configuration {
            var configuration = pythonWorkers ?? ProcessPool.Configuration()
            if !hosts.isEmpty { configuration.hosts = hosts }
            if case .seconds(let seconds)? = timeout {
                configuration.taskTimeout = .nanoseconds(Int64((seconds * 1e9).rounded()))
            }
            configuration.adjustableTaskTimeout = relativeTimeout
            return configuration
        }
    }
}
