import Foundation
import PoolAdvisor
import PoolBenchTasks

/// `pool-bench hosts --host LOGIN…`: workers started through a launcher (ssh, srun, any
/// command; GNU parallel's login form) against local workers of the same lean executable, in
/// the same rounds: first result, round trip, 1 MB payloads, and an empty map.
///
/// The launcher runs `pool-bench-worker` at this executable's path on the far side (a shared
/// file system, or the loopback address).
struct HostsSuite {
    let quick: Bool
    let rounds: Int
    let logins: [HostLogin]

    var roundTrips: Int { quick ? 200 : 1_000 }
    var payloadItems: Int { quick ? 16 : 64 }
    var mapCount: Int { quick ? 4_000 : 20_000 }
    static let local = "ProcessPool, lean worker, this machine"

    func run() -> Report {
        let report = Report(suite: "hosts")
        guard !logins.isEmpty else {
            report.note(
                "no host given: pool-bench hosts --host 'ssh -p 2222 user@host' (any login run --ssh takes; repeat for more)"
            )
            return report
        }
        let worker = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
            .deletingLastPathComponent().appendingPathComponent("pool-bench-worker").path
        let launchers =
            [(Self.local, WorkerLauncher.local)]
            + logins.map { ("ProcessPool via \($0.launcher.engine) \($0.launcher.host)", $0.launcher) }
        for _ in 0..<rounds {
            for (name, launcher) in launchers {
                do {
                    try measure(launcher, worker: worker, name: name, into: report)
                } catch {
                    report.note("\(name): \(error)")
                }
                if let raw = RawLauncherPeer(launcher) {
                    raw.measure(into: report, roundTrips: roundTrips, payloadItems: payloadItems)
                }
            }
        }
        func ratio(_ figure: String, _ numerator: String, _ denominator: String, _ peer: String) {
            report.addRatio(
                RatioSpec(
                    figure: figure, numerator: numerator, denominator: denominator, peer: peer, target: "info",
                    meets: { _ in true }))
        }
        for (name, launcher) in launchers.dropFirst() {
            for figure in ["first_result", "round_trip", "map_empty_auto"] {
                ratio(figure, name, Self.local, "this machine")
            }
            ratio("payload_1MB", Self.local, name, "this machine")
            let raw = RawLauncherPeer.name(launcher)
            ratio("first_result", name, raw, "bare launcher")
            ratio("round_trip", name, raw, "bare launcher")
            ratio("payload_1MB", raw, name, "bare launcher")
        }
        report.note(
            "ratios: the launched worker's figure over the local worker's, and over the bare launcher running cat (for MB/s, the other way round)"
        )
        if let (name, launcher) = launchers.dropFirst().first, let host = measuredHost(name, launcher, report) {
            ClusterModel(host: host, quick: quick).add(to: report)
        }
        return report
    }

    /// The first launched host as this run measured it (medians), with this machine's cores:
    /// the host the cluster model multiplies.
    private func measuredHost(_ name: String, _ launcher: WorkerLauncher, _ report: Report) -> HostProfile? {
        func median(_ figure: String) -> Double? {
            report.series.first { $0.figure == figure && $0.implementation == name }.map { Stats($0.values).median }
        }
        guard let start = median("first_result"), let trip = median("round_trip"), let rate = median("payload_1MB")
        else { return nil }
        return HostProfile(
            host: launcher.host, launcher: launcher.description, reportedHostName: launcher.host,
            executableBuild: "", measuredAtEpochSeconds: Date().timeIntervalSince1970, usableCores: Machine.usableCores,
            workerStartSeconds: start / 1e3, roundTripSeconds: trip / 1e6, bandwidthBytesPerSecond: rate * 1e6)
    }

