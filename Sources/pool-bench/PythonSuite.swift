import Foundation
import PoolAdvisor

/// `pool-bench python`: pool-advisor's pool of Python workers (`run --python`'s engine) against
/// Python's own `ProcessPoolExecutor` and `ThreadPoolExecutor`, on the same function and inputs
/// in the same rounds: a fresh pool's first result, an empty call's cost in a map, and 1 MB
/// arguments and results. Each timing includes starting and stopping the pool, as a program
/// pays it. Python's executors are timed inside a Python worker, in the same interpreter.
struct PythonSuite {
    let quick: Bool
    let rounds: Int

    static let ours = "ProcessPool of Python workers × 2"
    static let processes = "ProcessPoolExecutor(2) (peer)"
    static let threads = "ThreadPoolExecutor(2) (peer)"

    func run() -> Report {
        let report = Report(suite: "python")
        let items = quick ? 4_000 : 20_000
        let payloads = quick ? 8 : 32
        let function: PythonFunction
        do {
            let directory = try PythonWorkerScript.installedDirectory()
            function = try PythonFunction("pool_advisor_workloads:echo", importPath: [directory])
        } catch {
            report.note("the Python worker could not be written out: \(error)")
            return report
        }
        let small = (0..<items).map { "\($0 &* 7919 % 1_000_003)" }
        let block = "\"" + String(repeating: "x", count: 1 << 20) + "\""
        let chunk = max(1, items / 8)
        for _ in 0..<rounds {
            do {
                settle()
                try ours(function, [small[0]], chunk: 1, into: report, figure: "first_result", unit: "ms") { $0 * 1e3 }
                settle()
                try ours(function, small, chunk: chunk, into: report, figure: "map_echo_per_item", unit: "µs") {
                    $0 / Double(items) * 1e6
                }
                settle()
                try ours(
                    function, Array(repeating: block, count: payloads), chunk: 1, into: report,
                    figure: "payload_1MB", unit: "MB/s"
                ) { Double(payloads * 2 << 20) / $0 / 1e6 }
                settle()
                try peers(function, small, chunk: chunk, payload: block, payloads: payloads, into: report)
            } catch {
                report.note("a round failed: \(error)")
            }
        }
        func ratio(_ figure: String, _ numerator: String, _ denominator: String, _ peer: String) {
            report.addRatio(
                RatioSpec(
                    figure: figure, numerator: numerator, denominator: denominator, peer: peer,
                    target: "info", meets: { _ in true }))
        }
        ratio("first_result", Self.ours, Self.processes, "ProcessPoolExecutor")
        ratio("map_echo_per_item", Self.ours, Self.processes, "ProcessPoolExecutor")
        ratio("map_echo_per_item", Self.ours, Self.threads, "ThreadPoolExecutor")
        ratio("payload_1MB", Self.processes, Self.ours, "ProcessPoolExecutor")
        report.note(
            "ours: a ProcessPool of 2 Python workers started, mapped with chunks of \(chunk) (\(items) items) or 1, and shut down, each value a JSON text; the peers: the same function and values (decoded) through Python's executors, pools started and shut down within the time, pickled"
        )
        return report
    }

    /// Times a fresh pool of two Python workers mapping `inputs`, start and shutdown included.
    private func ours(
        _ function: PythonFunction, _ inputs: [String], chunk: Int, into report: Report, figure: String, unit: String,
        _ value: (Double) -> Double
    ) throws {
        let started = Date()
        let pool = try ProcessPool(configuration: try function.poolConfiguration(workers: 2))
        let outputs = try pool.map(PythonCall.self, inputs, chunkSize: chunk)
        pool.shutdown()
        let seconds = Date().timeIntervalSince(started)
        guard outputs.count == inputs.count, outputs.last?.text == inputs.last else {
            report.note("\(figure): the outputs differ from the inputs")
            return
        }
        report.record(figure, Self.ours, unit: unit, ours: true, value: value(seconds))
    }

    /// Python's executors over the same values, timed in the interpreter.
    private func peers(
        _ function: PythonFunction, _ small: [String], chunk: Int, payload: String, payloads: Int, into report: Report
    ) throws {
        let first = try PythonProfiler.timePythonExecutors(
            function, inputs: [small[0]], plans: [.processes(2, chunksize: 1)], rounds: 1)
        if let seconds = first.first?.seconds {
            report.record("first_result", Self.processes, unit: "ms", value: seconds * 1e3)
        }
        let mapped = try PythonProfiler.timePythonExecutors(
            function, inputs: small, plans: [.processes(2, chunksize: chunk), .threads(2)], rounds: 1)
        for plan in mapped {
            guard let seconds = plan.seconds else { continue }
            let name = plan.kind == "threads" ? Self.threads : Self.processes
            report.record("map_echo_per_item", name, unit: "µs", value: seconds / Double(small.count) * 1e6)
        }
        let shipped = try PythonProfiler.timePythonExecutors(
            function, inputs: Array(repeating: payload, count: payloads), plans: [.processes(2, chunksize: 1)],
            rounds: 1)
        if let seconds = shipped.first?.seconds {
            report.record(
                "payload_1MB", Self.processes, unit: "MB/s", value: Double(payloads * 2 << 20) / seconds / 1e6)
        }
    }
}
