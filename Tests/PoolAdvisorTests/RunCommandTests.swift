import Foundation
import PoolAdvisor
import Testing

@Suite("pool-advisor run and demo", .serialized, .timeLimit(.minutes(10)))
struct RunCommandTests {
    static let pipeInputs = (0..<120).map { "\(500 + $0)" }.joined(separator: "\n") + "\n"

    @Test("run writes one output line per input, in input order, in every mode")
    func runInOrder() throws {
        let inputs = try temporaryFile(
            "sleep-inputs.jsonl", (1...60).map { "\($0 * 50)" }.joined(separator: "\n") + "\n")
        for mode in ["auto", "serial", "threads", "processes"] {
            let result = try runCommand(["run", "sleep", "--inputs", inputs, "--mode", mode, "--workers", "8"])
            #expect(result.status == 0, "\(mode): \(result.error)")
            #expect(result.output == (1...60).map { "\($0 * 50)\n" }.joined(), "\(mode)")
            #expect(result.error.contains("ran 60 inputs in"), "\(mode)")
        }
    }

    @Test("run --mode pipeline runs a staged task's two stages; --output writes the file; --quiet is silent")
    func pipelineAndOutput() throws {
        let lines = (0..<16).map { "{\"waitMicroseconds\": 300, \"work\": {\"seed\": \($0), \"iterations\": 20000}}" }
        let inputs = try temporaryFile("mixed-inputs.jsonl", lines.joined(separator: "\n") + "\n")
        let expected = try (0..<16).map {
            try WaitThenCompute.run(
                FetchThenCompute(waitMicroseconds: 300, work: ComputeWork(seed: UInt64($0), iterations: 20_000)))
        }
        let output = commandCache + "/mixed-out.jsonl"
        let result = try runCommand([
            "run", "mixed", "--inputs", inputs, "--mode", "pipeline", "--output", output, "--quiet",
        ])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.isEmpty)
        #expect(result.error.isEmpty)
        let written = try String(contentsOfFile: output, encoding: .utf8)
        #expect(written == expected.map { "\($0)\n" }.joined())
    }

    @Test("run: a malformed line is reported with its number before any work; bad flags and paths are named")
    func runErrors() throws {
        let malformed = try temporaryFile("malformed.jsonl", "100\n200\n\n{oops\n300\n")
        let result = try runCommand(["run", "sleep", "--inputs", malformed])
        #expect(result.status == 1)
        #expect(result.error.contains("malformed.jsonl:4: not a valid input"), "\(result.error)")
        // What the task takes, in words, and where to see an example: not a Swift type name.
        #expect(
            result.error.contains(
                "not a valid input for sleep, which takes an integer: microseconds to sleep (pool-advisor tasks sleep describes it)"
            ), "\(result.error)")
        let negativeSleep = try runCommand([
            "run", "sleep", "--inputs", try temporaryFile("negative-sleep.jsonl", "-5\n"), "--mode", "serial",
        ])
        #expect(negativeSleep.status == 1)
        #expect(
            negativeSleep.error.contains(
                "negative-sleep.jsonl:1: the task failed: invalid input: a time to sleep must be 0"),
            "\(negativeSleep.error)")
        #expect(!result.error.contains("ran "))
        #expect(result.output.isEmpty)
        let missing = try runCommand(["run", "sleep"])
        #expect(missing.status == 2)
        #expect(missing.error.contains("missing --inputs"))
        let badMode = try runCommand(["run", "sleep", "--inputs", malformed, "--mode", "fast"])
        #expect(badMode.status == 2)
        #expect(badMode.error.contains("invalid value 'fast' for '--mode'"))
        let unwritable = try runCommand([
            "run", "sleep", "--inputs", try temporaryFile("ok.jsonl", "1\n"), "--output", "/no/such/dir/out.jsonl",
        ])
        #expect(unwritable.status == 1)
        #expect(unwritable.error.contains("cannot write the output file"))
        let negative = try temporaryFile(
            "negative.jsonl", "{\"seed\": 1, \"iterations\": 10}\n{\"seed\": 2, \"iterations\": -5}\n")
        let rejected = try runCommand(["run", "cpu", "--inputs", negative])
        #expect(rejected.status == 1)
        #expect(rejected.error.contains("negative.jsonl:2: not a valid input"), "\(rejected.error)")
        #expect(rejected.error.contains("iterations must be 0 or more"), "\(rejected.error)")
    }

    @Test("run: a failing input names its line; the outputs before it stay in FILE.partial, and FILE is not written")
    func failureKeepsEarlierOutputs() throws {
        let inputs = try temporaryFile("fsync-inputs.jsonl", "512\n1024\n-1\n2048\n")
        let output = commandCache + "/fsync-out.jsonl"
        try? FileManager.default.removeItem(atPath: output)
        let failed = try runCommand(["run", "disk-fsync", "--inputs", inputs, "--mode", "serial", "--output", output])
        #expect(failed.status == 1)
        #expect(failed.error.contains("fsync-inputs.jsonl:3: the task failed: invalid input"), "\(failed.error)")
        #expect(failed.error.contains("the 2 outputs before it are in '\(output).partial'"), "\(failed.error)")
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect(try String(contentsOfFile: output + ".partial", encoding: .utf8) == "2048\n4096\n")

        let threads = try runCommand(["run", "disk-fsync", "--inputs", inputs, "--mode", "threads", "--quiet"])
        #expect(threads.status == 1)
        #expect(threads.error.contains("fsync-inputs.jsonl:3:"), "\(threads.error)")
        #expect(threads.output == "2048\n4096\n", "outputs before the failure still reach stdout")

        // The partial file left by the failure is never replaced: a new run refuses to start.
        let good = try temporaryFile("fsync-good.jsonl", "512\n1024\n")
        let refused = try runCommand(["run", "disk-fsync", "--inputs", good, "--mode", "threads", "--output", output])
        #expect(refused.status == 1)
        #expect(refused.error.contains("'\(output).partial' already exists"), "\(refused.error)")
        #expect(try String(contentsOfFile: output + ".partial", encoding: .utf8) == "2048\n4096\n")
        try FileManager.default.removeItem(atPath: output + ".partial")
        let succeeded = try runCommand(["run", "disk-fsync", "--inputs", good, "--mode", "threads", "--output", output])
        #expect(succeeded.status == 0, "\(succeeded.error)")
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "2048\n4096\n")
        #expect(!FileManager.default.fileExists(atPath: output + ".partial"), "the partial file took the final name")
    }

    @Test("run without a terminal prints plain progress lines, not a redrawn bar")
    func plainProgress() throws {
        let inputs = try temporaryFile("slow.jsonl", String(repeating: "200000\n", count: 24))  // 24 × 0.2 s, serially
        let result = try runCommand(["run", "sleep", "--inputs", inputs, "--mode", "serial"])
        #expect(result.status == 0)
        #expect(result.error.contains("progress: "))
        #expect(!result.error.contains("\r"))
        #expect(result.error.contains("24/24 100%"))
    }

    struct DemoRow: Decodable {
        var workload: String
        var recommended: String
        var fastest: String
        var regret: Double
        var items: Int
        var serial_seconds: Double
        var threads_seconds: Double
        var processes_seconds: Double
        var predicted_threads_seconds: Double
    }

    @Test("demo --quick --json gives one row per workload with every mode's seconds and the regret")
    func demoJSON() throws {
        let result = try runCommand(["demo", "--quick", "--only", "sleep,blocking-lock", "--json"])
        #expect(result.status == 0, "\(result.error)")
        let rows = try result.output.split(separator: "\n").map {
            try JSONDecoder().decode(DemoRow.self, from: Data($0.utf8))
        }
        #expect(rows.map(\.workload) == ["sleep", "blocking-lock"])
        for row in rows {
            #expect(row.regret >= 1)
            #expect(row.serial_seconds > 0 && row.threads_seconds > 0 && row.processes_seconds > 0)
            #expect(["serial", "threads", "processes", "pipeline", "recommended"].contains(row.fastest))
        }
        #expect(rows[0].recommended == "threads")
        let unknown = try runCommand(["demo", "--only", "sleeep"])
        #expect(unknown.status == 2)
        #expect(unknown.error.contains("did you mean 'sleep'?"))
    }
}

