import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("run on SIGINT and SIGTERM keeps every finished output", .serialized, .timeLimit(.minutes(10)))
struct InterruptTests {
    /// 400 inputs of about 20 ms each, run serially: 8 s in all, far more than the test needs.
    static let inputs = (0..<400).map { 20_000 + $0 }

    /// The whole lines of a file (a line still being written is not counted).
    static func lines(_ path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    @Test(
        "the outputs finished before the signal are all written, in order; stderr says how many and where",
        arguments: [(SIGINT, "SIGINT", true), (SIGTERM, "SIGTERM", false)])
    func signalKeepsOutputs(_ signal: Int32, _ name: String, _ toFile: Bool) throws {
        let scratch = try ScratchDirectory()
        let inputs = try scratch.file("in.jsonl", Self.inputs.map { "\($0)\n" }.joined())
        let stdoutPath = scratch.path + "/stdout"
        let stderrPath = scratch.path + "/stderr"
        let output = scratch.path + "/out.jsonl"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: commandPath)
        process.arguments =
            ["run", "sleep", "--inputs", inputs, "--mode", "serial", "--quiet"] + (toFile ? ["--output", output] : [])
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CACHE_HOME"] = commandCache
        process.environment = environment
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try out.close()
        try err.close()
        let written = toFile ? output + ".partial" : stdoutPath

        // The first output is written at once, later ones every 0.2 s: once two lines are
        // there, outputs are being buffered, and the signal must not lose them.
        var seen = 0
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && seen < 2 && Date() < deadline {
            usleep(10_000)
            seen = Self.lines(written).count
        }
        #expect(process.isRunning, "the job ended before it could be interrupted")
        #expect(seen >= 2, "no outputs appeared")
        kill(process.processIdentifier, signal)
        process.waitUntilExit()

        #expect(process.terminationReason == .exit, "killed by the signal instead of handling it")
        #expect(process.terminationStatus == 128 + signal)
        let lines = Self.lines(written)
        #expect(lines.count >= seen)
        #expect(lines == Self.inputs.prefix(lines.count).map { "\($0)" }, "every line a valid output, in order")
        let place = toFile ? "'\(output).partial'" : "standard output"
        let error = try String(contentsOfFile: stderrPath, encoding: .utf8)
        #expect(
            error.contains("interrupted by \(name): the \(lines.count) finished outputs are in \(place)"), "\(error)")
        if toFile { #expect(!FileManager.default.fileExists(atPath: output)) }
    }

    @Test("a signal while the first inputs are awaited (a FIFO) ends the run with 130 and leaves no job log behind")
    func signalBeforeAnyWork() throws {
        let scratch = try ScratchDirectory()
        let fifo = scratch.path + "/inputs.fifo"
        let log = scratch.path + "/job.log"
        #expect(mkfifo(fifo, 0o600) == 0)
        let stderrPath = scratch.path + "/stderr"
        let process = try startCommand(
            ["run", "tiny", "--inputs", fifo, "--joblog", log, "--quiet"], stderrPath: stderrPath)
        // Opening the write end lets the run open the FIFO; it then waits for lines. Without
        // blocking: until the run opens its end, this fails (ENXIO) and is tried again.
        let deadline = Date().addingTimeInterval(120)
        var writer: Int32 = -1
        while writer < 0, process.isRunning, Date() < deadline {
            writer = open(fifo, O_WRONLY | O_NONBLOCK)
            if writer < 0 { usleep(10_000) }
        }
        #expect(writer >= 0, "the run opened the FIFO")
        while process.isRunning, !FileManager.default.fileExists(atPath: log), Date() < deadline { usleep(10_000) }
        #expect(FileManager.default.fileExists(atPath: log), "the run created its job log")
        kill(process.processIdentifier, SIGINT)
        // The drain is asked for; the end of the FIFO then ends the wait for lines.
        while process.isRunning, Date() < deadline,
            !((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "").contains("no more inputs start")
        {
            usleep(10_000)
        }
        close(writer)
        process.waitUntilExit()
        #expect(process.terminationStatus == 128 + SIGINT)
        #expect(!FileManager.default.fileExists(atPath: log), "the empty log this run made is gone")
        let error = try String(contentsOfFile: stderrPath, encoding: .utf8)
        #expect(error.contains("interrupted by SIGINT: no input had started"), "\(error)")
    }
}
