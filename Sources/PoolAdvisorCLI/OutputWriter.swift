internal import Foundation

/// Where `run` writes its JSON Lines, as the outputs arrive in input order: standard output, or
/// a file that takes its name only once the job succeeded.
///
/// Lines are buffered and written out every 64 kB, or with the first output that arrives 0.2 s
/// after the last write, so a long job's outputs appear as it goes without a system call per
/// line. A file is written as `FILE.partial` and renamed to `FILE` at the end: a reader never
/// takes a half-written file for a finished one, and after a failure the outputs already
/// computed are still there, under the partial name.
final class OutputWriter {
    /// The file the outputs go to, or nil for standard output.
    let path: String?
    /// Outputs accepted so far.
    private(set) var count = 0
    private let descriptor: Int32
    private let encoder: JSONEncoder
    private var buffer: [UInt8] = []
    /// Long ago at first, so the first output is written at once.
    private var lastWrite = ContinuousClock.now - .seconds(1)

    /// The partial file's name while the job runs.
    let partialPath: String?

    init(path: String?) throws(CommandFailure) {
        self.path = path
        partialPath = path.map { $0 + ".partial" }
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let path, let partial = partialPath {
            let opened = OutputFiles.create(partial)
            guard opened >= 0 else {
                throw CommandFailure(message: "cannot write the output file '\(path)': \(OutputFiles.lastErrorText)")
            }
            descriptor = opened
        } else {
            descriptor = OutputFiles.standardOutput
        }
        buffer.reserveCapacity(1 << 16)
    }

    deinit {
        if path != nil { OutputFiles.close(descriptor) }
    }

    /// Adds one output line.
    func write<Output: Encodable>(_ output: Output) throws {
        buffer.append(contentsOf: try encoder.encode(output))
        buffer.append(UInt8(ascii: "\n"))
        count += 1
        if buffer.count >= 1 << 16 || ContinuousClock.now - lastWrite > .milliseconds(200) { try flush() }
    }

    /// Writes out what is buffered.
    func flush() throws(CommandFailure) {
        defer { lastWrite = .now }
        guard !buffer.isEmpty else { return }
        let failure = OutputFiles.writeAll(buffer, to: descriptor)
        buffer.removeAll(keepingCapacity: true)
        guard let failure else { return }
        if let path {
            throw CommandFailure(message: "cannot write the output file '\(path)': \(failure)")
        }
        throw CommandFailure(message: "standard output was closed (\(failure)); the job stopped")
    }

    /// Writes out the rest and gives the file its name.
    func finish() throws(CommandFailure) {
        try flush()
        guard let path, let partial = partialPath else { return }
        if let failure = OutputFiles.rename(partial, to: path) {
            throw CommandFailure(message: "cannot rename '\(partial)' to '\(path)': \(failure)")
        }
    }

    /// After a failure: writes out the outputs accepted before it, and says where they are.
    /// - Returns: a sentence for the error message, or nil when nothing was written.
    func keepWhatWasWritten() -> String? {
        try? flush()
        guard count > 0 else {
            if let partial = partialPath { OutputFiles.remove(partial) }
            return nil
        }
        let place = partialPath.map { "'\($0)'" } ?? "standard output"
        return "the \(count) outputs before it are in \(place)"
    }
}
