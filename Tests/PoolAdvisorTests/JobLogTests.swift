import Foundation
import PoolAdvisor
import PoolTestFixtures
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `run --joblog`, `--resume`, `--retry-failed`, `--halt` and `--tag`: a long job survives its
/// failures and an interruption, and no input that succeeded runs again.
@Suite("run: job log, resume, halt and tag", .serialized, .timeLimit(.minutes(10)))
struct JobLogTests {
    /// A job log's lines after the header, split into their six fields.
    static func entries(_ path: String) throws -> [[String]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "line\tstart\tseconds\tworker\tstatus\tdetail")
        #expect(lines.last == "", "the log ends with a whole line")
        lines = Array(lines.dropFirst().dropLast())
        return lines.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    /// Line numbers of the entries with `status`.
    static func lines(_ entries: [[String]], _ status: String) -> [Int] {
        entries.filter { $0[4] == status }.compactMap { Int($0[0]) }.sorted()
    }

    @Test("--halt never: crashed workers fail their inputs alone; --resume and --retry-failed rerun only those")
    func crashesThenResume() throws {
        let plan = FaultPlan(fault: .sigkill, spin: 200_000)
        defer { plan.log.remove() }
        let scratch = try ScratchDirectory()
        let inputs = try scratch.file("faults.jsonl", plan.jsonLines)
        let log = scratch.path + "/job.log"
        let output = scratch.path + "/out.jsonl"
        func run(_ extra: [String]) throws -> CommandResult {
            try runCommand(
                [
                    "cli", "run", "PoolTestFixtures.Faulty", "--inputs", inputs, "--mode", "processes", "--workers",
                    "2", "--halt", "never", "--joblog", log, "--output", output, "--tag",
                ] + extra, environment: ["FAULT_LOG": plan.log.path], executable: fixtureWorkerPath)
        }
        let faultyLines = plan.faulty.map { $0 + 1 }

        let first = try run([])
        #expect(first.status == 3, "\(first.error)")
        #expect(
            first.error.contains("2 of \(plan.count) inputs failed; the first, for line \(faultyLines.min()!)"),
            "\(first.error)")
        #expect(first.error.contains("add --retry-failed to run only those"), "\(first.error)")
        #expect(plan.log.calls().sorted() == Array(0..<plan.count), "each input ran exactly once")
        let entries = try Self.entries(log)
        #expect(entries.count == plan.count)
        #expect(Self.lines(entries, "failed") == faultyLines)
        #expect(Self.lines(entries, "ok") == (1...plan.count).filter { !faultyLines.contains($0) })
        for entry in entries where entry[4] == "ok" {
            #expect((Double(entry[1]) ?? 0) > 1.7e9, "start is seconds since the epoch: \(entry)")
            #expect((Double(entry[2]) ?? -1) >= 0, "seconds: \(entry)")
            #expect(entry[3].split(separator: "/").compactMap { Int($0) }.count == 2, "worker pid/tid: \(entry)")
        }
        struct Tagged: Decodable {
            var line: Int
            var output: Int?
            var error: String?
        }
        let tagged = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Tagged.self, from: Data($0.utf8))
        }
        #expect(tagged.map(\.line) == Array(1...plan.count), "one tagged line per input, in input order")
        for record in tagged {
            if faultyLines.contains(record.line) {
                #expect(record.output == nil && record.error != nil, "\(record)")
            } else {
                #expect(record.output == (record.line - 1) * 2 && record.error == nil, "\(record)")
            }
        }

        // The faults are in the inputs, so they fail again; nothing that succeeded runs again.
        for (extra, said) in [
            ("--resume", "records \(plan.count - 2) inputs done and 2 failed; running 2 of \(plan.count)"),
            ("--retry-failed", "running 2 of \(plan.count)"),
        ] {
            let before = plan.log.calls().count
            let again = try run([extra])
            #expect(again.status == 3, "\(extra): \(again.error)")
            #expect(again.error.contains(said), "\(extra): \(again.error)")
            #expect(plan.log.calls().dropFirst(before).sorted() == plan.faulty, "\(extra) ran only the failed inputs")
            let appended = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
            #expect(appended.count == tagged.count + (extra == "--resume" ? 2 : 4), "\(extra) appends its outputs")
        }
        #expect(try Self.entries(log).count == plan.count + 4)
    }

    @Test("--halt never with an input that throws, in every mode: the others' outputs in order, exit status 3")
    func thrownErrorsGoOn() throws {
        let inputs = try temporaryFile("fsync-never.jsonl", "512\n1024\n-1\n2048\n")
        for mode in [[], ["--mode", "serial"], ["--mode", "threads"], ["--mode", "processes"]] {
            let result = try runCommand(["run", "disk-fsync", "--inputs", inputs, "--halt", "never"] + mode)
            #expect(result.status == 3, "\(mode): \(result.error)")
            #expect(result.output == "2048\n4096\n8192\n", "\(mode)")
            #expect(
                result.error.contains("1 of 4 inputs failed; the first, for line 3: invalid input"), "\(result.error)")
            #expect(result.error.contains("; 1 failed"), "the summary counts the failure: \(result.error)")
        }
    }

    @Test("--halt now (a task's default) with a job log: the log stops at the failing line; --resume starts there")
    func haltNowThenResume() throws {
        let scratch = try ScratchDirectory()
        let inputs = try scratch.file("in.jsonl", "512\n1024\n-1\n2048\n")
        let log = scratch.path + "/job.log"
        let output = scratch.path + "/out.jsonl"
        let arguments = [
            "run", "disk-fsync", "--inputs", inputs, "--mode", "serial", "--joblog", log, "--output", output,
        ]
        let first = try runCommand(arguments)
        #expect(first.status == 1)
        #expect(first.error.contains("in.jsonl:3: the task failed: invalid input"), "\(first.error)")
        var entries = try Self.entries(log)
        #expect(entries.map { [$0[0], $0[4]] } == [["1", "ok"], ["2", "ok"], ["3", "failed"]])
        #expect(entries[2][5].contains("invalid input"))
        #expect(try String(contentsOfFile: output + ".partial", encoding: .utf8) == "2048\n4096\n")

        let again = try runCommand(arguments)
        #expect(again.status == 1)
        #expect(again.error.contains("the job log '\(log)' already exists; add --resume"), "\(again.error)")

        let resumed = try runCommand(arguments + ["--resume"])
        #expect(resumed.status == 1, "line 3 fails again")
        #expect(resumed.error.contains("records 2 inputs done and 1 failed; running 2 of 4"), "\(resumed.error)")
        entries = try Self.entries(log)
        #expect(entries.map { [$0[0], $0[4]] } == [["1", "ok"], ["2", "ok"], ["3", "failed"], ["3", "failed"]])
        #expect(try String(contentsOfFile: output + ".partial", encoding: .utf8) == "2048\n4096\n")
    }

    @Test("an interrupted job resumes: every output once, in input order, in the file it started")
    func interruptThenResume() throws {
        let scratch = try ScratchDirectory()
        let values = (0..<200).map { 20_000 + $0 }
        let inputs = try scratch.file("in.jsonl", values.map { "\($0)\n" }.joined())
        let log = scratch.path + "/job.log"
        let output = scratch.path + "/out.jsonl"
        let arguments = [
            "run", "sleep", "--inputs", inputs, "--mode", "serial", "--quiet", "--joblog", log, "--output", output,
        ]
        let process = try startCommand(arguments, stderrPath: scratch.path + "/stderr")
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, InterruptTests.lines(output + ".partial").count < 3, Date() < deadline {
            usleep(10_000)
        }
        #expect(process.isRunning, "the job ended before it could be interrupted")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 128 + SIGINT)
        let done = Self.lines(try Self.entries(log), "ok")
        #expect(done == Array(1...done.count), "the log records a prefix of the inputs")
        #expect(InterruptTests.lines(output + ".partial") == values.prefix(done.count).map { "\($0)" })

        let resumed = try runCommand(arguments + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.error)")
        #expect(InterruptTests.lines(output) == values.map { "\($0)" }, "every output once, in order")
        #expect(!FileManager.default.fileExists(atPath: output + ".partial"))
        #expect(Self.lines(try Self.entries(log), "ok") == Array(1...values.count), "each line logged once")
        let nothing = try runCommand(arguments + ["--resume"])
        #expect(nothing.status == 0)
        #expect(InterruptTests.lines(output).count == values.count, "a finished job resumes to nothing")
    }

    @Test("options that would be ignored, and hostile job logs and inputs, are errors that say what to do")
    func mistakes() throws {
        let scratch = try ScratchDirectory()
        let inputs = try scratch.file("in.jsonl", "100\n200\n300\n")
        let base = ["run", "sleep", "--inputs", inputs]
        let usage: [([String], String)] = [
            (["--resume"], "--resume needs --joblog FILE"),
            (["--joblog", scratch.path + "/a.log", "--resume", "--retry-failed"], "give --resume or --retry-failed"),
            (["--chunk", "4"], "add --mode threads or --mode processes, or leave --chunk out"),
            (["--fetch-workers", "4", "--mode", "threads"], "applies only with --mode pipeline"),
            (["--mode", "pipeline"], "sleep has no fetch and compute stages"),
            (["--halt", "sometimes"], "invalid value 'sometimes' for '--halt'"),
        ]
        for (extra, message) in usage {
            let result = try runCommand(base + extra)
            #expect(result.status == 2, "\(extra): \(result.error)")
            #expect(result.error.contains(message), "\(extra): \(result.error)")
        }

        let target = try scratch.file("target.log", "")
        let link = scratch.path + "/link.log"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let header = "line\tstart\tseconds\tworker\tstatus\tdetail\n"
        let failures: [(String, String)] = [
            (link, "it is a symbolic link"),
            (scratch.path, "is a directory, a link or a special file; give the name of a regular file"),
            (try scratch.file("bad1.log", "hello\n"), "bad1.log' is not a job log written by 'run --joblog'"),
            (try scratch.file("bad2.log", header + "1\tx\n"), "bad2.log:2: not a line of six tab-separated fields"),
            (try scratch.file("bad3.log", header + "9\t-\t-\t-\tok\t\n"), "bad3.log:2: it names input line 9"),
            (try scratch.file("bad4.log", header + "1\t-\t-\t-\tmaybe\t\n"), "bad4.log:2: its status is 'maybe'"),
        ]
        for (log, message) in failures {
            let result = try runCommand(base + ["--joblog", log, "--resume", "--quiet"])
            #expect(result.status == 1, "\(log): \(result.error)")
            #expect(result.error.contains(message), "\(log): \(result.error)")
            #expect(result.output.isEmpty, "nothing ran")
        }
        #expect(try String(contentsOfFile: target, encoding: .utf8).isEmpty, "the link's target was not written")

        let missing = try runCommand(["run", "sleep", "--inputs", scratch.path + "/none.jsonl"])
        #expect(missing.error.contains("'\(scratch.path)/none.jsonl': there is no such file"), "\(missing.error)")
        let directory = try runCommand(["run", "sleep", "--inputs", scratch.path])
        #expect(directory.error.contains("it is a directory"), "\(directory.error)")
    }

    @Test("--resume repairs a log cut short, finishes a job with nothing left, and refuses to run without its log")
    func resumeEdgeCases() throws {
        let scratch = try ScratchDirectory()
        let inputs = try scratch.file("in.jsonl", "512\n1024\n2048\n")
        let header = "line\tstart\tseconds\tworker\tstatus\tdetail\n"
        let output = scratch.path + "/out.jsonl"
        func run(_ log: String, _ extra: [String]) throws -> CommandResult {
            try runCommand(
                ["run", "disk-fsync", "--inputs", inputs, "--mode", "serial", "--joblog", log, "--output", output]
                    + extra)
        }

        // A last line cut short (a crash mid-write) is dropped, and its input runs again: not
        // glued to the next line, which would read as another input.
        let cut = try scratch.file("cut.log", header + "1\t-\t-\t-\tok\t\n2\t17")
        try "2048\n4".write(toFile: output + ".partial", atomically: true, encoding: .utf8)
        let repaired = try run(cut, ["--resume"])
        #expect(repaired.status == 0, "\(repaired.error)")
        #expect(repaired.error.contains("records 1 inputs done and 0 failed; running 2 of 3"), "\(repaired.error)")
        #expect(
            try String(contentsOfFile: output, encoding: .utf8) == "2048\n4096\n8192\n", "the cut output line went too")
        #expect(Self.lines(try Self.entries(cut), "ok") == [1, 2, 3])

        // Nothing left to run: the outputs an earlier run left under the partial name take their name.
        try FileManager.default.removeItem(atPath: output)
        let done = try scratch.file("done.log", header + "1\t-\t-\t-\tok\t\n2\t-\t-\t-\tok\t\n3\t-\t-\t-\tok\t\n")
        try "2048\n4096\n8192\n".write(toFile: output + ".partial", atomically: true, encoding: .utf8)
        let finished = try run(done, ["--resume"])
        #expect(finished.status == 0, "\(finished.error)")
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "2048\n4096\n8192\n")
        #expect(!FileManager.default.fileExists(atPath: output + ".partial"))

        // No log at the path while outputs are there: a mistyped --joblog must not run it all again.
        let missing = try run(scratch.path + "/typo.log", ["--resume"])
        #expect(missing.status == 1)
        #expect(missing.error.contains("there is no job log"), "\(missing.error)")
        #expect(missing.error.contains("would run every input again"), "\(missing.error)")
        let noFailures = try run(scratch.path + "/typo.log", ["--retry-failed"])
        #expect(noFailures.status == 1)
        #expect(noFailures.error.contains("no failed inputs to retry"), "\(noFailures.error)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/typo.log"))
        // A file that is not a job log, given by mistake, is refused and left as it was.
        let notes = try scratch.file("notes.txt", "remember the milk")
        for rerun in ["--resume", "--retry-failed"] {
            let wrong = try run(notes, [rerun])
            #expect(wrong.status == 1, "\(rerun): \(wrong.error)")
            #expect(wrong.error.contains("is not a job log written by 'run --joblog'"), "\(wrong.error)")
            #expect(try String(contentsOfFile: notes, encoding: .utf8) == "remember the milk")
        }
        let inputsAsLog = try run(inputs, ["--resume"])
        #expect(inputsAsLog.status == 2, "\(inputsAsLog.error)")
        #expect(try String(contentsOfFile: inputs, encoding: .utf8) == "512\n1024\n2048\n")

        // Another run holds the log: this one is refused, nothing runs twice.
        let held = open(done, O_RDONLY)
        defer { close(held) }
        #expect(held >= 0 && flock(held, LOCK_EX | LOCK_NB) == 0)
        let busy = try run(done, ["--resume"])
        #expect(busy.status == 1)
        #expect(busy.error.contains("is in use by another run"), "\(busy.error)")
        let same = try run(output, [])
        #expect(same.status == 2)
        #expect(same.error.contains("--joblog names the inputs or the output file"), "\(same.error)")
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "2048\n4096\n8192\n", "nothing ran")
    }

    @Test("a failure whose text has CRLF, tabs or control characters stays on one log line")
    func detailsStayOnOneLine() throws {
        let scratch = try ScratchDirectory()
        let inputs = try scratch.file("in.jsonl", "\"a\"\n\"b\"\n")
        let log = scratch.path + "/job.log"
        let command = "printf 'bad\\r\\nmore\\tstuff\\033[1m\\r\\n' >&2; exit 1"
        let arguments = ["run", "--exec", command, "--shell", "--inputs", inputs, "--joblog", log, "--quiet"]
        let first = try runCommand(arguments)
        #expect(first.status == 3, "\(first.error)")
        let entries = try Self.entries(log)
        #expect(entries.count == 2 && entries.allSatisfy { $0.count == 6 && $0[4] == "failed" }, "\(entries)")
        #expect(entries.allSatisfy { $0[5].contains("exited with status 1") }, "\(entries)")
        #expect(
            entries.allSatisfy { !$0[5].unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } },
            "no control character is left in a detail: \(entries)")
        let again = try runCommand(arguments + ["--retry-failed"])
        #expect(again.status == 3, "the log reads back: \(again.error)")
        #expect(try Self.entries(log).count == 4)
    }

    @Test("--retries runs a failing call again: a flaky command succeeds, a hopeless one fails after N + 1")
    func retries() throws {
        let scratch = try ScratchDirectory()
        let inputs = try scratch.file("in.jsonl", "\"a\"\n\"b\"\n\"c\"\n")
        let log = scratch.path + "/job.log"
        // Fails the first time for each input (it leaves a mark), succeeds after; "c" always fails.
        let flaky =
            "[ {} = c ] && exit 9; if [ -e \(scratch.path)/{} ]; then echo ok; else touch \(scratch.path)/{}; exit 1; fi"
        let result = try runCommand([
            "run", "--exec", flaky, "--shell", "--inputs", inputs, "--retries", "2", "--joblog", log, "--quiet",
        ])
        #expect(result.status == 3, "\(result.error)")
        #expect(result.error.contains("1 of 3 commands failed; the first, for line 3"), "\(result.error)")
        let entries = try Self.entries(log)
        #expect(
            entries.map { [$0[0], $0[4], $0[5]] } == [
                ["1", "ok", "succeeded on attempt 2"], ["2", "ok", "succeeded on attempt 2"],
                ["3", "failed", "after 3 attempts: exited with status 9"],
            ])
        // An idempotent task in worker processes: the count reaches them.
        let fsync = try scratch.file("fsync.jsonl", "-1\n512\n")
        let fsyncLog = scratch.path + "/fsync.log"
        let workers = try runCommand([
            "run", "disk-fsync", "--inputs", fsync, "--mode", "processes", "--retries", "1", "--halt", "never",
            "--joblog", fsyncLog, "--quiet",
        ])
        #expect(workers.status == 3, "\(workers.error)")
        #expect(try Self.entries(fsyncLog).map { [$0[0], $0[4]] } == [["1", "failed"], ["2", "ok"]])
        #expect(try Self.entries(fsyncLog)[0][5].hasPrefix("after 2 attempts: invalid input"))
        let staged = try runCommand(["run", "mixed", "--inputs", fsync, "--retries", "1"])
        #expect(staged.status == 2)
        #expect(staged.error.contains("a staged task"), "\(staged.error)")
        let notIdempotent = try runCommand(
            ["cli", "run", "PoolTestFixtures.Faulty", "--inputs", inputs, "--retries", "1"],
            executable: fixtureWorkerPath)
        #expect(notIdempotent.status == 2)
        #expect(notIdempotent.error.contains("is not declared idempotent"), "\(notIdempotent.error)")
    }

    @Test("--workers limits auto mode; a fixed mode never starts more workers than inputs")
    func workerLimits() throws {
        let inputs = try temporaryFile("limit.jsonl", (1...60).map { "\($0 * 50)\n" }.joined())
        let limited = try runCommand(["run", "sleep", "--inputs", inputs, "--workers", "1"])
        #expect(limited.status == 0, "\(limited.error)")
        // The advice may be more; what ran is within the limit.
        let ran = limited.error.split(separator: "\n").filter { $0.hasPrefix("ran ") || $0.hasPrefix("decided: ") }
        #expect(ran.count == 2, "\(limited.error)")
        for line in ran {
            let plan = line.hasPrefix("ran ") ? String(line) : line.split(separator: ";").dropFirst().joined()
            let counts = plan.split(separator: "×").dropFirst().compactMap {
                Int($0.drop { $0 == " " }.prefix { $0.isNumber })
            }
            #expect(counts.allSatisfy { $0 == 1 }, "no plan run over one worker: \(line)")
        }
        #expect(
            limited.error.contains("within --workers 1") || !limited.error.contains("starting on"), "\(limited.error)")

        let few = try temporaryFile("few.jsonl", "100\n200\n300\n")
        let clamped = try runCommand(["run", "sleep", "--inputs", few, "--mode", "processes", "--workers", "64"])
        #expect(clamped.status == 0, "\(clamped.error)")
        #expect(clamped.error.contains("processes × 3"), "\(clamped.error)")
        #expect(!clamped.error.contains("warning"), "\(clamped.error)")
        let count = 4 * Machine.usableCores + 1
        let many = try temporaryFile("many.jsonl", (1...count).map { "\($0)\n" }.joined())
        let warned = try runCommand(["run", "sleep", "--inputs", many, "--mode", "processes", "--workers", "\(count)"])
        #expect(warned.status == 0, "\(warned.error)")
        #expect(warned.error.contains("warning: \(count) worker processes on"), "\(warned.error)")
    }
}
