internal import Foundation
internal import PoolSystem
internal import Synchronization

/// Where `run` writes its JSON Lines, as the outputs arrive in input order: standard output, a
/// new file that takes its name only once the job succeeded, or a device or FIFO written in place.
///
/// Lines are buffered and written out every 64 kB, or with the first output that arrives 0.2 s
/// after the last write, so a long job's outputs appear as it goes without a system call per
/// line. A regular file is written as `FILE.partial` and renamed to `FILE` at the end: a reader
/// never takes a half-written file for a finished one, and after a failure the outputs already
/// computed are still there, under the partial name.
///
/// Files it did not create are never replaced or written through a link: the target is
/// checked before any work (a directory, a symbolic link to a regular file or an unwritable
/// file is an error then, not after the job), and `FILE.partial` is created exclusively,
/// never through a symbolic link; if it already exists the job does not start.
///
/// The writer is shared with the signal watcher (``Interruption``), which writes out the
/// buffered lines and stops the writer before the process exits.
final class OutputWriter: Sendable {
    /// Where the lines go.
    enum Destination: Equatable {
        case standardOutput
        /// A regular file written as `partial` and renamed to `path` at the end.
        case file(path: String, partial: String)
        /// A device or FIFO (or a link to one), written where it is and never replaced.
        case inPlace(path: String)
    }

