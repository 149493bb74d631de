import Foundation

/// `pool-bench cli`: `pool-advisor run`'s end-to-end throughput on a JSON Lines file (read,
/// decode, run, encode, write) for `tiny` (a call of about a microsecond), beside the same
/// file through `jq -c .` and Python's `json` (decode and encode each line, no task at all):
/// the command line's own cost per line, against tools people already pipe lines through.
/// Target (issue 14): ≥ 1,000,000 lines/s on 2 cores.
struct CommandLineSuite {
    let quick: Bool
    let rounds: Int

    /// Python's `json` over the lines: each decoded and encoded again, one output line each.
    static let pythonPeer = """
        import json, sys
        write = sys.stdout.write
        with open(sys.argv[1]) as lines:
            for line in lines:
                write(json.dumps(json.loads(line)))
                write("\\n")
        """

    func run() -> Report {
        let report = Report(suite: "cli")
        let lines = quick ? 200_000 : 1_000_000
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pool-bench-cli-\(getpid()).jsonl"
        ).path
        defer { try? FileManager.default.removeItem(atPath: file) }
        var text = ""
        text.reserveCapacity(lines * 8)
        for index in 0..<lines { text += "\(index &* 7919 % 1_000_003)\n" }
        guard FileManager.default.createFile(atPath: file, contents: Data(text.utf8)) else {
            report.note("could not write \(file)")
            return report
        }
        let tool = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("pool-advisor").path
        let ours: [(name: String, arguments: [String])] = [
            ("pool-advisor run tiny --mode threads", ["--mode", "threads"]),
            ("pool-advisor run tiny (auto)", []),
        ]
        let peers: [(name: String, command: [String])] = [
            ("jq -c . (peer)", ["jq", "-c", ".", file]),
            ("python3 json (peer)", ["python3", "-c", Self.pythonPeer, file]),
        ]
        var missing: Set<String> = []
        for _ in 0..<rounds {
            for (name, arguments) in ours {
                settle()
                guard let seconds = Self.timed(tool, ["run", "tiny", "--inputs", file, "--quiet"] + arguments) else {
                    missing.insert("\(tool) (build it: swift build -c release)")
                    continue
                }
                report.record(
                    "lines_per_second", name, unit: "klines/s", ours: true, value: Double(lines) / seconds / 1e3)
            }
            for (name, command) in peers {
                settle()
                guard let seconds = Self.timed("/usr/bin/env", command) else {
                    missing.insert(command[0])
                    continue
                }
                report.record("lines_per_second", name, unit: "klines/s", value: Double(lines) / seconds / 1e3)
            }
        }
        for (name, _) in peers where !report.series.contains(where: { $0.implementation == name }) {
            report.note("\(name) did not run (missing: \(missing.sorted().joined(separator: ", ")))")
        }
        for (name, _) in peers where report.series.contains(where: { $0.implementation == name }) {
            report.addRatio(
                RatioSpec(
                    figure: "lines_per_second", numerator: ours[0].name, denominator: name, peer: name,
                    target: "info (higher is faster)", meets: { _ in true }))
        }
        let best = Stats(report.series.first { $0.implementation == ours[0].name }?.values ?? []).median
        report.note(
            "run tiny --mode threads: \(format(best)) thousand lines/s end to end over \(lines) lines (target ≥ 1,000: \(best >= 1_000 ? "met" : "NOT met")); the peers decode and encode each line with no task"
        )
        return report
    }

    /// Seconds `executable arguments` took, its output thrown away; nil when it could not run or failed.
    static func timed(_ executable: String, _ arguments: [String]) -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let started = Date()
        do { try process.run() } catch { return nil }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return Date().timeIntervalSince(started)
    }
}
