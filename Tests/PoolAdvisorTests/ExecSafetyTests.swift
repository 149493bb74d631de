import Foundation
import Testing

/// `run --exec` as docs/cli.md describes it: inputs are data (never shell text), an input
/// starting with `-` is kept from being an option by `--` or `./`, and no command outlives the CLI.
@Suite("pool-advisor --exec safety", .serialized, .timeLimit(.minutes(10)))
struct ExecSafetyTests {
    /// A fresh directory for one test (the CLI's working directory and cache), removed after.
    private func withDirectory(_ body: (String) throws -> Void) throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("exec-safety-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        try body(url.path)
    }

    /// Starts the CLI in `directory` with stdout to `directory/stdout`, stderr to `directory/stderr`.
    private func start(_ arguments: [String], in directory: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: commandPath)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CACHE_HOME"] = directory + "/cache"
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        _ = FileManager.default.createFile(atPath: directory + "/stdout", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/stderr", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/stdout"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/stderr"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs the CLI to the end; returns the `stdout` of each output line.
    private func runExec(_ arguments: [String], in directory: String) throws -> [String?] {
        let process = try start(["run", "--quiet", "--inputs", "inputs.jsonl"] + arguments, in: directory)
        process.waitUntilExit()
        let error = try String(contentsOfFile: directory + "/stderr", encoding: .utf8)
        #expect(process.terminationStatus == 0, "\(arguments): \(error)")
        let output = try String(contentsOfFile: directory + "/stdout", encoding: .utf8)
        return output.split(separator: "\n").map { line in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["stdout"] as? String
        }
    }

    /// Writes `values` as JSON string lines, so each arrives exactly as given.
    private func writeInputs(_ values: [String], in directory: String) throws {
        let lines = try values.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: directory + "/inputs.jsonl", atomically: true, encoding: .utf8)
    }

    @Test("--shell: inputs that would break out of the template's quotes are printed, never run")
    func shellInputsAreData() throws {
        try withDirectory { directory in
            let marker = directory + "/MARKER"
            let payloads = [
                "$(touch \(marker))", "`touch \(marker)`", "'; touch \(marker); '", #""; touch \#(marker); ""#,
                #"\$(touch \#(marker))"#,
            ]
            try writeInputs(payloads, in: directory)
            for template in ["echo {}", "echo '{}'", #"echo "{}""#] {
                let outputs = try runExec(["--exec", template, "--shell", "--mode", "threads"], in: directory)
                #expect(outputs == payloads.map { $0 + "\n" }, "\(template)")
                #expect(!FileManager.default.fileExists(atPath: marker), "\(template) ran an input")
                try? FileManager.default.removeItem(atPath: marker)
            }
        }
    }

    @Test("without --shell: -- before {} or a ./ prefix keeps an input starting with - from being an option")
    func leadingDashInputs() throws {
        try withDirectory { directory in
            try "hello\n".write(toFile: directory + "/-n", atomically: true, encoding: .utf8)
            try writeInputs(["-n", "./-n"], in: directory)
            #expect(try runExec(["--exec", "cat -- {}", "--mode", "serial"], in: directory) == ["hello\n", "hello\n"])
            // Unguarded, "-n" is cat's option (it numbers the lines of an empty stdin); "./-n" is a file.
            #expect(try runExec(["--exec", "cat {}", "--mode", "serial"], in: directory) == ["", "hello\n"])
        }
    }

    /// Each command (a shell) records its pid and its background sleep's pid in the file its input
    /// names; the CLI is killed while they run; every one of those processes must go.
    @Test("no command, nor what it started, outlives a killed pool-advisor", arguments: ["threads", "processes"])
    func commandsDieWithTheCLI(mode: String) throws {
        try withDirectory { directory in
            // One command in processes mode: a fresh process pool may queue a second behind the first.
            let files = (0..<(mode == "processes" ? 1 : 2)).map { directory + "/pids-\($0)" }
            try writeInputs(files, in: directory)
            let script = #"sh -c 'sleep 600 & echo $$ $! > "$0.tmp"; mv "$0.tmp" "$0"; wait' {}"#
            let cli = try start(
                [
                    "run", "--quiet", "--inputs", "inputs.jsonl", "--exec", script, "--mode", mode,
                    "--workers", "2",
                ],
                in: directory)
            defer {
                if cli.isRunning {
                    kill(cli.processIdentifier, SIGKILL)
                    cli.waitUntilExit()
                }
            }
            var pids: [Int32] = []
            let started = waitUntil {
                pids = files.flatMap { file in
                    ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: " ").compactMap {
                        Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
                    }
                }
                return pids.count == 2 * files.count
            }
            try #require(started, "the commands did not start")
            #expect(pids.allSatisfy { isAlive($0) })
            kill(cli.processIdentifier, SIGKILL)
            cli.waitUntilExit()
            let gone = waitUntil { !pids.contains(where: isAlive) }
            #expect(gone, "\(mode): \(pids.filter(isAlive)) outlived pool-advisor")
            for pid in pids where isAlive(pid) { kill(pid, SIGKILL) }
        }
    }
}

/// Polls `condition` for at most 20 s (a bound for a broken build, not a timing).
private func waitUntil(_ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}

/// Alive: it exists and is not a zombie waiting for its reaper.
private func isAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    return stat[stat.index(close, offsetBy: 2)...].first != "Z"
}