    private func measure(_ launcher: WorkerLauncher, worker: String, name: String, into report: Report) throws {
        func pool(workers: Int) throws -> ProcessPool {
            var configuration = ProcessPool.Configuration(hosts: [WorkerHost(launcher, workers: workers)])
            configuration.executable = .path(worker, requireSameBuild: false)
            configuration.name = "bench"
            configuration.hostFailureLimit = 1
            return try ProcessPool(configuration: configuration)
        }
        var first: ProcessPool?
        let firstSeconds = try secondsTaken {
            first = try pool(workers: 1)
            let answer = try first!.submit(NoopTask.self, 1).result()
            precondition(answer == 1)
        }
        report.measure("first_result", name, unit: "ms", ours: true, value: firstSeconds * 1e3)
        guard let single = first else { return }
        defer { single.shutdown() }
        var times: [Double] = []
        for index in 0..<roundTrips {
            times.append(
                try secondsTaken {
                    let answer = try single.submit(NoopTask.self, index).result()
                    precondition(answer == index)
                })
        }
        report.measure("round_trip", name, unit: "us", ours: true, value: Stats(times).median * 1e6)
        let block = [UInt8](repeating: 0x5a, count: 1 << 20)
        let payloadSeconds = try secondsTaken {
            for _ in 0..<payloadItems { _ = try single.submit(WorkerEcho.self, block).result() }
        }
        report.measure(
            "payload_1MB", name, unit: "MB/s", ours: true,
            value: Double(2 * payloadItems * block.count) / payloadSeconds / 1e6)
        let two = try pool(workers: 2)
        defer { two.shutdown() }
        _ = try two.map(NoopTask.self, Array(0..<200), chunkSize: 1)
        let inputs = Array(0..<mapCount)
        let mapSeconds = try secondsTaken { _ = try two.map(NoopTask.self, inputs) }
        report.measure("map_empty_auto", name, unit: "us/item", ours: true, value: mapSeconds / Double(mapCount) * 1e6)
    }
}

/// The bare launcher: `cat` at the far end through the same command, fed and read by this
/// process (a byte ping-pong, then 1 MB blocks). What any protocol over that stream pays.
struct RawLauncherPeer {
    let launcher: WorkerLauncher
    let arguments: [String]

    init?(_ launcher: WorkerLauncher) {
        guard let arguments = launcher.commandLine(runningShell: "exec cat") else { return nil }
        self.launcher = launcher
        self.arguments = arguments
    }

    static func name(_ launcher: WorkerLauncher) -> String { "\(launcher.engine) … cat, bare" }

    func measure(into report: Report, roundTrips: Int, payloadItems: Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in launcher.environment { environment[key] = value }
        process.environment = environment
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        let writer = input.fileHandleForWriting
        let reader = output.fileHandleForReading
        let name = Self.name(launcher)
        do {
            let started = secondsTaken {
                try? process.run()
                writer.write(Data([1]))
                _ = reader.readData(ofLength: 1)
            }
            guard process.isRunning else { return }
            report.measure("first_result", name, unit: "ms", value: started * 1e3)
            var times: [Double] = []
            for _ in 0..<roundTrips {
                times.append(
                    secondsTaken {
                        writer.write(Data([2]))
                        _ = reader.readData(ofLength: 1)
                    })
            }
            report.measure("round_trip", name, unit: "us", value: Stats(times).median * 1e6)
            let block = Data(repeating: 0x5a, count: 1 << 20)
            let seconds = secondsTaken {
                for _ in 0..<payloadItems {
                    // Written from another thread: cat answers while the block is still going in.
                    let done = DispatchSemaphore(value: 0)
                    DispatchQueue.global().async {
                        writer.write(block)
                        done.signal()
                    }
                    var read = 0
                    while read < block.count {
                        let chunk = reader.readData(ofLength: block.count - read)
                        if chunk.isEmpty { break }
                        read += chunk.count
                    }
                    done.wait()
                }
            }
            report.measure(
                "payload_1MB", name, unit: "MB/s", value: Double(2 * payloadItems * block.count) / seconds / 1e6)
        }
        try? writer.close()
        process.waitUntilExit()
    }
}
