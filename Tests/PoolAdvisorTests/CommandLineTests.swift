import Foundation
import PoolAdvisor
import PoolTestFixtures
import Synchronization
import Testing

/// The `pool-advisor` executable built beside this test bundle.
let commandPath: String = {
    let bundle =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("pool-advisor").path
}()

/// The CLI with the tests' own tasks (`pool-advisor-test-tool`), built beside this test bundle.
let testToolPath = URL(fileURLWithPath: commandPath).deletingLastPathComponent().appendingPathComponent(
    "pool-advisor-test-tool"
).path

/// A private directory for this test process (unique per run, removed when the process exits)
/// so the tests neither read nor write the user's calibration, and leave nothing in /tmp.
let commandCache: String = {
    let path = NSTemporaryDirectory() + "pool-advisor-cli-tests-\(getpid())-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    commandCacheToRemove.withLock { $0 = path }
    atexit {
        if let path = commandCacheToRemove.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
    }
    return path
}()

/// What the exit handler removes (a C function pointer captures nothing, so it reads this).
private let commandCacheToRemove = Mutex<String?>(nil)

struct CommandResult {
    var status: Int32
    var output: String
    var error: String
}

/// Starts the CLI with `arguments` and returns it running (to be signalled, then waited for):
/// no standard input, stdout thrown away, stderr into the file at `stderrPath` (created here).
func startCommand(_ arguments: [String], executable: String = commandPath, stderrPath: String) throws -> Process {
    _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["XDG_CACHE_HOME"] = commandCache
    process.environment = environment
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
    process.standardOutput = FileHandle.nullDevice
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    try err.close()
    return process
}

/// Runs the CLI with `arguments`, no standard input, stdout and stderr captured through files.
func runCommand(_ arguments: [String], environment extra: [String: String] = [:], executable: String = commandPath)
    throws -> CommandResult
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["XDG_CACHE_HOME"] = commandCache
    environment["SWIFT_BACKTRACE"] = "enable=no"
    for (key, value) in extra { environment[key] = value }
    process.environment = environment
    let directory = FileManager.default.temporaryDirectory
    let outURL = directory.appendingPathComponent("cli-out-\(UUID().uuidString)")
    let errURL = directory.appendingPathComponent("cli-err-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return CommandResult(
        status: process.terminationStatus, output: try String(contentsOf: outURL, encoding: .utf8),
        error: try String(contentsOf: errURL, encoding: .utf8))
}

