internal import Glibc
internal import PoolAdvisor
internal import PoolSystem
internal import Synchronization

/// `run --joblog FILE`: one tab-separated line per input, in the order outputs are written.
///
/// ```
/// line  start           seconds   worker       status  detail
/// 3     1764734400.123  0.012345  4242/4250    ok
/// 4     1764734400.125  0.000211  4242/4251    failed  invalid input -1
/// ```
///
/// `start` is seconds since the Unix epoch, `worker` the `pid/tid` that ran the call (`-` where
/// no call ran, as for a staged task's pipeline), `detail` the error's text on one line. A
/// success is logged only after its output was written, so a log that says `ok` never stands
/// for an output that was lost; `--resume` reads it back and runs only the other lines.
///
/// The file is created exclusively, or with `--resume`/`--retry-failed` opened to append
/// (never through a symbolic link, never replacing anything), and locked (`flock`) while the
/// job runs, so a second run of the same log is refused rather than repeating the first's work. Lines are written in batches,
/// each after the outputs it stands for, and all of them before the job ends or exits on a signal.
final class JobLog: Sendable {
    static let header = "line\tstart\tseconds\tworker\tstatus\tdetail"
    /// The longest line `--resume` reads (a detail is cut at 1,000 characters when written).
    static let longestLine = 1 << 16

    let path: String
    private let state: Mutex<State>
    /// Held while an output and its log line are added, and while a signal stops the job.
    private let pairing = Mutex<Void>(())

    private struct State: ~Copyable {
        var descriptor: Int32
        var buffer: [UInt8] = []
        /// Long ago at first, so the first line is written with the first output.
        var lastWrite = ContinuousClock.now - .seconds(1)
        var failure: String?
    }

    /// What one input's call came to.
    struct Entry {
        var line: Int
        var started: Double?
        var seconds: Double?
        var worker: String?
        var failure: String?
        /// The detail of a success (how many attempts it took).
        var note: String?
    }

    /// Opens the log: a new file, or with `appending`, an existing one to continue (a new one
    /// when there is none). A header starts a file that is empty.
    /// - Throws: ``CommandFailure`` naming the path, when it exists and `appending` is false,
    ///   is a link, a directory or another kind of file, or cannot be opened.
    init(path: String, appending: Bool) throws(CommandFailure) {
        self.path = path
        if !appending, let existing = try? Files.status(path, followingLinks: false) {
            guard existing.kind == .regular else { throw Self.notRegular(path) }
            throw CommandFailure(
                message:
                    "the job log '\(path)' already exists; add --resume to run only the inputs it does not record as done, or give another file"
            )
        }
        let descriptor: Int32
        do throws(SystemCallError) {
            descriptor =
                appending ? try Files.openForAppending(path) : try Files.createExclusive(path, permissions: 0o666)
        } catch {
            if error.errno == EISDIR { throw Self.notRegular(path) }
            throw CommandFailure(message: "cannot open the job log '\(path)': \(Self.why(error))")
        }
        let size: Int
        switch Self.prepare(descriptor, path: path) {
        case .success(let whole): size = whole
        case .failure(let failure):
            Descriptor.close(descriptor)
            if !appending { try? Files.remove(path) }
            throw failure
        }
        state = Mutex(State(descriptor: descriptor))
        if size == 0 { state.withLock { $0.buffer = Array((Self.header + "\n").utf8) } }
    }

    /// Checks the open log and makes it ready to append to: a regular file, locked (`flock`)
    /// against a second run of the same log, that is empty or starts with the header (anything
    /// else is left as it is), without a last line cut short (a crash mid-write: dropped, so the
    /// next line is not glued to it; its input was not recorded and runs again). Returns the
    /// size it then has.
    private static func prepare(_ descriptor: Int32, path: String) -> Result<Int, CommandFailure> {
        do throws(SystemCallError) {
            let status = try Files.status(of: descriptor)
            guard status.kind == .regular else { return .failure(notRegular(path)) }
            do throws(SystemCallError) {
                try Files.lockExclusively(descriptor)
            } catch  where error.errno == EWOULDBLOCK {
                return .failure(
                    CommandFailure(
                        message:
                            "the job log '\(path)' is in use by another run; wait for it to end, or give another --joblog"
                    ))
            } catch {
                // A file system without locks (ENOLCK, EOPNOTSUPP): the log works unlocked.
            }
            // A new log (created for writing only) has nothing to check.
            if status.size == 0 { return .success(0) }
            let expected = Array((header + "\n").utf8)
            let wanted = min(status.size, expected.count)
            let start = try Files.bytes(descriptor, count: wanted, at: 0)
            guard start.count == wanted, start.elementsEqual(expected.prefix(wanted)) else {
                return .failure(
                    CommandFailure(
                        message:
                            "'\(path)' is not a job log written by 'run --joblog' (its first line is not the header); it was left as it is: give the job log's path"
                    ))
            }
            guard let whole = try Files.sizeOfWholeLines(descriptor, scanningAtMost: longestLine + 1) else {
                return .failure(
                    CommandFailure(
                        message:
                            "the job log '\(path)' ends in a line longer than any it writes; it was left as it is: give the job log's path"
                    ))
            }
            if whole < status.size { try Files.truncate(descriptor, to: whole) }
            return .success(whole)
        } catch {
            return .failure(CommandFailure(message: "cannot open the job log '\(path)': \(error.reason)"))
        }
    }