    let destination: Destination
    /// True when the file held an earlier run's outputs: it is never removed, even if this run
    /// writes nothing.
    let continuesEarlierOutputs: Bool
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var descriptor: Int32
        var encoder: JSONEncoder
        var buffer: [UInt8] = []
        /// Outputs accepted, and outputs whose lines reached the descriptor.
        var accepted = 0
        var written = 0
        /// Long ago at first, so the first output is written at once.
        var lastWrite = ContinuousClock.now - .seconds(1)
        /// Set once the job ended or a signal stopped it; nothing is written after.
        var renamed = false
        var stopped = false
    }

    /// The file the outputs go to, or nil for standard output.
    var path: String? {
        switch destination {
        case .standardOutput: nil
        case .file(let path, _), .inPlace(let path): path
        }
    }

    /// The partial file's name while the job runs (regular files only).
    var partialPath: String? {
        if case .file(_, let partial) = destination { return partial }
        return nil
    }

    /// Outputs accepted so far.
    var count: Int { state.withLock { $0.accepted } }

    /// Checks and opens the destination; nothing has run yet when this throws.
    /// - Throws: ``CommandFailure`` naming the path and how to fix it.
    /// - Parameter continuing: `--resume`: append to the outputs an earlier run left in
    ///   `FILE.partial` (it stopped) or `FILE` (it finished; moved to `FILE.partial` while this
    ///   run appends), instead of refusing them.
    init(path: String?, continuing: Bool = false) throws(CommandFailure) {
        let encoder = Self.makeEncoder()
        guard let path else {
            destination = .standardOutput
            continuesEarlierOutputs = false
            state = Mutex(State(descriptor: OutputFiles.standardOutput, encoder: encoder))
            return
        }
        var continued: (Destination, Int32)?
        if continuing { continued = try Self.continueEarlier(path) }
        let (destination, descriptor): (Destination, Int32)
        if let continued {
            (destination, descriptor) = continued
        } else {
            (destination, descriptor) = try Self.open(path)
        }
        self.destination = destination
        continuesEarlierOutputs = continued != nil
        state = Mutex(State(descriptor: descriptor, encoder: encoder))
        state.withLock { $0.buffer.reserveCapacity(1 << 16) }
    }

    deinit {
        let descriptor = state.withLock { $0.descriptor }
        if path != nil { OutputFiles.close(descriptor) }
    }

    /// Decides how `path` is written and opens it: the checks that make a bad target fail
    /// before any work, and never replace what this program did not create.
    private static func open(_ path: String) throws(CommandFailure) -> (Destination, Int32) {
        func failure(_ why: String) -> CommandFailure {
            CommandFailure(message: "cannot write the output file '\(path)': \(why)")
        }
        switch OutputFiles.kind(path) {
        case .directory:
            throw failure("it is a directory; give a file name (for example '\(path)/outputs.jsonl')")
        case .symbolicLink:
            switch OutputFiles.finalKind(path) {
            case .special: return try inPlace(path)
            case .directory: throw failure("it is a symbolic link to a directory; give a file name")
            case .unreadable(let why): throw failure("it is a symbolic link that cannot be followed (\(why))")
            case .missing, .regular, .symbolicLink:
                throw failure(
                    "it is a symbolic link, which would be replaced; give the path it points to, or remove the link")
            }
        case .special:
            return try inPlace(path)
        case .unreadable(let why):
            throw failure(why)
        case .regular where !OutputFiles.isWritable(path):
            throw failure("\(OutputFiles.lastErrorText); change its permissions or choose another name")
        case .regular, .missing:
            let partial = path + ".partial"
            let descriptor = OutputFiles.createExclusive(partial)
            guard descriptor >= 0 else {
                // The create's own error, read before the look at the path resets errno.
                let why = OutputFiles.lastErrorText
                if case .missing = OutputFiles.kind(partial) {
                    throw failure("cannot create '\(partial)': \(why)")
                }
                throw failure(
                    "'\(partial)' already exists (the outputs of an earlier run that stopped?); move or remove it, then run again"
                )
            }
            return (.file(path: path, partial: partial), descriptor)
        }
    }

    /// The earlier run's outputs to append to, as `FILE.partial` (renamed to `FILE` at the end
    /// as usual): the partial file if it is there, else `FILE` moved to that name first, so a
    /// reader never takes the file for finished while more is appended; nil when there are none.
    private static func continueEarlier(_ path: String) throws(CommandFailure) -> (Destination, Int32)? {
        let partial = path + ".partial"
        func failure(_ why: String) -> CommandFailure {
            CommandFailure(
                message: "cannot continue the output file '\(partial)': \(why); move it away to start a new one")
        }
        if OutputFiles.kind(partial) != .regular {
            guard OutputFiles.kind(path) == .regular, OutputFiles.kind(partial) == .missing else { return nil }
            if let why = OutputFiles.rename(path, to: partial) {
                throw failure("'\(path)' could not take that name (\(why))")
            }
        }
        let descriptor = OutputFiles.openForAppending(partial)
        guard descriptor >= 0 else { throw failure(OutputFiles.lastErrorText) }
        // A last line cut short (a crash, a full disk) goes: its input is not logged as done
        // and runs again.
        if let why = OutputFiles.endWithWholeLine(descriptor) {
            OutputFiles.close(descriptor)
            throw failure(why)
        }
        return (.file(path: path, partial: partial), descriptor)
    }

    /// Opens a device or FIFO where it is; refuses what turned out to be a regular file.
    private static func inPlace(_ path: String) throws(CommandFailure) -> (Destination, Int32) {
        let descriptor = OutputFiles.openInPlace(path)
        guard descriptor >= 0 else {
            throw CommandFailure(message: "cannot write the output file '\(path)': \(OutputFiles.lastErrorText)")
        }
        guard case .special = OutputFiles.kind(of: descriptor) else {
            OutputFiles.close(descriptor)
            throw CommandFailure(message: "cannot write the output file '\(path)': it changed while it was opened")
        }
        return (.inPlace(path: path), descriptor)
    }

    /// Adds one output line; returns true when this call wrote the buffered lines out.
    @discardableResult
    func write<Output: Encodable>(_ output: Output) throws -> Bool {
        let (flushed, failure): (Bool, CommandFailure?) = try state.withLock { state in
            if state.stopped { Self.waitForExit() }
            if !JSONScalars.append(output, to: &state.buffer) {
                state.buffer.append(contentsOf: try state.encoder.encode(output))
            }
            state.buffer.append(UInt8(ascii: "\n"))
            state.accepted += 1
            guard state.buffer.count >= 1 << 16 || ContinuousClock.now - state.lastWrite > .milliseconds(200) else {
                return (false, nil)
            }
            return (true, flush(&state))
        }
        if let failure { throw failure }
        return flushed
    }

    /// Adds `count` output lines encoded elsewhere (each ending in a newline); returns true when
    /// this call wrote the buffered lines out.
    @discardableResult
    func writeLines(_ lines: [UInt8], count: Int) throws -> Bool {
        let (flushed, failure): (Bool, CommandFailure?) = state.withLock { state in
            if state.stopped { Self.waitForExit() }
            state.buffer.append(contentsOf: lines)
            state.accepted += count
            guard state.buffer.count >= 1 << 16 || ContinuousClock.now - state.lastWrite > .milliseconds(200) else {
                return (false, nil)
            }
            return (true, flush(&state))
        }
        if let failure { throw failure }
        return flushed
    }

    /// The encoder of every output line: sorted keys (stable lines to compare), slashes as they are.
    static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// True when every accepted output reached the file.
    var wroteEverything: Bool { state.withLock { $0.written == $0.accepted && $0.buffer.isEmpty } }

    /// Writes out what is buffered.
    func flush() throws(CommandFailure) {
        if let failure = state.withLock({ flush(&$0) }) { throw failure }
    }

    private func flush(_ state: inout State) -> CommandFailure? {
        defer { state.lastWrite = .now }
        guard !state.buffer.isEmpty else { return nil }
        let failure = OutputFiles.writeAll(state.buffer, to: state.descriptor)
        state.buffer.removeAll(keepingCapacity: true)
        guard let failure else {
            state.written = state.accepted
            return nil
        }
        if let path {
            return CommandFailure(message: "cannot write the output file '\(path)': \(failure)")
        }
        return CommandFailure(message: "standard output was closed (\(failure)); the job stopped")
    }

    /// Writes out the rest and gives the file its name (unless `keepingPartialName`: the job
    /// is not whole yet).
    func finish(keepingPartialName: Bool = false) throws(CommandFailure) {
        let failure: CommandFailure? = state.withLock { state in
            if state.stopped { Self.waitForExit() }
            if let failure = flush(&state) { return failure }
            guard case .file(let path, let partial) = destination, !keepingPartialName else { return nil }
            // Renaming over a link or directory that appeared meanwhile would replace it.
            switch OutputFiles.kind(path) {
            case .missing, .regular: break
            default:
                return CommandFailure(
                    message:
                        "'\(path)' was replaced by a link or special file during the job; the outputs are in '\(partial)'"
                )
            }
            if let failure = OutputFiles.rename(partial, to: path) {
                return CommandFailure(message: "cannot rename '\(partial)' to '\(path)': \(failure)")
            }
            state.renamed = true
            return nil
        }
        if let failure { throw failure }
    }

    /// After a failure: writes out the outputs accepted, and says where they are.
    /// - Parameter drained: whether outputs that finished behind the failure were written too
    ///   (a job halted through its stop), so they are not all "before it".
    /// - Returns: a sentence for the error message, or nil when nothing was written.
    func keepWhatWasWritten(drained: Bool = false) -> String? {
        let written = state.withLock { state in
            if state.stopped { Self.waitForExit() }
            _ = flush(&state)
            if state.written == 0, !continuesEarlierOutputs, let partial = partialPath,
                OutputFiles.isSameFile(partial, as: state.descriptor)
            {
                OutputFiles.remove(partial)
            }
            return state.written
        }
        guard written > 0 else { return nil }
        let which = drained ? "finished outputs (those that finished behind it included)" : "outputs before it"
        return "the \(written) \(which) are in \(place(finished: false))"
    }

    /// For a signal: writes out every output accepted so far, stops the writer for good (a
    /// later call from the job blocks until the process exits) and says where the outputs are.
    func stopForSignal() -> String { stopForSignalReportingWhole().place }

    /// ``stopForSignal()``, also saying whether every accepted output reached the file, read
    /// in the same locked step (once stopped, the writer's lock may be held by a job thread
    /// parked for the exit).
    func stopForSignalReportingWhole() -> (place: String, wroteEverything: Bool) {
        state.withLock { state in
            let place = stop(&state)
            return (place, state.written == state.accepted && state.buffer.isEmpty)
        }
    }

    private func stop(_ state: inout State) -> String {
        let failure = flush(&state)
        let renamed = state.renamed
        state.stopped = true
        if state.written == 0, !renamed, !continuesEarlierOutputs, let partial = partialPath,
            OutputFiles.isSameFile(partial, as: state.descriptor)
        {
            OutputFiles.remove(partial)
            return "no output had finished; '\(partial)' was removed"
        }
        let counted = "\(state.written) finished output\(state.written == 1 ? " is" : "s are")"
        if let failure {
            return "\(counted) in \(place(finished: renamed)); writing the rest failed: \(failure.message)"
        }
        return "the \(counted) in \(place(finished: renamed))"
    }

    /// `'FILE.partial'`, `'FILE'` or `standard output`.
    private func place(finished: Bool) -> String {
        switch destination {
        case .standardOutput: "standard output"
        case .file(let path, let partial): "'\(finished ? path : partial)'"
        case .inPlace(let path): "'\(path)'"
        }
    }

    /// Parks the job's thread once a signal stopped the writer: the watcher is exiting.
    private static func waitForExit() -> Never {
        while true { Sleep.seconds(60) }
    }
}
