import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A directory of its own for one test, removed when the test ends.
final class ScratchDirectory {
    let path: String

    init() throws {
        path = commandCache + "/scratch-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` in the directory and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// The names in the directory, sorted.
    var names: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
}

@Suite("run --output never replaces or follows what it did not create", .serialized, .timeLimit(.minutes(10)))
struct OutputSafetyTests {
    /// Inputs for `--exec touch`: each call creates a marker file, so a test can count calls.
    func markerInputs(_ scratch: ScratchDirectory, count: Int) throws -> String {
        let lines = (1...count).map { "\"\(scratch.path)/ran-\($0)\"" }
        return try scratch.file("markers.jsonl", lines.joined(separator: "\n") + "\n")
    }

    func markers(_ scratch: ScratchDirectory) -> [String] { scratch.names.filter { $0.hasPrefix("ran-") } }

    @Test("a directory as --output fails before any task runs")
    func directoryFailsFirst() throws {
        let scratch = try ScratchDirectory()
        let inputs = try markerInputs(scratch, count: 3)
        let target = scratch.path + "/outdir"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        let result = try runCommand([
            "run", "--exec", "touch", "--inputs", inputs, "--mode", "serial", "--output", target,
        ])
        #expect(result.status == 1)
        #expect(result.error.contains("cannot write the output file '\(target)': it is a directory"), "\(result.error)")
        #expect(markers(scratch).isEmpty, "no task may run: \(markers(scratch))")
        #expect(!FileManager.default.fileExists(atPath: target + ".partial"))
    }

    @Test(
        "an output the system refuses to create names the create's own error, not the look at the path after it",
        .enabled(
            if: FileManager.default.fileExists(atPath: "/sys/kernel"), "needs sysfs, where nobody may create files"))
    func createErrorIsTheCreates() throws {
        let scratch = try ScratchDirectory()
        let inputs = try scratch.file("in.jsonl", "1\n2\n")
        let result = try runCommand([
            "run", "sleep", "--inputs", inputs, "--mode", "serial", "--output", "/sys/out.jsonl",
        ])
        #expect(result.status == 1)
        #expect(result.error.contains("cannot create '/sys/out.jsonl.partial': "), "\(result.error)")
        // sysfs refuses the create (permission, or a read-only mount); the path's later look
        // finds nothing there, which is what the message used to give.
        #expect(!result.error.contains("No such file or directory"), "\(result.error)")
    }

    @Test("a symbolic link planted at FILE.partial is not followed: its target stays untouched, nothing runs")
    func plantedPartialLink() throws {
        let scratch = try ScratchDirectory()
        let inputs = try markerInputs(scratch, count: 3)
        let victim = try scratch.file("victim.txt", "precious\n")
        let output = scratch.path + "/out.jsonl"
        try FileManager.default.createSymbolicLink(atPath: output + ".partial", withDestinationPath: victim)
        let result = try runCommand([
            "run", "--exec", "touch", "--inputs", inputs, "--mode", "serial", "--output", output,
        ])
        #expect(result.status == 1)
        #expect(result.error.contains("'\(output).partial' already exists"), "\(result.error)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: output + ".partial") == victim)
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect(markers(scratch).isEmpty, "no task may run: \(markers(scratch))")
    }

    @Test("a symbolic link to a regular file as --output is refused; the link and its target stay as they were")
    func outputLinkRefused() throws {
        let scratch = try ScratchDirectory()
        let inputs = try scratch.file("in.jsonl", "1\n2\n")
        let victim = try scratch.file("victim.txt", "precious\n")
        let output = scratch.path + "/link.jsonl"
        try FileManager.default.createSymbolicLink(atPath: output, withDestinationPath: victim)
        let result = try runCommand(["run", "sleep", "--inputs", inputs, "--mode", "serial", "--output", output])
        #expect(result.status == 1)
        #expect(result.error.contains("it is a symbolic link"), "\(result.error)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: output) == victim)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(scratch.names == ["in.jsonl", "link.jsonl", "victim.txt"])
    }

    /// A FIFO stands for every special file (a device such as /dev/null behaves the same way,
    /// but replacing it would break the machine if the fix regressed, so it is not tried here).
    @Test("a FIFO as --output is written in place and stays a FIFO")
    func fifoWrittenInPlace() throws {
        let scratch = try ScratchDirectory()
        let inputs = try scratch.file("in.jsonl", "10\n20\n30\n")
        let fifo = scratch.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        // Open the reading end first without blocking; the CLI's outputs wait in the pipe.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        #expect(reader >= 0)
        defer { close(reader) }
        let result = try runCommand(["run", "sleep", "--inputs", inputs, "--mode", "serial", "--output", fifo])
        #expect(result.status == 0, "\(result.error)")
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = read(reader, &bytes, bytes.count)
        #expect(String(decoding: bytes.prefix(max(0, count)), as: UTF8.self) == "10\n20\n30\n")
        var info = stat()
        #expect(lstat(fifo, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFIFO, "the FIFO must not be replaced by a regular file")
        #expect(scratch.names == ["fifo", "in.jsonl"])
    }

    @Test("an existing regular file without write permission fails before any task runs", .enabled(if: geteuid() != 0))
    func unwritableFailsFirst() throws {
        let scratch = try ScratchDirectory()
        let inputs = try markerInputs(scratch, count: 2)
        let output = try scratch.file("locked.jsonl", "old\n")
        #expect(chmod(output, 0o444) == 0)
        let result = try runCommand([
            "run", "--exec", "touch", "--inputs", inputs, "--mode", "serial", "--output", output,
        ])
        #expect(result.status == 1)
        #expect(result.error.contains("cannot write the output file '\(output)'"), "\(result.error)")
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "old\n")
        #expect(markers(scratch).isEmpty)
    }
}
