import Foundation
import PoolExecutors
import Testing

/// The fixture worker executable, built beside this test bundle.
let fixturePath: String = {
    let bundle =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("pool-test-worker").path
}()

/// A pool of fixture workers; `mode` sets FIXTURE_MODE for them.
func fixturePool(
    workers: Int = 2, mode: String? = nil, _ adjust: (inout ProcessPool.Configuration) -> Void = { _ in }
) throws -> ProcessPool {
    try ProcessPool(configuration: fixtureConfiguration(workers: workers, mode: mode, adjust))
}

/// The settings of a pool of fixture workers; `mode` sets FIXTURE_MODE for them.
func fixtureConfiguration(
    workers: Int = 2, mode: String? = nil, _ adjust: (inout ProcessPool.Configuration) -> Void = { _ in }
) -> ProcessPool.Configuration {
    var configuration = ProcessPool.Configuration(workers: workers)
    configuration.executable = .path(fixturePath)
    configuration.startTimeout = .seconds(30)
    if let mode { configuration.environment["FIXTURE_MODE"] = mode }
    // Fixture workers crash on purpose: skip Swift's backtracer, which is slow (and under
    // ThreadSanitizer was seen to hang) on those deliberate crashes.
    configuration.environment["SWIFT_BACKTRACE"] = "enable=no"
    adjust(&configuration)
    return configuration
}

// Mirrors of the fixture's tasks: same names and signatures, bodies never run here.
struct Echo: PoolTask {
    static var name: String { "pool_test_worker.Echo" }
    static func run(_ input: Int) -> Int { fatalError("runs in the worker") }
}

struct Square: PoolTask {
    static var name: String { "pool_test_worker.Square" }
    static func run(_ input: Int) -> Int { fatalError("runs in the worker") }
}

struct PickyTask: PoolTask {
    static var name: String { "pool_test_worker.PickyTask" }
    static func run(_ input: Int) throws -> Int { fatalError("runs in the worker") }
}

struct Crashy: PoolTask {
    static var name: String { "pool_test_worker.Crashy" }
    static func run(_ input: Int) -> Int { fatalError("runs in the worker") }
}

struct Nap: PoolTask {
    static var name: String { "pool_test_worker.Nap" }
    static func run(_ input: Int) -> Int { fatalError("runs in the worker") }
}

struct WhoAmI: PoolTask {
    static var name: String { "pool_test_worker.WhoAmI" }
    static func run(_ input: Int) -> Int32 { fatalError("runs in the worker") }
}

struct Measure: PoolTask {
    static var name: String { "pool_test_worker.Measure" }
    static func run(_ input: [UInt8]) -> Int { fatalError("runs in the worker") }
}

struct Chatty: PoolTask {
    static var name: String { "pool_test_worker.Chatty" }
    static func run(_ input: String) -> String { fatalError("runs in the worker") }
}

struct CrashOnce: PoolTask {
    static var name: String { "pool_test_worker.CrashOnce" }
    static var isIdempotent: Bool { true }
    static func run(_ input: String) -> String { fatalError("runs in the worker") }
}

struct Nested: PoolTask {
    static var name: String { "pool_test_worker.Nested" }
    static func run(_ input: Int) throws -> Int { fatalError("runs in the worker") }
}

/// The state letter and parent pid from `/proc/PID/stat`, or nil if the process is gone.
func processStatus(_ pid: Int32) -> (state: Character, parent: Int32)? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
    guard fields.count > 1, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
    return (state, parent)
}

/// Whether `pid` is gone (or a zombie awaiting its reaper).
func processIsGone(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0, let status = processStatus(pid) else { return true }
    return status.state == "Z"
}

/// Whether this test process (and so the fixture worker built with it) runs under
/// ThreadSanitizer, whose runtime turns a worker's fatal signal into exit status 66.
let underThreadSanitizer: Bool = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") != nil

/// Starts the fixture worker as a parent of its own (`arguments`, such as `parent`) and reads
/// the line it prints once its pool serves: `workers <pid> <pid>`. Returns the process, those
/// pids and the line (for failure messages).
func startFixtureParent(_ arguments: [String], environment extra: [String: String] = [:]) throws -> (
    process: Process, pids: [Int32], line: String
) {
    let parent = Process()
    parent.executableURL = URL(fileURLWithPath: fixturePath)
    parent.arguments = arguments
    if !extra.isEmpty { parent.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 } }
    let output = Pipe()
    parent.standardOutput = output
    try parent.run()
    var line = ""
    let reader = output.fileHandleForReading
    while !line.contains("\n") {
        let chunk = reader.availableData
        if chunk.isEmpty { break }
        line += String(decoding: chunk, as: UTF8.self)
    }
    let pids = line.split(separator: " ").dropFirst().compactMap {
        Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return (parent, pids, line)
}

/// Runs the fixture worker as a parent of its own (`arguments`, such as `cycles 200`) and
/// returns the whitespace-separated fields of the report it prints, with its exit status
/// checked: a leak check in a process of its own, where no other suite's descriptors or
/// children can blur the counts.
func fixtureParentReport(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws
    -> [Substring]
{
    let parent = Process()
    parent.executableURL = URL(fileURLWithPath: fixturePath)
    parent.arguments = arguments
    parent.environment = ["SWIFT_BACKTRACE": "enable=no"]
    let output = Pipe()
    parent.standardOutput = output
    try parent.run()
    let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    parent.waitUntilExit()
    #expect(parent.terminationStatus == 0, "\(report)", sourceLocation: sourceLocation)
    return report.split(whereSeparator: \.isWhitespace)
}

struct TaggedNap: PoolTask {
    static var name: String { "pool_test_worker.TaggedNap" }
    static func run(_ input: Int) -> String { fatalError("runs in the worker") }
}

struct NapThenWhoAmI: PoolTask {
    static var name: String { "pool_test_worker.NapThenWhoAmI" }
    static func run(_ input: Int) -> Int32 { fatalError("runs in the worker") }
}