/// Writes `text` to a file called `name` in a directory of its own, so tests that run at the
/// same time never share a file.
func temporaryFile(_ name: String, _ text: String) throws -> String {
    let directory = commandCache + "/" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/" + name
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite("The pool-advisor command", .serialized, .timeLimit(.minutes(10)))
struct CommandLineTests {
    func profile(_ workload: String) throws -> ProfileJSON {
        let result = try runCommand(["profile", workload, "--json", "--budget", "3", "--items", "2000"])
        #expect(result.status == 0, "\(result.error)")
        return try JSONDecoder().decode(ProfileJSON.self, from: Data(result.output.utf8))
    }

    struct ProfileJSON: Decodable {
        var profile: TaskProfile
        var machine: MachineProfile
        var recommendation: Recommendation
    }

    /// Pure computation must run in parallel, one worker per core. Whether threads or processes
    /// depends on how well two copies share this host's cores (in a debug build on a VM whose two
    /// vCPUs share a physical core they may not), so only the parallel shape is asserted here;
    /// `docs/cli.md` shows the release build's reading.
    @Test(
        "profile --json: pure computation runs in parallel, a worker per core (two beside a busy program); one item serially"
    )
    func computeInParallel() throws {
        try withMachineMeasurement {
            let document = try profile("cpu")
            #expect(
                [.threads, .processes].contains(document.recommendation.mode), "\(document.recommendation.explanation)")
            // One worker per core; twice that when other programs (the suites running beside
            // this one) held the cores during the profile.
            let busy = (document.profile.host.othersBusyCores ?? 0) >= HostLoad.busyOthersCores
            #expect(document.recommendation.workers == document.machine.usableCores * (busy ? 2 : 1))
            #expect(document.profile.calls.cpuRatio.value > 0.8)
            #expect(document.recommendation.decidingRule?.reason?.isEmpty == false)
            let single = try runCommand(["profile", "cpu", "--json", "--budget", "1", "--items", "1"])
            let one = try JSONDecoder().decode(ProfileJSON.self, from: Data(single.output.utf8))
            #expect(one.recommendation.mode == .serial)
            #expect(one.recommendation.decidingRule?.rule == "single-item")
        }
    }

    @Test("profile --json: sleeping and pipe waits run on many threads", arguments: ["sleep", "pipe-read"])
    func waitsOnManyThreads(_ workload: String) throws {
        let document = try profile(workload)
        #expect(document.recommendation.mode == .threads, "\(document.recommendation.explanation)")
        #expect((document.recommendation.workers ?? 0) >= 16)
        #expect(document.recommendation.decidingRule?.rule == "waiting-dominates")
    }

    @Test("the report on a pipe has no colour codes, and the saved JSON can be explained again")
    func reportAndExplain() throws {
        let report = try runCommand(["profile", "sleep", "--budget", "1"])
        #expect(report.status == 0, "\(report.error)")
        #expect(report.output.contains("recommended"))
        // The time split's sleep share is measured, so only its size is asserted: most of the time.
        let share = report.output.firstMatch(of: /sleep (\d+)%/).flatMap { Int($0.1) }
        #expect((share ?? 0) >= 50, "\(report.output)")
        #expect(!report.output.contains("\u{1B}["))
        let saved = try runCommand(["profile", "sleep", "--json", "--budget", "1", "--items", "500"])
        let path = try temporaryFile("sleep-profile.json", saved.output)
        let explained = try runCommand(["rules", "explain", path])
        #expect(explained.status == 0, "\(explained.error)")
        #expect(explained.output.contains("500 items: threads × 64 (rule waiting-dominates)"))
        #expect(explained.output.contains("✓ cpu_ratio < 0.3"))
        let fewer = try runCommand(["rules", "explain", path, "--items", "1"])
        #expect(fewer.output.contains("serial (rule single-item)"))
    }

    @Test("rules check: the default file is fine; a broken file exits 1 naming file:line:col")
    func rulesCheck() throws {
        let good = try runCommand([
            "rules", "check", repositoryRoot.appendingPathComponent("rules/decision-matrix.rules").path,
        ])
        #expect(good.status == 0, "\(good.error)")
        #expect(good.output.contains(": ok, "))
        let broken = try temporaryFile(
            "broken.rules", "rule fine when true then serial\nrule bad priority 3 when cpu_ration > 0.8 then threads\n")
        let result = try runCommand(["rules", "check", broken])
        #expect(result.status == 1)
        #expect(result.error.contains("broken.rules:2:26: error: unknown fact 'cpu_ration'; did you mean 'cpu_ratio'?"))
        #expect(result.error.contains("                         ^"))
        let missing = try runCommand(["rules", "check", commandCache + "/no-such.rules"])
        #expect(missing.status == 1)
        #expect(missing.error.contains("cannot read the rules file"))
    }

    @Test("profile --rules with a broken file exits 1 before profiling")
    func profileWithBrokenRules() throws {
        let broken = try temporaryFile("broken2.rules", "rule a when cpu_ratio >> 1 then serial\n")
        let result = try runCommand(["profile", "cpu", "--rules", broken])
        #expect(result.status == 1)
        #expect(result.error.contains("broken2.rules:1:24: error: expected a value"))
        #expect(result.output.isEmpty)
    }

    @Test(
        "usage errors exit 2 with the usage and a hint",
        arguments: [
            (["frobnicate"], "unknown command 'frobnicate'"),
            (["profil"], "unknown command 'profil' (did you mean 'profile'?)"),
            (["--verbose"], "unknown option '--verbose'"),
            (["profile"], "missing TASK"),
            (["profile", "cpu", "--sampel", "3"], "unknown option '--sampel' (did you mean '--sample'?)"),
            (["profile", "cpu", "--sample", "lots"], "invalid value 'lots' for '--sample'"),
            (["profile", "cpu", "--budget"], "option '--budget' needs a value"),
            (["profile", "cpux"], "unknown task 'cpux' (did you mean 'cpu'?)"),
            (["profile", "cpu", "extra"], "unexpected argument 'extra'"),
            (["rules", "lst"], "unknown subcommand 'lst' (did you mean 'list'?)"),
            (["tasks", "--json=yes"], "option '--json' takes no value"),
        ])
    func usageErrors(_ arguments: [String], _ message: String) throws {
        let result = try runCommand(arguments)
        #expect(result.status == 2)
        #expect(result.error.contains("error: \(message)"), "\(result.error)")
        #expect(result.error.contains("Usage: pool-advisor"))
        #expect(result.output.isEmpty)
    }

    @Test(
        "--help on every command and --version exit 0",
        arguments: [
            ["--help"], ["help"], ["help", "profile"], ["profile", "--help"], ["calibrate", "--help"],
            ["tasks", "--help"],
            ["rules", "--help"], ["rules", "list", "--help"], ["rules", "check", "--help"],
            ["rules", "explain", "--help"],
            ["rules", "facts", "--help"],
        ])
    func help(_ arguments: [String]) throws {
        let result = try runCommand(arguments)
        #expect(result.status == 0)
        #expect(result.output.contains("USAGE: pool-advisor"))
        #expect(result.error.isEmpty)
    }

    @Test("--version, tasks, rules list and rules facts print what they say")
    func listings() throws {
        let version = try runCommand(["--version"])
        #expect(version.output == "pool-advisor \(PoolAdvisorVersion.current)\n")
        let tasks = try runCommand(["tasks", "--json"])
        struct Entry: Decodable { var name: String }
        let entries = try JSONDecoder().decode([Entry].self, from: Data(tasks.output.utf8))
        let expected = ReferenceWorkloads.all.map { $0.workloadName }
        #expect(Array(entries.map(\.name).prefix(expected.count)) == expected)
        #expect(entries.count == expected.count, "a staged task's stages are not listed: \(entries.map(\.name))")
        let rules = try runCommand(["rules", "list"])
        #expect(rules.output.contains("cpu-does-not-scale [priority 48, decision] rules/decision-matrix.rules:"))
        let facts = try runCommand(["rules", "facts"])
        #expect(facts.output.contains("cpu_efficiency"))
    }

    /// On a terminal (a pseudo-terminal made by util-linux `script`) the output is coloured,
    /// unless `NO_COLOR` is set or `TERM=dumb`.
    @Test(
        "colour on a terminal only, and never with NO_COLOR",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func colourOnTerminals() throws {
        func underTerminal(_ environment: [String: String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            process.arguments = ["-qec", "'\(commandPath)' rules list", "/dev/null"]
            var merged = ProcessInfo.processInfo.environment
            merged.removeValue(forKey: "NO_COLOR")
            for (key, value) in environment { merged[key] = value }
            process.environment = merged
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            return String(decoding: data, as: UTF8.self)
        }
        let coloured = try underTerminal(["TERM": "xterm"])
        #expect(coloured.contains("cpu-does-not-scale"))
        #expect(coloured.contains("\u{1B}[1m"))
        let plain = try underTerminal(["TERM": "xterm", "NO_COLOR": "1"])
        #expect(plain.contains("cpu-does-not-scale"))
        #expect(!plain.contains("\u{1B}["))
        #expect(!(try underTerminal(["TERM": "dumb"])).contains("\u{1B}["))
    }

    @Test("profile --inputs: a malformed line is reported with its line number, exit 1")
    func malformedInputs() throws {
        let inputs = try temporaryFile("inputs.jsonl", "{\"seed\": 1, \"iterations\": 10}\n{\"seed\": 2,\n")
        let result = try runCommand(["profile", "cpu", "--inputs", inputs])
        #expect(result.status == 1)
        #expect(result.error.contains("inputs.jsonl:2: not a valid input"), "\(result.error)")
        let good = try temporaryFile(
            "good.jsonl", "{\"seed\": 1, \"iterations\": 2000}\n\n{\"seed\": 2, \"iterations\": 2000}\n")
        let profiled = try runCommand(["profile", "cpu", "--inputs", good, "--json", "--budget", "1"])
        #expect(profiled.status == 0, "\(profiled.error)")
        let document = try JSONDecoder().decode(ProfileJSON.self, from: Data(profiled.output.utf8))
        // 2000 iterations is microseconds, not the milliseconds of the built-in inputs.
        #expect(document.profile.calls.wallSecondsPerCall.value < 0.001)
    }
}
