import Foundation
import PoolAdvisor
import PoolBenchTasks

/// `pool-bench processes`: ProcessPool against Python's ProcessPoolExecutor (fork and spawn),
/// 2 workers each, interleaved round by round.
///
/// Start-up is measured for three worker executables, to show what linking costs a worker:
/// `pool-bench-worker` (no Foundation), `pool-bench-worker-essentials` (FoundationEssentials)
/// and pool-bench itself (full Foundation).
struct ProcessesSuite {
    let quick: Bool
    let rounds: Int
    let workers = 2

    var mapCount: Int { quick ? 4_000 : 20_000 }
    var pythonMapCount: Int { quick ? 2_000 : 20_000 }
    var roundTrips: Int { quick ? 300 : 2_000 }
    var bigMB: Int { quick ? 16 : 64 }
    var oneMBItems: Int { PayloadFigures.oneMBItems }
    var bigItems: Int { PayloadFigures.bigItems }

    static let lean = "ProcessPool, lean worker"
    static let rawPipe = "raw pipe ping-pong, two processes"

    func run() -> Report {
        let report = Report(suite: "processes")
        let folder = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
            .deletingLastPathComponent()
        let leanWorker = folder.appendingPathComponent("pool-bench-worker").path
        let essentialsWorker = folder.appendingPathComponent("pool-bench-worker-essentials").path
        let flavors: [(String, WorkerExecutable)] = [
            (Self.lean, .path(leanWorker, requireSameBuild: false)),
            ("ProcessPool, FoundationEssentials worker", .path(essentialsWorker, requireSameBuild: false)),
            ("ProcessPool, pool-bench (Foundation) worker", .current),
        ]
        var pythonMissing: String?
        var pingSpread: [(Double, Double)] = []

        for _ in 0..<rounds {
            for (name, executable) in flavors {
                report.measure("first_result", name, unit: "ms", ours: true, value: firstResult(executable) * 1e3)
            }
            let pool = makePool(.path(leanWorker, requireSameBuild: false))
            _ = try! pool.map(NoopTask.self, Array(0..<1_000), chunkSize: 1)  // both workers up and warm
            report.measure("round_trip", Self.lean, unit: "us", ours: true, value: medianRoundTrip(pool) * 1e6)
            // Bimodal on a VM (two processes on one core, or on two): its spread is noted below.
            let pings = ProcessPeers.pipePingPong(trips: roundTrips)
            if !pings.isEmpty {
                report.record("round_trip", Self.rawPipe, unit: "us", value: pings[pings.count / 2] * 1e6)
                pingSpread.append((pings[pings.count / 10] * 1e6, pings[pings.count * 9 / 10] * 1e6))
            }
            let inputs = Array(0..<mapCount)
            report.measure(
                "map_empty_chunk1", Self.lean, unit: "us/item", ours: true,
                value: secondsTaken { _ = try! pool.map(NoopTask.self, inputs, chunkSize: 1) } / Double(mapCount) * 1e6)
            report.measure(
                "map_empty_auto", Self.lean + ", automatic chunks", unit: "us/item", ours: true,
                value: secondsTaken { _ = try! pool.map(NoopTask.self, inputs) } / Double(mapCount) * 1e6)
            let pipeOnly = makePool(.path(leanWorker, requireSameBuild: false)) { $0.sharedMemoryThreshold = nil }
            _ = try! pipeOnly.map(NoopTask.self, Array(0..<200), chunkSize: 1)
            let payloads = PayloadFigures(quick: quick, bigMB: bigMB)
            payloads.measure(into: report, shared: pool, pipeOnly: pipeOnly)
            pipeOnly.shutdown()
            pool.shutdown()

            if pythonMissing == nil {
                settle()
                let arguments = [pythonMapCount, roundTrips, oneMBItems, bigMB, bigItems, workers].map(String.init)
                switch PythonPeer.run(script: "python_process_peer.py", arguments: arguments) {
                case .success(let figures):
                    for figure in figures {
                        var name = figure.figure
                        if name == "map_empty_chunk100" { name = "map_empty_auto" }
                        report.record(name, figure.peer ?? "python", unit: figure.unit, value: figure.value)
                    }
                case .failure(let unavailable):
                    pythonMissing = unavailable.reason
                }
            }
        }
        if let pythonMissing { report.note("Python peer skipped: \(pythonMissing)") }
        if !pingSpread.isEmpty {
            let text = pingSpread.map { String(format: "%.1f–%.1f", $0.0, $0.1) }.joined(separator: ", ")
            report.note("raw pipe ping-pong, 10th to 90th percentile per round (µs): \(text)")
        }
        measureScale(into: report)
        addRatios(to: report)
        return report
    }