    static func notRegular(_ path: String) -> CommandFailure {
        CommandFailure(
            message: "the job log '\(path)' is a directory, a link or a special file; give the name of a regular file")
    }

    deinit { state.withLock { Descriptor.close($0.descriptor) } }

    /// The first of `paths` that names this log's file (the same device and inode, through
    /// any link), or nil.
    func sameFile(as paths: [String]) -> String? {
        guard let opened = state.withLock({ try? Files.status(of: $0.descriptor) }) else { return nil }
        return paths.first { path in
            guard let named = try? Files.status(path) else { return false }
            return named.device == opened.device && named.inode == opened.inode
        }
    }

    /// Removes the file this log just created, before anything was written to it (the job
    /// could not start): it is still the empty file opened here, or it is left alone.
    func removeUnused() {
        state.withLock { state in
            guard let named = try? Files.status(path, followingLinks: false),
                let opened = try? Files.status(of: state.descriptor),
                named.device == opened.device, named.inode == opened.inode, opened.size == 0
            else { return }
            try? Files.remove(path)
            state.buffer.removeAll()
        }
    }

    private static func why(_ error: SystemCallError) -> String {
        error.errno == ELOOP ? "it is a symbolic link; give the file it points to" : error.reason
    }

    /// Runs `body` (an output written and its line added) so that ``stopForSignal(_:)`` sees
    /// both or neither.
    func exclusively(_ body: () throws -> Void) throws {
        try pairing.withLock { _ throws in try body() }
    }

    /// On a signal, between two outputs: runs `stop` (which writes out the outputs, stops the
    /// writer and says whether every output reached its file), then writes out the log only if
    /// they all did (a log line must never stand for a lost output); returns what `stop` said.
    func stopForSignal(_ stop: () -> (place: String, wroteEverything: Bool)) -> String {
        pairing.withLock { _ in
            let (place, whole) = stop()
            if whole { try? flush() }
            return place
        }
    }

    /// Adds an input's line; returns true when lines have waited long enough (64 kB or 0.2 s)
    /// that the caller should write out the outputs they stand for and then call ``flush()``.
    func add(_ entry: Entry) -> Bool {
        let line = Self.format(entry)
        return state.withLock { state in
            state.buffer.append(contentsOf: line.utf8)
            return state.buffer.count >= 1 << 16 || ContinuousClock.now - state.lastWrite > .milliseconds(200)
        }
    }

    /// Writes out the lines added so far.
    /// - Throws: ``CommandFailure`` when the file cannot be written (the disk is full).
    func flush() throws(CommandFailure) {
        let failure: String? = state.withLock { state in
            defer { state.lastWrite = .now }
            guard !state.buffer.isEmpty, state.failure == nil else { return state.failure }
            do throws(SystemCallError) {
                try Descriptor.writeAll(state.descriptor, state.buffer)
                state.buffer.removeAll(keepingCapacity: true)
                return nil
            } catch {
                state.failure = error.reason
                return error.reason
            }
        }
        if let failure { throw CommandFailure(message: "cannot write the job log '\(path)': \(failure)") }
    }

    /// `text` on one line of at most 1,000 bytes: every control character (tab, CR, LF, …) a
    /// space, cut on a character boundary. Scalars, not characters: Swift's "\r\n" is one
    /// character, equal to neither "\r" nor "\n".
    static func oneLine(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var bytes = 0
        for scalar in text.unicodeScalars {
            let clean: Unicode.Scalar = scalar.value < 0x20 || scalar.value == 0x7F ? " " : scalar
            bytes += UTF8.width(clean)
            if bytes > 1_000 { break }
            scalars.append(clean)
        }
        return String(scalars)
    }

    /// One log line, its detail on one line and at most 1,000 bytes.
    static func format(_ entry: Entry) -> String {
        let start = entry.started.map { NumberText.fixed($0, decimals: 3) } ?? "-"
        let seconds = entry.seconds.map { NumberText.fixed($0, decimals: 6) } ?? "-"
        let detail = entry.failure.map(Self.oneLine)
        let note = entry.note.map(Self.oneLine) ?? ""
        return
            "\(entry.line)\t\(start)\t\(seconds)\t\(entry.worker ?? "-")\t\(detail == nil ? "ok" : "failed")\t\(detail ?? note)\n"
    }
}
