import Foundation
import PoolAdvisor
import PoolAdvisorTestTasks
import PoolTestFixtures
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `run` stopped early, by `--halt now` or a signal, keeps every input that ran: each is written
/// and logged, so `--resume` never runs it again; and a crash in auto mode fails its input alone.
@Suite("run: a stopped job keeps what it ran", .serialized, .timeLimit(.minutes(10)))
struct StoppedJobTests {
    /// `count` ``AppendCall`` inputs as JSON Lines, logging to `log`; input 0 spins `firstWork`
    /// rounds or waits for `firstWaits` calls, the others spin 100,000 rounds; `failAt` throws.
    static func appendInputs(
        _ count: Int, log: String, failAt: Int? = nil, firstWork: Int = 100_000, firstWaits: Int? = nil
    ) throws -> String {
        let encoder = JSONEncoder()
        return try (0..<count).map { index in
            let input = LoggedCall(
                log: log, index: index, failAt: failAt, work: index == 0 ? firstWork : 100_000,
                waitsForCalls: index == 0 ? firstWaits : nil)
            return String(decoding: try encoder.encode(input), as: UTF8.self) + "\n"
        }.joined()
    }

    /// Each logged call's input index and how often it ran.
    static func calls(_ log: String) -> [Int: Int] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        var counts: [Int: Int] = [:]
        for line in text.split(separator: "\n") { counts[Int(line)!, default: 0] += 1 }
        return counts
    }

    @Test(
        "--halt now: inputs that finished behind the failure are written and logged; --resume skips them",
        arguments: ["threads", "processes"])
    func haltKeepsFinishedWork(_ mode: String) throws {
        let scratch = try ScratchDirectory()
        let callLog = scratch.path + "/calls"
        let count = 3000
        let inputs = try scratch.file("in.jsonl", Self.appendInputs(count, log: callLog, failAt: 1, firstWaits: 6))
        let log = scratch.path + "/job.log"
        let output = scratch.path + "/out.jsonl"
        let arguments = [
            "run", AppendCall.name, "--inputs", inputs, "--mode", mode, "--workers", "3", "--chunk", "1",
            "--joblog", log, "--output", output, "--tag", "--quiet",
        ]
        let first = try runCommand(arguments, executable: testToolPath)
        #expect(first.status == 1, "\(first.error)")
        #expect(first.error.contains("in.jsonl:2: the task failed: asked to fail at input 1"), "\(first.error)")
        let ran = Self.calls(callLog)
        #expect(ran.values.allSatisfy { $0 == 1 })
        #expect(ran.count >= 6, "the inputs that finished behind the first ran")
        #expect(ran.count < count, "the job stopped: \(ran.count) of \(count) ran")
        let entries = try JobLogTests.entries(log)
        #expect(JobLogTests.lines(entries, "failed") == [2])
        #expect(
            JobLogTests.lines(entries, "ok") == ran.keys.filter { $0 != 1 }.map { $0 + 1 }.sorted(),
            "every input that ran is logged: none is lost to a rerun")
        struct Tagged: Decodable { var line: Int }
        let tagged = try InterruptTests.lines(output + ".partial").map {
            try JSONDecoder().decode(Tagged.self, from: Data($0.utf8)).line
        }
        #expect(tagged == ran.keys.map { $0 + 1 }.sorted(), "every input that ran has its line, in order")

        // The rest, going on past failures this time: everything that succeeded ran once.
        let resumed = try runCommand(
            arguments.filter { $0 != "--quiet" } + ["--resume", "--halt", "never"], executable: testToolPath)
        #expect(resumed.status == 3, "\(resumed.error)")
        #expect(resumed.error.contains("records \(ran.count - 1) inputs done and 1 failed"), "\(resumed.error)")
        let all = Self.calls(callLog)
        #expect(all.count == count)
        #expect(all.filter { $0.value != 1 }.map(\.key) == [1], "only the failed input ran twice")
    }

    @Test(
        "SIGINT on threads: the first signal starts no more inputs, the running ones finish and are kept; --resume ends each once, in order"
    )
    func signalDrainsThenResumes() throws {
        let scratch = try ScratchDirectory()
        let callLog = scratch.path + "/calls"
        let count = 4000
        // Input 0 spins far longer than the others (a fifth of a second at least): it is still
        // running when the signal comes, with later inputs finished behind it.
        let inputs = try scratch.file("in.jsonl", Self.appendInputs(count, log: callLog, firstWork: 200_000_000))
        let log = scratch.path + "/job.log"
        let output = scratch.path + "/out.jsonl"
        let stderrPath = scratch.path + "/stderr"
        let arguments = [
            "run", AppendCall.name, "--inputs", inputs, "--mode", "threads", "--workers", "3", "--chunk", "1",
            "--joblog", log, "--output", output, "--quiet",
        ]
        let process = try startCommand(arguments, executable: testToolPath, stderrPath: stderrPath)
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Self.calls(callLog).count < 8, Date() < deadline { usleep(2_000) }
        #expect(process.isRunning, "the job ended before it could be interrupted")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 128 + SIGINT)
        let error = try String(contentsOfFile: stderrPath, encoding: .utf8)
        #expect(error.contains("interrupted by SIGINT: no more inputs start"), "\(error)")
        let ran = Self.calls(callLog)
        #expect(ran.values.allSatisfy { $0 == 1 })
        #expect(ran.count < count, "the job stopped: \(ran.count) of \(count) ran")
        #expect(ran[0] == 1, "the long first input was running, and finished")
        #expect(ran.keys.sorted() == Array(0..<ran.count), "the inputs that ran are a prefix")
        #expect(error.contains("interrupted by SIGINT: the \(ran.count) finished outputs are in"), "\(error)")
        #expect(JobLogTests.lines(try JobLogTests.entries(log), "ok") == Array(1...ran.count), "each one logged")
        #expect(InterruptTests.lines(output + ".partial") == (0..<ran.count).map { "\($0)" })

        let resumed = try runCommand(arguments + ["--resume"], executable: testToolPath)
        #expect(resumed.status == 0, "\(resumed.error)")
        #expect(InterruptTests.lines(output) == (0..<count).map { "\($0)" }, "every output once, in order")
        #expect(Self.calls(callLog) == Dictionary(uniqueKeysWithValues: (0..<count).map { ($0, 1) }))
    }

    @Test("--halt never in auto mode: a worker's crash fails its input alone and the job goes on")
    func autoCrashFailsAlone() throws {
        let plan = FaultPlan(fault: .sigkill, spin: 200_000)
        defer { plan.log.remove() }
        let scratch = try ScratchDirectory()
        let inputs = try scratch.file("faults.jsonl", plan.jsonLines)
        let log = scratch.path + "/job.log"
        let result = try runCommand(
            [
                "cli", "run", "PoolTestFixtures.CrashProneFaulty", "--inputs", inputs, "--halt", "never", "--joblog",
                log,
            ], environment: ["FAULT_LOG": plan.log.path], executable: fixtureWorkerPath)
        let faultyLines = plan.faulty.map { $0 + 1 }
        #expect(result.status == 3, "\(result.error)")
        #expect(
            result.error.contains("2 of \(plan.count) inputs failed; the first, for line \(faultyLines.min()!)"),
            "\(result.error)")
        #expect(plan.log.calls().sorted() == Array(0..<plan.count), "each input ran exactly once")
        let entries = try JobLogTests.entries(log)
        #expect(JobLogTests.lines(entries, "failed") == faultyLines)
        #expect(JobLogTests.lines(entries, "ok") == (1...plan.count).filter { !faultyLines.contains($0) })
        let expected = (0..<plan.count).filter { !plan.faulty.contains($0) }.map { "\($0 * 2)" }
        #expect(result.output.split(separator: "\n").map(String.init) == expected, "the others' outputs, in order")
    }

    @Test(
        "--exec with --halt now on threads or serially: the first failing command stops the job",
        arguments: ["threads", "serial"])
    func failingCommandHalts(_ mode: String) throws {
        let inputs = try temporaryFile("exec-halt-\(mode).jsonl", (1...40).map { "\($0)\n" }.joined())
        let result = try runCommand([
            "run", "--exec", "test {} -ne 7", "--shell", "--inputs", inputs, "--halt", "now", "--mode", mode, "--quiet",
        ])
        #expect(result.status == 1, "\(result.error)")
        #expect(result.error.contains("exec-halt-\(mode).jsonl:7: the command exited with status 1"), "\(result.error)")
    }
}
