import Foundation
import PoolAdvisor
import PoolTestFixtures
import Testing

/// `profile --python` and `run --python` against the reference Python workloads in
/// Tests/Fixtures/python, with the `python3` on PATH (CI has one; required there).
@Suite("Python functions", .serialized, .timeLimit(.minutes(10)))
struct PythonFunctionTests {
    static let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures/python").path
    static var pythonUsable: Bool {
        TestEngines.required
            || (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
                FileManager.default.isExecutableFile(atPath: "\($0)/python3")
            }
    }

    /// The CLI with the fault fixtures and the reference workloads on the import path.
    func python(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        let workloads = try PythonWorkerScript.installedDirectory(base: commandCache + "/pool-advisor/python")
        return try runCommand(arguments + ["--path", Self.fixtures, "--path", workloads], environment: environment)
    }

    @Test("the embedded worker and workloads are their .py files byte for byte")
    func embeddedWorkerMatchesItsFile() throws {
        let directory = repositoryRoot.appendingPathComponent("Sources/PoolProfiler/Python").path
        let worker = try String(contentsOfFile: directory + "/pool_advisor_worker.py", encoding: .utf8)
        let workloads = try String(contentsOfFile: directory + "/pool_advisor_workloads.py", encoding: .utf8)
        #expect(worker == PythonWorkerScript.source, "pool_advisor_worker.py changed: run .ci/embed-python")
        #expect(
            workloads == PythonWorkerScript.workloadsSource, "pool_advisor_workloads.py changed: run .ci/embed-python")
    }

    @Test("the written-out worker script is refused when a link or another text stands in its place")
    func workerScriptIsNeverFollowedOrReplaced() throws {
        let directory = try temporaryFile("unused", "").replacingOccurrences(of: "/unused", with: "")
        let path = try PythonWorkerScript.installedPath(directory: directory)
        #expect(path.hasPrefix(directory + "/") && path.hasSuffix("/pool_advisor_worker.py"))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == PythonWorkerScript.source)
        #expect(try PythonWorkerScript.installedPath(directory: directory) == path)  // reused as it is
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/etc/hostname")
        #expect(throws: PythonError.self) { try PythonWorkerScript.installedPath(directory: directory) }
        try FileManager.default.removeItem(atPath: path)
        try "print('not ours')\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: PythonError.self) { try PythonWorkerScript.installedPath(directory: directory) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "print('not ours')\n")
    }

    @Test("module:function is checked before anything starts")
    func specsAreChecked() throws {
        for bad in ["", "mod", "mod:", ":f", "mod:f:g", "mod f:g", "1mod:f", "mod:f()", "mod;rm:f"] {
            #expect(throws: PythonError.self, "\(bad)") { try PythonFunction(bad) }
        }
        #expect(try PythonFunction("pkg.mod:Class.method").spec == "pkg.mod:Class.method")
        #expect(throws: PythonError.self) { try PythonFunction("m:f", importPath: ["/a:b"]) }
        let usage = try runCommand(["run", "--python", "not a spec", "--inputs", "/dev/null", "--mode", "serial"])
        #expect(usage.status == 2 && usage.error.contains("module:function"), "\(usage.error)")
    }

    @Test("run --python: outputs in input order, the same on processes, threads and serial", .enabled(if: pythonUsable))
    func runKeepsOrderInEveryMode() throws {
        let lines = (0..<60).map { "{\"n\": \($0), \"s\": \"é\\u00e9\", \"l\": [\($0), null, true]}" }
        let file = try temporaryFile("values.jsonl", lines.joined(separator: "\n") + "\n")
        let module = try temporaryFile("echoes.py", "def echo(value):\n    return value\n")
        let directory = (module as NSString).deletingLastPathComponent
        var outputs: [String] = []
        for mode in [
            ["--mode", "serial"], ["--mode", "processes", "--workers", "2", "--chunk", "7"],
            ["--mode", "threads", "--workers", "4"],
        ] {
            let result = try runCommand(
                ["run", "--python", "echoes:echo", "--inputs", file, "--path", directory, "--quiet"] + mode)
            #expect(result.status == 0, "\(mode): \(result.error)")
            outputs.append(result.output)
        }
        let decoded = try outputs[0].split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(decoded.count == 60 && decoded.enumerated().allSatisfy { ($1?["n"] as? Int) == $0 })
        #expect(decoded.first??["s"] as? String == "éé")
        #expect(outputs[1] == outputs[0] && outputs[2] == outputs[0])
    }

    @Test("a raising call, a result JSON cannot hold and a crash each fail their own input", .enabled(if: pythonUsable))
    func failuresStayWithTheirInput() throws {
        let file = try temporaryFile("five.jsonl", "1\n2\n3\n4\n5\n")
        let raised = try python([
            "run", "--python", "pa_faults:raises_on_three", "--inputs", file, "--mode", "processes", "--halt", "never",
            "--quiet",
        ])
        #expect(raised.status == 3, "\(raised.error)")
        #expect(raised.output.split(separator: "\n") == ["2", "4", "8", "10"], "\(raised.output)")
        #expect(raised.error.contains("line 3") && raised.error.contains("ValueError"), "\(raised.error)")
        #expect(raised.error.contains("three is not allowed") && raised.error.contains("pa_faults.py"))

        let notJSON = try python(["run", "--python", "pa_faults:not_json", "--inputs", file, "--mode", "serial"])
        #expect(notJSON.status == 1, "\(notJSON.error)")
        #expect(notJSON.error.contains("five.jsonl:1") && notJSON.error.contains("not JSON-serialisable"))

        // The crash on input 3 fails input 3 alone; exact-once: each other input ran once.
        let count = try temporaryFile("count.txt", "")
        let crashed = try python(
            [
                "run", "--python", "pa_faults:crash_or_count", "--inputs", file, "--mode", "processes", "--workers",
                "2", "--halt", "never", "--quiet",
            ], environment: ["POOL_ADVISOR_COUNT_FILE": count])
        #expect(crashed.status == 3, "\(crashed.error)")
        #expect(crashed.output.split(separator: "\n") == ["1", "2", "4", "5"], "\(crashed.output)")
        #expect(crashed.error.contains("line 3") && crashed.error.contains("exited with status 3"), "\(crashed.error)")
        let counted = try String(contentsOfFile: count, encoding: .utf8).split(separator: "\n").sorted()
        #expect(counted == ["1", "2", "3", "4", "5"], "each input ran once: \(counted)")
    }

    @Test("a crash in a long batch fails its input alone; every other input runs once", .enabled(if: pythonUsable))
    func aCrashInALongBatchFailsOnlyItsInput() throws {
        let file = try temporaryFile("many.jsonl", (1...120).map { "\($0)\n" }.joined())
        let count = try temporaryFile("count.txt", "")
        let result = try python(
            [
                "run", "--python", "pa_faults:crash_or_count", "--inputs", file, "--mode", "processes", "--workers",
                "1",
                "--chunk", "40", "--halt", "never", "--quiet",
            ], environment: ["POOL_ADVISOR_COUNT_FILE": count])
        #expect(result.status == 3, "\(result.error)")
        let expected = (1...120).filter { $0 != 3 }.map(String.init)
        #expect(result.output.split(separator: "\n").map(String.init) == expected, "\(result.error)")
        let counted = try String(contentsOfFile: count, encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        #expect(counted.sorted() == Array(1...120), "each input ran exactly once")
    }

    @Test(
        "threads mode: a crash fails the calls beside it as possibly run, and runs none twice",
        .enabled(if: pythonUsable))
    func aCrashOnThreadsRunsNothingTwice() throws {
        let file = try temporaryFile("twenty.jsonl", (1...20).map { "\($0)\n" }.joined())
        let count = try temporaryFile("count.txt", "")
        let result = try python(
            [
                "run", "--python", "pa_faults:crash_or_count", "--inputs", file, "--mode", "threads", "--workers", "4",
                "--halt", "never", "--quiet",
            ], environment: ["POOL_ADVISOR_COUNT_FILE": count])
        #expect(result.status == 3, "\(result.error)")
        let counted = try String(contentsOfFile: count, encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        #expect(Set(counted).count == counted.count, "an input ran twice: \(counted.sorted())")
        let written = result.output.split(separator: "\n").compactMap { Int($0) }
        #expect(!written.contains(3) && written.allSatisfy { counted.contains($0) })
        #expect(written == written.sorted(), "outputs in input order")
    }

    @Test(
        "hostile values fail their own input and the worker serves on; CRLF lines and --tag", .enabled(if: pythonUsable)
    )
    func hostileValuesFailAlone() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let file = try temporaryFile("hostile.jsonl", "\(deep)\r\n\"\\ud800\"\r\n{\r\n7\r\n")
        let module = try temporaryFile("same.py", "def same(value):\n    return value\n")
        let directory = (module as NSString).deletingLastPathComponent
        let result = try runCommand(
            [
                "run", "--python", "same:same", "--inputs", file, "--path", directory, "--mode", "serial", "--halt",
                "never", "--tag", "--quiet",
            ])
        #expect(result.status == 3, "\(result.error)")
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(result.output.prefix(500))")
        #expect(lines.last == "{\"line\":4,\"output\":7}", "a Python result is tagged as JSON, not as a string")
        #expect(lines.contains("{\"line\":2,\"output\":\"\\ud800\"}"), "\(lines)")
        #expect(lines.first?.contains("\"error\"") == true && lines.first?.contains("RecursionError") == true)
        #expect(lines[2].contains("not one JSON value"))
    }

    @Test("--timeout kills the call that overruns and no other", .enabled(if: pythonUsable))
    func aTimeoutFailsOnlyItsCall() throws {
        let file = try temporaryFile("naps.jsonl", "0.01\n600\n0.01\n0.01\n")
        let result = try python(
            [
                "run", "--python", "pool_advisor_workloads:sleeper", "--inputs", file, "--mode", "processes",
                "--workers", "1", "--chunk", "4", "--timeout", "2", "--halt", "never", "--quiet",
            ])
        #expect(result.status == 3, "\(result.error)")
        #expect(result.output.split(separator: "\n") == ["0.01", "0.01", "0.01"], "\(result.error)")
        #expect(result.error.contains("line 2") && result.error.contains("timeout"), "\(result.error)")
    }

    @Test("a function that cannot be imported or found is named with the reason", .enabled(if: pythonUsable))
    func importProblemsAreNamed() throws {
        let file = try temporaryFile("one.jsonl", "1\n")
        let missing = try python(["run", "--python", "no_such_module:f", "--inputs", file, "--mode", "serial"])
        #expect(missing.status == 1)
        #expect(missing.error.contains("cannot import module 'no_such_module'") && missing.error.contains("--path"))
        let absent = try python(["profile", "--python", "pool_advisor_workloads:absent", "--inputs", file])
        #expect(absent.status == 1)
        #expect(
            absent.error.contains("has no function 'absent'") && absent.error.contains("pure_loop"), "\(absent.error)")
    }

    @Test(
        "profile --python: a sleeping function is advised threads, with the interpreter and GIL reported",
        .enabled(if: pythonUsable))
    func sleepingFunctionIsAdvisedThreads() throws {
        let file = try temporaryFile("sleep.jsonl", String(repeating: "0.01\n", count: 20))
        let result = try python(
            ["profile", "--python", "pool_advisor_workloads:sleeper", "--inputs", file, "--budget", "1", "--json"])
        #expect(result.status == 0, "\(result.error)")
        let advised = try JSONDecoder().decode(PythonAdvisedJSON.self, from: Data(result.output.utf8))
        #expect(advised.python.interpreter.implementation.isEmpty == false)
        #expect(advised.python.task.calls.cpuRatio.value < 0.3)
        #expect(advised.recommendation.mode == .threads)
        #expect(advised.advice.executor == "ThreadPoolExecutor")
        #expect(advised.advice.snippet.contains("ThreadPoolExecutor(max_workers="))
        #expect(advised.advice.snippet.contains("from pool_advisor_workloads import sleeper"))
        #expect(advised.machine.processMapItemSeconds > 0)
    }

    @Test(
        "profile --python --fetch profiles two stages, and a split is priced and written with both names",
        .enabled(if: pythonUsable))
    func aFetchStageMakesTwoStages() throws {
        let file = try temporaryFile("split.jsonl", String(repeating: "{\"wait\": 0.002, \"work\": 5000}\n", count: 20))
        let result = try python([
            "profile", "--python", "pool_advisor_workloads:compute", "--fetch", "pool_advisor_workloads:fetch",
            "--inputs", file, "--budget", "1", "--json",
        ])
        #expect(result.status == 0, "\(result.error)")
        let advised = try JSONDecoder().decode(PythonAdvisedJSON.self, from: Data(result.output.utf8))
        #expect(advised.python.fetch == "pool_advisor_workloads:fetch")
        #expect(
            advised.python.task.declared?.stages == ["pool_advisor_workloads:fetch", "pool_advisor_workloads:compute"])
        #expect(advised.recommendation.predicted.pipeline != nil, "a task with stages gets a pipeline's price")
        if advised.recommendation.mode == .pipeline {
            #expect(advised.advice.snippet.contains("fetching.map(fetch, inputs)"))
            #expect(advised.advice.snippet.contains("computing.map(compute, fetched)"))
        }
        let usage = try runCommand(["profile", "cpu", "--fetch", "m:f"])
        #expect(usage.status == 2 && usage.error.contains("go with --python"), "\(usage.error)")
    }

    @Test(
        "profile --python measures a heavy import and the GIL's hold on a pure-Python loop", .enabled(if: pythonUsable))
    func heavyImportAndGILAreMeasured() throws {
        let file = try temporaryFile("loop.jsonl", String(repeating: "20000\n", count: 20))
        let slow = try python(["profile", "--python", "pa_slow_import:double", "--inputs", file, "--budget", "0.5"])
        #expect(slow.status == 0, "\(slow.error)")
        #expect(slow.output.contains("heavy import"), "\(slow.output)")
        let loop = try python([
            "profile", "--python", "pool_advisor_workloads:pure_loop", "--inputs", file, "--budget", "1", "--json",
        ])
        #expect(loop.status == 0, "\(loop.error)")
        let advised = try JSONDecoder().decode(PythonAdvisedJSON.self, from: Data(loop.output.utf8))
        #expect(advised.python.task.scaling != nil, "a computing function gets the thread test")
        #expect(advised.python.interpreter.gilCheck.isEmpty == false)
        #expect(advised.advice.snippet.contains("if __name__ == \"__main__\":"))
    }
}

/// The parts of `profile --python --json` the tests read.
struct PythonAdvisedJSON: Decodable {
    var python: PythonProfile
    var machine: MachineProfile
    var recommendation: Recommendation
    var advice: PythonAdvice
}
