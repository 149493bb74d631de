internal import PoolAdvisor

/// Where `run` puts each input's outcome, in input order: its output line (tagged with its
/// input line under `--tag`), its job log line once the output is written, and the failure
/// count. Under `--halt now` the first failure stops the job through ``stop``: no more inputs
/// start, and the outcomes of those already running still arrive here and are written and
/// logged (a `--resume` would otherwise run them again); ``halted`` is then thrown by `run`.
///
/// Used on the one thread that receives the outcomes in order; the writer and the log are
/// shared with the signal watcher, which writes out the outputs first and the log after them.
final class JobSink<Output: Codable & Sendable> {
    private let writer: OutputWriter
    private let log: JobLog?
    /// The input line of each input of the block that runs, by its index in the block.
    private var lines: [Int] = []
    private let tag: Bool
    private let halt: RunCommand.Halt
    private let judge: (Output) -> String?
    private(set) var failures = 0
    private(set) var firstFailure: (line: Int, text: String)?
    /// What stops the job: the first failure under `--halt now`, or a signal.
    let stop: JobStop
    /// The failure that stopped the job under `--halt now`, once one did.
    private(set) var halted: Halted?

    /// The failure that stopped the job under `--halt now`.
    struct Halted: Error {
        var line: Int
        var text: String
    }

    /// The next block of the job: the input line of each of its inputs, by index.
    func begin(lines: [Int]) { self.lines = lines }

    /// `--tag`'s line: the input's line number with its output, or the error of a failed input.
    private struct Tagged: Encodable {
        var line: Int
        var output: Output?
        var error: String?
    }

    init(
        writer: OutputWriter, log: JobLog?, tag: Bool, halt: RunCommand.Halt, stop: JobStop,
        judge: @escaping (Output) -> String?
    ) {
        self.stop = stop
        self.writer = writer
        self.log = log
        self.tag = tag
        self.halt = halt
        self.judge = judge
    }

    /// The outcome of input `index`: an output (which `judge` may call a failure) or an error.
    func take(_ index: Int, _ result: Result<Output, any Error>) throws {
        switch result {
        case .success(let output): try take(index, output: output, failure: judge(output), call: nil)
        case .failure(let error): try take(index, output: nil, failure: "\(error)", call: nil)
        }
    }

    /// The outcome of input `index` run in its recorded form, with when, how long and where; an
    /// error here is the worker's (a crash, a timeout, a value that could not be coded).
    func take(_ index: Int, recorded result: Result<RecordedCall<Output>, any Error>) throws {
        switch result {
        case .success(let call):
            try take(index, output: call.output, failure: call.failure ?? call.output.flatMap(judge), call: call)
        case .failure(let error):
            try take(index, output: nil, failure: "\(error)", call: nil)
        }
    }

    private func take(_ index: Int, output: Output?, failure: String?, call: RecordedCall<Output>?) throws {
        let line = lines[index]
        if let log {
            // With a log, an output and its log line are one step for the signal watcher: it
            // never sees an output without its line (rerun by --resume) or the reverse.
            try log.exclusively { try record(line, output, failure, call, in: log) }
        } else {
            try write(line, output, failure)
        }
        guard let failure else { return }
        failures += 1
        if firstFailure == nil { firstFailure = (line, failure) }
        if halt == .now, halted == nil {
            halted = Halted(line: line, text: failure)
            stop.stop()
        }
    }

    /// Writes an input's output line (tagged, or the output alone; none for an untagged
    /// failure); returns true when the writer wrote its buffered lines out.
    @discardableResult
    private func write(_ line: Int, _ output: Output?, _ failure: String?) throws -> Bool {
        if tag, let json = output as? JSONText {
            // A Python function's result is JSON already: it goes in as it is, not as a string.
            return try writer.write(JSONText("{\"line\":\(line),\"output\":\(json.text)}"))
        }
        if tag { return try writer.write(Tagged(line: line, output: output, error: failure)) }
        guard let output else { return false }
        return try writer.write(output)
    }

    /// Writes an input's output and adds its log line.
    private func record(
        _ line: Int, _ output: Output?, _ failure: String?, _ call: RecordedCall<Output>?, in log: JobLog
    ) throws {
        let flushed = try write(line, output, failure)
        var entry = JobLog.Entry(
            line: line, started: call?.started, seconds: call?.seconds, worker: call?.worker, failure: failure)
        if let attempts = call?.attempts, attempts > 1 {
            entry.failure = failure.map { "after \(attempts) attempts: \($0)" }
            entry.note = failure == nil ? "succeeded on attempt \(attempts)" : nil
        }
        // When the outputs went out, their lines follow at once (a kill in between costs a
        // rerun of those inputs, never a lost output); otherwise every 64 kB or 0.2 s.
        if log.add(entry) || flushed {
            try writer.flush()
            try log.flush()
        }
    }

    /// Writes `count` outputs encoded elsewhere, in order (the plain path: no log, no tag).
    func writeLines(_ lines: [UInt8], count: Int) throws { try writer.writeLines(lines, count: count) }

    /// Writes out the rest: the outputs (the file takes its name unless `keepingPartialName`),
    /// then the log.
    func finish(keepingPartialName: Bool) throws {
        try writer.finish(keepingPartialName: keepingPartialName)
        try log?.flush()
    }

    /// What to report for a job that stopped with `error`: the outputs before it are written
    /// out, and the log with them (when every output it names reached the file).
    /// - Returns: a ``CommandFailure`` naming `inputsPath:line` and where the outputs are, or
    ///   `error` itself when it names no input.
    func failure(_ error: any Error, inputsPath: String, commands: Bool) -> any Error {
        var message: String?
        switch error {
        case let halted as Halted:
            message =
                commands
                ? "\(inputsPath):\(halted.line): the command \(halted.text)"
                : "\(inputsPath):\(halted.line): the task failed: \(halted.text)"
        case let ended as InputsEnded:
            message = ended.failure.message
        case let failure as MapError:
            let line = lines[failure.index]
            _ = log?.add(JobLog.Entry(line: line, failure: "\(failure.error)"))
            let stage = failure.stage.map { " in its \($0.rawValue) stage" } ?? ""
            message = "\(inputsPath):\(line): the task failed\(stage): \(failure.error)"
        default:
            break
        }
        let kept = writer.keepWhatWasWritten(drained: error is Halted).map { "; \($0)" } ?? ""
        if writer.wroteEverything { try? log?.flush() }
        guard let message else { return error }
        return CommandFailure(message: message + kept)
    }
}

/// A malformed line that ended `run`'s inputs, after the inputs before it ran.
struct InputsEnded: Error {
    var failure: CommandFailure
}