@Suite("pool-advisor --exec", .serialized, .timeLimit(.minutes(10)))
struct ExecCommandTests {
    struct Outcome: Decodable {
        var status: Int32?
        var stdout: String?
        var stdoutBase64: String?
        var stderr: String
    }

    func outcomes(_ text: String) throws -> [Outcome] {
        try text.split(separator: "\n").map { try JSONDecoder().decode(Outcome.self, from: Data($0.utf8)) }
    }

    @Test("run --exec: one command per line, outputs in order; a failing command is reported and the others delivered")
    func runCommands() throws {
        let sleeps = try temporaryFile("sleeps.jsonl", String(repeating: "\"x\"\n", count: 12))
        let slept = try runCommand(["run", "--exec", "sh -c 'sleep 0.05'", "--inputs", sleeps])
        #expect(slept.status == 0, "\(slept.error)")
        #expect(try outcomes(slept.output).map(\.status) == Array(repeating: 0, count: 12))
        #expect(slept.error.contains("rule external-command"))

        let codes = try temporaryFile("codes.jsonl", "0\n3\n0\n")
        let mixed = try runCommand(["run", "--exec", "sh -c 'exit \"$0\"' {}", "--inputs", codes, "--mode", "threads"])
        #expect(mixed.status == 3, "every command ran, one failed: \(mixed.error)")
        #expect(try outcomes(mixed.output).map(\.status) == [0, 3, 0])
        #expect(mixed.error.contains("1 of 3 commands failed; the first, for line 2, exited with status 3"))

        let words = try temporaryFile("words.jsonl", "\"abc\"\n\"it's\"\n")
        let shell = try runCommand(["run", "--exec", "echo {} | tr a-z A-Z", "--shell", "--inputs", words, "--quiet"])
        #expect(try outcomes(shell.output).map(\.stdout) == ["ABC\n", "IT'S\n"])
    }

