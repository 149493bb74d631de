import Foundation
import PoolAdvisor
import PoolBenchTasks

#if canImport(Glibc)
    import Glibc
#endif

/// The processes suite's peers and scale figures that need a process of their own:
/// - `pool-bench pipe-echo`: echoes 8-byte messages from standard input to standard output,
///   the far end of a raw pipe ping-pong, the floor any process pool's round trip stands on;
/// - `pool-bench scale-child KIND`: runs one large map and prints its seconds and this
///   process's peak resident memory, so the peak is the map's alone.
enum ProcessPeers {
    /// Handles the child roles; returns only when `arguments` asks for none.
    static func runChildRoleIfAsked(_ arguments: [String]) {
        switch arguments.dropFirst().first {
        case "pipe-echo":
            var message: UInt64 = 0
            while read(0, &message, 8) == 8 {
                guard write(1, &message, 8) == 8 else { break }
            }
            exit(0)
        case "scale-child":
            let kind = arguments.dropFirst(2).first ?? ""
            let seconds = secondsTaken { scaleJob(kind) }
            print("{\"seconds\": \(seconds), \"peakBytes\": \(peakResidentBytes())}")
            exit(0)
        default:
            return
        }
    }

    /// Round trips of 8 bytes through two pipes to a child that echoes them, in seconds, sorted.
    static func pipePingPong(trips: Int) -> [Double] {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["pipe-echo"]
        let toChild = Pipe()
        let fromChild = Pipe()
        child.standardInput = toChild
        child.standardOutput = fromChild
        guard (try? child.run()) != nil else { return [] }
        let out = toChild.fileHandleForWriting.fileDescriptor
        let back = fromChild.fileHandleForReading.fileDescriptor
        var times: [Double] = []
        times.reserveCapacity(trips)
        var message: UInt64 = 0
        for trip in 0..<(trips + 100) {
            message = UInt64(trip)
            let start = DispatchTime.now().uptimeNanoseconds
            guard write(out, &message, 8) == 8, read(back, &message, 8) == 8 else { break }
            if trip >= 100 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        try? toChild.fileHandleForWriting.close()
        child.waitUntilExit()
        return times.sorted()
    }

    /// Runs `pool-bench scale-child kind` and returns its seconds and peak resident bytes.
    static func scale(_ kind: String) -> (seconds: Double, peakBytes: Double)? {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["scale-child", kind]
        let output = Pipe()
        child.standardOutput = output
        guard (try? child.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        guard child.terminationStatus == 0,
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Double],
            let seconds = object["seconds"], let peak = object["peakBytes"]
        else { return nil }
        return (seconds, peak)
    }

    /// The scale jobs: 10 M tiny items; 2 GB in 32 arguments of 64 MB (one buffer shared by
    /// all, so the inputs themselves hold 64 MB); 10,000 items on 64 workers.
    private static func scaleJob(_ kind: String) {
        var configuration = ProcessPool.Configuration(workers: kind == "workers64" ? 64 : 2)
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        configuration.executable = .path(
            folder.appendingPathComponent("pool-bench-worker").path, requireSameBuild: false)
        let pool = try! ProcessPool(configuration: configuration)
        defer { pool.shutdown() }
        switch kind {
        case "items10M":
            let outputs = try! pool.map(NoopTask.self, Array(0..<10_000_000))
            precondition(outputs.count == 10_000_000 && outputs[9_999_999] == 9_999_999)
        case "payload2GB":
            let block = [UInt8](repeating: 5, count: 64 << 20)
            let sizes = try! pool.map(ByteCountTask.self, Array(repeating: block, count: 32), chunkSize: 1)
            precondition(sizes.reduce(0, +) == 32 * (64 << 20))
        case "workers64":
            let outputs = try! pool.map(NoopTask.self, Array(0..<10_000))
            precondition(outputs.count == 10_000)
        default:
            exit(2)
        }
    }

    /// This process's peak resident set (VmHWM in /proc/self/status), in bytes.
    private static func peakResidentBytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0
            return kilobytes * 1024
        }
        return 0
    }
}
