import Foundation
import PoolExecutors
import Testing

/// A process the test saw: its pid and its start time, so a pid reused after it ended is not
/// mistaken for it.
private struct SeenProcess: CustomStringConvertible {
    let pid: Int32
    let startTime: String

    init?(pid: Int32) {
        guard let start = Self.startTime(pid) else { return nil }
        self.pid = pid
        self.startTime = start
    }

    /// Gone: ended (a zombie waits only for its reaper) or replaced by another process.
    var isGone: Bool {
        guard kill(pid, 0) == 0, let status = processStatus(pid), status.state != "Z" else { return true }
        return Self.startTime(pid) != startTime
    }

    /// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
    private static func startTime(_ pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }

    var description: String { "\(pid)" }
}

/// The fixture runs shell commands that each leave a background child, on pool threads, in pool
/// workers or on its main thread; the test ends the fixture and every command process must go.
@Suite("Commands die with their parent", .serialized, .timeLimit(.minutes(10)))
struct CommandLifetimeTests {
    /// Starts `pool-test-worker commands PLACE END DIR` and returns it with the command
    /// processes (shells and their background children) once all have written their pids.
    /// Starts the fixture parent and waits for its commands' pid files; returns the parent, the
    /// command processes still alive when read, and how many pid files appeared (a parent whose
    /// main returns may take some commands down before they are read: they are gone, as due).
    private func startParent(place: String, end: String, directory: String) throws -> (
        Process, [SeenProcess], started: Int
    ) {
        let parent = Process()
        parent.executableURL = URL(fileURLWithPath: fixturePath)
        parent.arguments = ["commands", place, end, directory]
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        parent.environment = environment
        parent.standardOutput = FileHandle.nullDevice
        try parent.run()
        let names = (place == "main" ? [0] : [0, 1]).flatMap { ["command\($0).shell", "command\($0).child"] }
        var seen: [SeenProcess] = []
        var started = 0
        // Bounded, never timed: the files appear once the commands run.
        _ = eventually(seconds: 60) {
            let pids = names.compactMap { name -> Int32? in
                let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)
                return text.flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            guard pids.count == names.count else { return false }
            started = pids.count
            seen = pids.compactMap { SeenProcess(pid: $0) }
            return true
        }
        return (parent, seen, started)
    }

    /// Kills and reaps `parent` if a failed expectation left it running (never a reaped pid).
    private func stop(_ parent: Process) {
        guard parent.isRunning else { return }
        kill(parent.processIdentifier, SIGKILL)
        parent.waitUntilExit()
    }

    private func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lifetime-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(directory.path)
    }

    /// Waits (bounded) for every command process to go; kills any that stays, so that a failing
    /// run leaves nothing behind.
    private func expectAllGone(_ processes: [SeenProcess], _ context: String) {
        let gone = eventually(seconds: 20) { processes.allSatisfy(\.isGone) }
        let left = processes.filter { !$0.isGone }
        #expect(gone, "\(context): command processes \(left) outlived their parent")
        for process in left { kill(process.pid, SIGKILL) }
    }

    @Test(
        "a command and its children die when the parent is killed",
        arguments: ["threads", "processes", "main"], [SIGKILL, SIGTERM])
    func parentKilled(place: String, signal: Int32) throws {
        try withDirectory { directory in
            let (parent, processes, _) = try startParent(place: place, end: "wait", directory: directory)
            defer { stop(parent) }
            // Every command running (before the fix they outlived the parent just the same).
            try #require(processes.count == (place == "main" ? 2 : 4), "the commands did not start")
            #expect(processes.allSatisfy { !$0.isGone })
            kill(parent.processIdentifier, signal)
            try #require(eventually(seconds: 60) { !parent.isRunning }, "the parent survived signal \(signal)")
            expectAllGone(processes, "\(place), signal \(signal)")
        }
    }

    @Test("a command and its children die when the parent's main returns", arguments: ["threads", "processes"])
    func mainReturns(place: String) throws {
        try withDirectory { directory in
            let (parent, processes, started) = try startParent(place: place, end: "return", directory: directory)
            defer { stop(parent) }
            // All four started; those already gone when read died with the returning main.
            try #require(started == 4, "the commands did not start")
            try #require(eventually(seconds: 60) { !parent.isRunning }, "the parent did not return")
            #expect(parent.terminationReason == .exit && parent.terminationStatus == 0)
            expectAllGone(processes, "\(place), main returned")
        }
    }

    @Test("a finished command's background children are killed with it")
    func backgroundLeftovers() throws {
        try withDirectory { directory in
            let pidFile = directory + "/child"
            let outcome = try ExternalCommand.run(
                CommandCall(arguments: ["/bin/sh", "-c", #"sleep 600 & echo $! > "$0""#, pidFile]))
            #expect(outcome.succeeded)
            let pid = try #require(
                Int32(
                    try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(
                        in: .whitespacesAndNewlines)))
            // The child was killed before the shell was reaped; only its reaper may lag behind.
            let gone = eventually(seconds: 20) { processIsGone(pid) }
            #expect(gone, "the background sleep \(pid) outlived its command")
            if !gone { kill(pid, SIGKILL) }
        }
    }
}
