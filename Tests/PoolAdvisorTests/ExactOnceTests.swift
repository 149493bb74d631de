import Foundation
import PoolAdvisor
import PoolAdvisorTestTasks
import Synchronization
import Testing

/// A fresh log file for ``AppendCall`` and friends; removed by ``calls(in:)``.
func newLog() -> String {
    NSTemporaryDirectory() + "pool-advisor-calls-\(getpid())-\(UUID().uuidString).log"
}

/// How many times each index was called, read from the log (which is then removed).
func calls(in log: String) -> [Int: Int] {
    defer { try? FileManager.default.removeItem(atPath: log) }
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    var counts: [Int: Int] = [:]
    for line in text.split(separator: "\n") { counts[Int(line)!, default: 0] += 1 }
    return counts
}

/// Auto options with a sample as long as the budget reaches (the case that used to repeat calls).
private var longSample: AutoExecutor.Options {
    var options = quickAuto
    options.maximumSampleSize = 200_000
    return options
}

/// Never registered with any worker; counts its calls in this process.
struct NotRegistered: PoolTask {
    static let calls = Atomic<Int>(0)
    static func run(_ input: Int) -> Int {
        calls.add(1, ordering: .relaxed)
        return input
    }
}

@Suite("Each input runs exactly once under AutoExecutor", .serialized, .timeLimit(.minutes(10)))
struct ExactOnceTests {
    @Test("AutoExecutor run, map and forEachOutput call every input exactly once", arguments: [5, 200, 20_000])
    func exactlyOnce(_ count: Int) throws {
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: longSample)
        let log = newLog()
        let run = try auto.run(AppendCall.self, LoggedCall.series(count, log: log))
        #expect(run.outputs == Array(0..<count))
        #expect(calls(in: log) == Dictionary(uniqueKeysWithValues: (0..<count).map { ($0, 1) }), "run")

        let mapped = newLog()
        #expect(try auto.map(AppendCall.self, LoggedCall.series(count, log: mapped)) == Array(0..<count))
        #expect(calls(in: mapped) == Dictionary(uniqueKeysWithValues: (0..<count).map { ($0, 1) }), "map")

        let streamed = newLog()
        var seen: [Int] = []
        _ = try auto.run(AppendCall.self, LoggedCall.series(count, log: streamed)) { index, output in
            #expect(index == output)
            seen.append(index)
        }
        #expect(seen == Array(0..<count))
        #expect(calls(in: streamed) == Dictionary(uniqueKeysWithValues: (0..<count).map { ($0, 1) }), "stream")
    }

    @Test("The profiler never calls an input twice unless the task is idempotent; it says the sample ran out")
    func profilerOnce() throws {
        var options = ProfilerOptions()
        options.minimumCalls = 50
        options.minimumSeconds = 0.2
        options.maximumSeconds = 0.5
        let log = newLog()
        let run = try Profiler(options: options).measure(AppendCall.self, sample: LoggedCall.series(40, log: log))
        let counts = calls(in: log)
        #expect(!counts.isEmpty)
        #expect(counts.values.allSatisfy { $0 == 1 }, "\(counts.filter { $0.value > 1 })")
        #expect(run.profile.notes.contains { $0.contains("the sample ran out") }, "\(run.profile.notes)")
        // Every output it computed is kept for the input it belongs to.
        for (index, output) in run.outputs.enumerated() {
            if let output { #expect(try output.get() == index) }
        }
    }

    @Test(
        "A failure at input k: exactly the k outputs before it arrive, in order, then the error names k",
        arguments: [3, 150, 15_000])
    func failureKeepsPrefix(_ failing: Int) throws {
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: longSample)
        let log = newLog()
        var seen: [Int] = []
        do {
            _ = try auto.run(AppendCall.self, LoggedCall.series(20_000, log: log, failAt: failing)) { index, _ in
                seen.append(index)
            }
            Issue.record("no error")
        } catch let error as MapError {
            #expect(error.index == failing)
            #expect("\(error.error)".contains("asked to fail at input \(failing)"), "\(error.error)")
        }
        #expect(seen == Array(0..<failing))
        let counts = calls(in: log)
        #expect(counts.values.allSatisfy { $0 == 1 }, "\(counts.filter { $0.value > 1 })")
    }

    @Test(
        "A crash-prone task that crashes is profiled and run in workers: the host survives, the error names the input")
    func crashProneInWorker() throws {
        for failing in [0, 5, 30] {
            let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: quickAuto)
            let log = newLog()
            var seen: [Int] = []
            do {
                _ = try auto.run(CrashingCall.self, LoggedCall.series(40, log: log, failAt: failing)) { index, _ in
                    seen.append(index)
                }
                Issue.record("no error")
            } catch let error as MapError {
                #expect(error.index == failing)
                #expect((error.error as? PoolError)?.code == .workerCrashed, "\(error.error)")
            }
            #expect(seen == Array(0..<failing))
            #expect(calls(in: log).values.allSatisfy { $0 == 1 })
        }
        // Without a crash, every output, each input once.
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: quickAuto)
        let log = newLog()
        let run = try auto.run(CrashingCall.self, LoggedCall.series(60, log: log))
        #expect(run.outputs == Array(0..<60))
        #expect(run.recommendation?.mode == .processes)
        #expect(run.profile?.notes.contains { $0.contains("profiled in a worker process") } == true)
        #expect(calls(in: log) == Dictionary(uniqueKeysWithValues: (0..<60).map { ($0, 1) }))
    }

    @Test("An unregistered task fails up front with the fix, whatever mode the rules would choose")
    func unregisteredUpFront() throws {
        for mode in ["threads workers = 2", "processes workers = 2", "serial"] {
            let rules = try RuleSet(
                source: "rule only when true then \(mode)\n", schema: AdvisorFacts.schema, actions: DecisionMode.actions
            )
            for executable in [WorkerExecutable.path(testToolPath), .current] {
                var options = quickAuto
                options.processes.executable = executable
                let auto = AutoExecutor(advisor: Advisor(rules: rules, machine: testMachine), options: options)
                let before = NotRegistered.calls.load(ordering: .relaxed)
                do {
                    _ = try auto.run(NotRegistered.self, Array(0..<50))
                    Issue.record("\(mode), \(executable): no error")
                } catch let error as PoolError {
                    #expect(error.code == .unknownTask)
                    #expect(error.message.contains("WorkerEntry.runIfWorker"), "\(error.message)")
                    #expect(error.message.contains("NotRegistered"), "\(error.message)")
                }
                #expect(NotRegistered.calls.load(ordering: .relaxed) == before, "ran in this process")
            }
        }
    }
}

