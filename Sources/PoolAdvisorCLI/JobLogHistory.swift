internal import Glibc
internal import PoolSystem

/// What earlier runs wrote in a job log: the input lines that succeeded, and those that failed
/// and never succeeded since. `--resume` runs every line not succeeded; `--retry-failed` only
/// the failed ones.
struct JobLogHistory: Equatable {
    var succeeded: Set<Int> = []
    var failed: Set<Int> = []

    /// Whether `lines` has a line the log has no record of (never run, or cut off by a stop).
    func leavesUnrecorded(_ lines: [Int]) -> Bool {
        lines.contains { !succeeded.contains($0) && !failed.contains($0) }
    }

    /// Reads the log at `path`, checking each line; a missing file is an empty history.
    ///
    /// Memory is bounded by the inputs (line numbers above `lastLine` are an error) and each
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

        private func failure(_ line: Int, _ why: String) -> CommandFailure {
            CommandFailure(
                message:
                    "\(path):\(line): \(why); is it a job log written by 'run --joblog'? Give another --joblog file, or remove this one to run every input"
            )
        }

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
                throw failure(number, "it names input line \(line), but the inputs file has \(lastLine) lines")
            }
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