    @Test("run --exec gzip: binary output comes back as base64, in input order")
    func gzip() throws {
        var lines: [String] = []
        for index in 0..<6 {
            let path = commandCache + "/gz-\(index).txt"
            try String(repeating: "line \(index)\n", count: 2000 * (index + 1)).write(
                toFile: path, atomically: true, encoding: .utf8)
            lines.append("\"\(path)\"")
        }
        let inputs = try temporaryFile("gz.jsonl", lines.joined(separator: "\n") + "\n")
        let result = try runCommand(["run", "--exec", "gzip -9 -c {}", "--inputs", inputs])
        #expect(result.status == 0, "\(result.error)")
        let compressed = try outcomes(result.output).map { Data(base64Encoded: $0.stdoutBase64 ?? "") ?? Data() }
        #expect(compressed.count == 6)
        #expect(compressed.allSatisfy { $0.prefix(2) == Data([0x1F, 0x8B]) })
        // Larger inputs compress to larger outputs: the order is the input order.
        #expect(compressed.map(\.count) == compressed.map(\.count).sorted())
    }

    @Test("profile --exec of a command that computes shows the command's CPU, not this process's")
    func profileComputingCommand() throws {
        // A shell loop: the child computes, the calling thread only waits for it.
        let lines = (0..<12).map { "\"\($0)\"" }.joined(separator: "\n") + "\n"
        let inputs = try temporaryFile("loops.jsonl", lines)
        let loop = "/bin/sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done'"
        let result = try runCommand(["profile", "--exec", loop, "--inputs", inputs, "--budget", "1"])
        #expect(result.status == 0, "\(result.error)")
        let text = result.output
        #expect(!text.contains("waits overlap on threads"), "\(text)")
        #expect(text.contains("the command's (children's CPU over wall); this process"), "\(text)")
        #expect(text.contains("not measured: the command computes for"), "\(text)")
        let row = text.split(separator: "\n").first { $0.contains("cpu ratio") }
        let ratio = row.flatMap { $0.split(separator: " ").dropFirst(2).first }.flatMap { Double($0) }
        let caller = row.flatMap { $0.components(separatedBy: "this process ").last }
            .flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        // The command's CPU, not the waiting caller's: the loop computes all the time it runs,
        // the caller almost never. Compared with each other, not with a fixed bar: with every
        // core busy elsewhere the loop's share of the wall clock falls (0.29 was seen).
        let command = try #require(ratio, "\(text)")
        let waiting = try #require(caller, "\(text)")
        #expect(command > 0.05 && command > 5 * waiting, "\(text)")
    }

    @Test("profile --exec: a waiting command gets many at once; usage errors for --exec")
    func profileCommand() throws {
        let sleeps = try temporaryFile("sleeps2.jsonl", String(repeating: "\"0.03\"\n", count: 10))
        let result = try runCommand(["profile", "--exec", "sleep {}", "--inputs", sleeps, "--json", "--budget", "1"])
        #expect(result.status == 0, "\(result.error)")
        let document = try JSONDecoder().decode(CommandLineTests.ProfileJSON.self, from: Data(result.output.utf8))
        #expect(document.recommendation.decidingRule?.rule == "external-command")
        #expect((document.recommendation.workers ?? 0) >= 8)
        let both = try runCommand(["run", "sleep", "--exec", "true", "--inputs", sleeps])
        #expect(both.status == 2)
        #expect(both.error.contains("give either TASK or --exec"))
        let unclosed = try runCommand(["run", "--exec", "echo 'open", "--inputs", sleeps])
        #expect(unclosed.status == 2)
        #expect(unclosed.error.contains("a quote is not closed"))
        let noInputs = try runCommand(["profile", "--exec", "true"])
        #expect(noInputs.status == 2)
    }
}