@Suite("run and profile call each input once", .serialized, .timeLimit(.minutes(10)))
struct CommandExactOnceTests {
    private func inputs(_ count: Int, log: String, failAt: Int? = nil) throws -> String {
        let lines = (0..<count).map { index in
            "{\"log\": \"\(log)\", \"index\": \(index)" + (failAt.map { ", \"failAt\": \($0)" } ?? "")
                + ", \"work\": 0}"
        }
        return try temporaryFile("logged-\(UUID().uuidString).jsonl", lines.joined(separator: "\n") + "\n")
    }

    @Test("run in auto mode calls each of 20,000 inputs exactly once and writes every output")
    func runOnce() throws {
        let log = newLog()
        let file = try inputs(20_000, log: log)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try runCommand(["run", AppendCall.name, "--inputs", file], executable: testToolPath)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output == (0..<20_000).map { "\($0)\n" }.joined())
        #expect(calls(in: log) == Dictionary(uniqueKeysWithValues: (0..<20_000).map { ($0, 1) }))
    }

    @Test("run in auto mode: a failure at line 701 keeps the 700 outputs before it in FILE.partial and counts them")
    func runFailureKeepsPrefix() throws {
        let log = newLog()
        let file = try inputs(2_000, log: log, failAt: 700)
        let output = commandCache + "/logged-out-\(UUID().uuidString).jsonl"
        defer {
            for path in [file, output, output + ".partial"] { try? FileManager.default.removeItem(atPath: path) }
        }
        let result = try runCommand(
            ["run", AppendCall.name, "--inputs", file, "--output", output], executable: testToolPath)
        #expect(result.status == 1)
        #expect(result.error.contains(":701: the task failed"), "\(result.error)")
        #expect(result.error.contains("the 700 outputs before it are in '\(output).partial'"), "\(result.error)")
        let written = try String(contentsOfFile: output + ".partial", encoding: .utf8)
        #expect(written == (0..<700).map { "\($0)\n" }.joined())
        #expect(calls(in: log).values.allSatisfy { $0 == 1 })
    }

    @Test("profile --exec runs each input line's command at most once")
    func profileExecOnce() throws {
        let log = newLog()
        let script = try temporaryFile("append-\(UUID().uuidString).sh", "#!/bin/sh\necho \"$1\" >> '\(log)'\n")
        chmod(script, 0o700)
        let file = try temporaryFile(
            "exec-lines-\(UUID().uuidString).jsonl", (0..<30).map { "\($0)" }.joined(separator: "\n") + "\n")
        defer { for path in [script, file] { try? FileManager.default.removeItem(atPath: path) } }
        let result = try runCommand(["profile", "--exec", "\(script) {}", "--inputs", file, "--budget", "1"])
        #expect(result.status == 0, "\(result.error)")
        let counts = calls(in: log)
        #expect(!counts.isEmpty)
        #expect(counts.values.allSatisfy { $0 == 1 }, "\(counts.filter { $0.value > 1 }.count) lines ran twice or more")
        #expect(counts.keys.allSatisfy { (0..<30).contains($0) })
    }
}