    private func addRatios(to report: Report) {
        let fork = "python ProcessPoolExecutor, fork"
        let spawn = "python ProcessPoolExecutor, spawn"
        func ratio(
            _ figure: String, _ numerator: String, _ denominator: String, _ peer: String, _ target: String,
            _ meets: @escaping (Double) -> Bool
        ) {
            report.addRatio(
                RatioSpec(
                    figure: figure, numerator: numerator, denominator: denominator, peer: peer, target: target,
                    meets: meets))
        }
        ratio("first_result", fork, Self.lean, fork, "> 1×", { $0 > 1 })
        ratio("first_result", spawn, Self.lean, spawn, "≥ 10×", { $0 >= 10 })
        ratio("first_result", fork, "ProcessPool, pool-bench (Foundation) worker", fork, "info", { _ in true })
        ratio("round_trip", fork, Self.lean, fork, "≥ 15×", { $0 >= 15 })
        ratio("round_trip", Self.lean, Self.rawPipe, "raw pipe", "≤ 1.2×", { $0 <= 1.2 })
        ratio("map_empty_chunk1", fork + ", chunksize=1", Self.lean, fork, "≥ 10×", { $0 >= 10 })
        ratio("map_empty_auto", fork + ", chunksize=100", Self.lean + ", automatic chunks", fork, "≥ 3×", { $0 >= 3 })
        ratio("payload_1MB", Self.lean, fork, fork, "≥ 5×", { $0 >= 5 })
        ratio("payload_\(bigMB)MB", Self.lean, fork, fork, "≥ 10×", { $0 >= 10 })
        ratio("payload_1MB", PayloadFigures.zeroCopy, fork, fork, "≥ 5×", { $0 >= 5 })
        ratio("payload_\(bigMB)MB", PayloadFigures.zeroCopy, fork, fork, "≥ 10×", { $0 >= 10 })
        PayloadFigures(quick: quick, bigMB: bigMB).addRatios(to: report)
    }

    /// The scale figures, once (each in a process of its own, so its peak memory is its own):
    /// 10 M tiny items, 2 GB of arguments, and 64 workers on this machine's cores.
    private func measureScale(into report: Report) {
        guard !quick else {
            report.note("scale figures (10 M items, 2 GB, 64 workers) skipped with --quick")
            return
        }
        for (kind, figure) in [
            ("items10M", "map_10M_items"), ("payload2GB", "map_2GB_payload"), ("workers64", "map_10k_on_64_workers"),
        ] {
            guard let measured = ProcessPeers.scale(kind) else {
                report.note("\(figure) could not be measured")
                continue
            }
            report.record(figure, Self.lean + ", seconds", unit: "s", value: measured.seconds)
            report.record(figure, Self.lean + ", peak RSS of the parent", unit: "MB", value: measured.peakBytes / 1e6)
        }
    }

    private func makePool(
        _ executable: WorkerExecutable, _ adjust: (inout ProcessPool.Configuration) -> Void = { _ in }
    ) -> ProcessPool {
        var configuration = ProcessPool.Configuration(workers: workers)
        configuration.executable = executable
        configuration.name = "bench"
        adjust(&configuration)
        return try! ProcessPool(configuration: configuration)
    }

    /// Seconds from creating a pool of 2 to the first result (the pool's shutdown not counted).
    private func firstResult(_ executable: WorkerExecutable) -> Double {
        var pool: ProcessPool?
        let seconds = secondsTaken {
            pool = makePool(executable)
            precondition(try! pool!.submit(NoopTask.self, 1).result() == 1)
        }
        pool?.shutdown()
        return seconds
    }

    private func medianRoundTrip(_ pool: ProcessPool) -> Double {
        var times: [Double] = []
        times.reserveCapacity(roundTrips)
        for index in 0..<roundTrips {
            times.append(secondsTaken { precondition(try! pool.submit(NoopTask.self, index).result() == index) })
        }
        return Stats(times).median
    }
}
