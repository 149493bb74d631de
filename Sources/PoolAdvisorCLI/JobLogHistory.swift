internal import Glibc
internal import PoolSystem

/// What earlier runs wrote in a job log: the input lines that succeeded, and those that failed
/// and never succeeded since. `--resume` runs every line not succeeded; `--retry-failed` only
/// the failed ones.
struct JobLogHistory: Equatable {
    var succeeded = LineSet()
    var failed = LineSet()
    /// The largest input line the log names (0 for none), and the log's line that names it.
    var largestLine = 0
    var largestLineEntry = 0

    /// The error for a log that names more input lines than the inputs file has.
    func checkLines(of path: String, inputLines: Int) throws(CommandFailure) {
        guard largestLine > inputLines else { return }
        throw Self.failure(
            path, largestLineEntry, "it names input line \(largestLine), but the inputs file has \(inputLines) lines")
    }

    /// An error naming `path:line` of a log and what is wrong with it.
    static func failure(_ path: String, _ line: Int, _ why: String) -> CommandFailure {
        CommandFailure(
            message:
                "\(path):\(line): \(why); is it a job log written by 'run --joblog'? Give another --joblog file, or remove this one to run every input"
        )
    }

    /// Whether `lines` has a line the log has no record of (never run, or cut off by a stop).
    func leavesUnrecorded(_ lines: [Int]) -> Bool {
        lines.contains { !succeeded.contains($0) && !failed.contains($0) }
    }

    /// Reads the log at `path`, checking each line; a missing file is an empty history.
    ///
    /// Memory is bounded by `lastLine` (a larger line number is an error) and each
    /// line by ``JobLog/longestLine``; a last line without its newline (a write cut short by a
    /// crash) is ignored, so its input runs again.
    /// - Throws: ``CommandFailure`` naming `path:line` and what is wrong with it.
    static func read(_ path: String, lastLine: Int) throws(CommandFailure) -> JobLogHistory {
        let descriptor: Int32
        do throws(SystemCallError) {
            descriptor = try Files.openForReading(path, followingLinks: false, nonBlocking: true)
        } catch {
            if error.isMissingFile { return JobLogHistory() }
            let why = error.errno == ELOOP ? "it is a symbolic link; give the file it points to" : error.reason
            throw CommandFailure(message: "cannot read the job log '\(path)': \(why)")
        }
        defer { Descriptor.close(descriptor) }
        guard (try? Files.status(of: descriptor).kind) == .regular else {
            throw JobLog.notRegular(path)
        }
        var parser = Parser(path: path, lastLine: lastLine)
        var offset = 0
        while true {
            let chunk: [UInt8]
            do throws(SystemCallError) {
                chunk = try Files.bytes(descriptor, count: 1 << 20, at: offset)
            } catch {
                throw CommandFailure(message: "cannot read the job log '\(path)': \(error.reason)")
            }
            if chunk.isEmpty { break }
            offset += chunk.count
            try parser.consume(chunk[...])
        }
        return parser.history
    }

    /// Splits bytes into lines and reads each.
    private struct Parser {
        let path: String
        let lastLine: Int
        var history = JobLogHistory()
        var pending: [UInt8] = []
        var number = 0

        init(path: String, lastLine: Int) {
            self.path = path
            self.lastLine = lastLine
        }

        mutating func consume(_ bytes: ArraySlice<UInt8>) throws(CommandFailure) {
            var start = bytes.startIndex
            while let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
                pending.append(contentsOf: bytes[start..<end])
                try line(pending)
                pending.removeAll(keepingCapacity: true)
                start = end + 1
            }
            pending.append(contentsOf: bytes[start...])
            if pending.count > JobLog.longestLine {
                throw failure(number + 1, "a line longer than \(JobLog.longestLine) bytes")
            }
        }

        private func failure(_ line: Int, _ why: String) -> CommandFailure { JobLogHistory.failure(path, line, why) }

        private mutating func line(_ bytes: [UInt8]) throws(CommandFailure) {
            number += 1
            let text = String(decoding: bytes, as: UTF8.self)
            if number == 1 {
                guard text == JobLog.header else { throw failure(1, "not the job log's header line") }
                return
            }
            let fields = text.split(separator: "\t", maxSplits: 5, omittingEmptySubsequences: false)
            guard fields.count == 6, let line = Int(fields[0]), line >= 1 else {
                throw failure(number, "not a line of six tab-separated fields starting with an input line number")
            }
            guard line <= lastLine else {
                throw failure(number, "it names input line \(line), past the \(lastLine) lines an inputs file may have")
            }
            if line > history.largestLine { (history.largestLine, history.largestLineEntry) = (line, number) }
            switch fields[4] {
            case "ok":
                history.succeeded.insert(line)
                history.failed.remove(line)
            case "failed":
                if !history.succeeded.contains(line) { history.failed.insert(line) }
            default:
                throw failure(number, "its status is '\(fields[4].prefix(40))', neither ok nor failed")
            }
        }
    }
}

/// A set of input line numbers, one bit each: a resumed job of ten million lines holds 1.25 MB
/// per set, where a `Set<Int>` held hundreds of megabytes.
struct LineSet: Equatable {
    /// The largest line number a set holds: 2^28 lines, a 32 MiB set. A job log naming a larger
    /// one is refused before the inputs are counted.
    static let largestLine = 1 << 28

    private var words: [UInt64] = []
    /// How many lines are in the set.
    private(set) var count = 0

    func contains(_ line: Int) -> Bool {
        guard line >= 0, line >> 6 < words.count else { return false }
        return words[line >> 6] & (1 << UInt64(line & 63)) != 0
    }

    /// Adds `line` (at least 0; the caller bounds it by the inputs' line count).
    mutating func insert(_ line: Int) {
        precondition(line >= 0, "line numbers are not negative")
        if line >> 6 >= words.count { words.append(contentsOf: repeatElement(0, count: (line >> 6) + 1 - words.count)) }
        let bit: UInt64 = 1 << UInt64(line & 63)
        if words[line >> 6] & bit == 0 { count += 1 }
        words[line >> 6] |= bit
    }

    mutating func remove(_ line: Int) {
        guard contains(line) else { return }
        words[line >> 6] &= ~(1 << UInt64(line & 63))
        count -= 1
    }
}
