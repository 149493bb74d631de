internal import Foundation
internal import PoolAdvisor

/// `demo`'s Python section: each reference Python workload profiled and advised, then run over
/// the same inputs with a plain loop and with Python's own `ThreadPoolExecutor` and
/// `ProcessPoolExecutor` at several sizes, and the advised plan's time set against the fastest.
enum PythonDemo {
    /// A reference Python workload: its function in `pool_advisor_workloads` and its inputs.
    struct Workload: Sendable {
        var name: String
        var function: String
        var favours: String
        /// A fetch stage before `function` (the two profiled as stages a split may run).
        var fetch: String? = nil
        /// The input of item `index`, as a JSON text.
        var input: @Sendable (Int) -> String
    }

    static let workloads: [Workload] = [
        Workload(name: "py-loop", function: "pure_loop", favours: "processes (the GIL)") { _ in "60000" },
        Workload(name: "py-sleep", function: "sleeper", favours: "threads") { _ in "0.01" },
        Workload(name: "py-c-hash", function: "c_hash", favours: "threads (C code releases the GIL)") { _ in "4" },
        Workload(name: "py-fetch-compute", function: "fetch_then_compute", favours: "more processes than cores") { _ in
            "{\"wait\": 0.004, \"work\": 20000}"
        },
        Workload(name: "py-split", function: "compute", favours: "a split", fetch: "fetch") { _ in
            "{\"wait\": 0.004, \"work\": 20000}"
        },
        Workload(name: "py-large-arg", function: "large_argument", favours: "no processes (shipping)") { index in
            "[" + (0..<100_000).map { String(($0 &* 7 &+ index) % 1000) }.joined(separator: ",") + "]"
        },
    ]

    /// One row: the advice and every plan's measured time.
    struct Row: Encodable {
        var workload: String
        var items: Int
        var advised: String
        var advisedPlan: PythonPlan
        var predictedSeconds: Double
        var timings: [PythonPlan]
        var fastest: PythonPlan
        var regret: Double
        var gilEnabled: Bool
    }

    /// Runs the section; prints a table (or JSON lines), and a note when Python is missing.
    static func run(quick: Bool, rounds: Int, only: [String]?, asJSON: Bool, context: CommandContext) throws {
        let chosen = workloads.filter { only?.contains($0.name) ?? true }
        guard !chosen.isEmpty else { return }
        let directory: String
        do {
            directory = try PythonWorkerScript.installedDirectory()
        } catch {
            throw CommandFailure(message: "the Python demo cannot start: \(error.message)")
        }
        if !asJSON {
            context.print(
                "\nPython: the advice against Python's own executors, on the same inputs (seconds, median of \(rounds))\n"
                    + "workload".padded(to: 18) + "items".padded(to: 7) + "advised".padded(to: 66)
                    + "loop".padded(to: 8) + "threads (N)".padded(to: 15) + "processes (N/chunk)".padded(to: 21)
                    + "split (F→N)".padded(to: 15)
                    + "advised".padded(to: 9) + "regret\n")
        }
        var regrets: [Double] = []
        for workload in chosen {
            let row: Row
            do {
                row = try measure(workload, directory: directory, quick: quick, rounds: rounds, context: context)
            } catch let error as PythonError {
                throw CommandFailure(message: "the Python demo of \(workload.name) failed: \(error.message)")
            }
            regrets.append(row.regret)
            context.print(asJSON ? try jsonLine(row) : line(row, style: context.outputStyle))
        }
        if !asJSON, let worst = regrets.max() {
            context.print(
                "\nPython: regret ≤ 1.10 on \(regrets.filter { $0 <= 1.10 }.count) of \(regrets.count) workloads; worst \(NumberText.fixed(worst, decimals: 2)) (the advised plan's time over the fastest of the loop and Python's executors).\n"
            )
        }
    }

    static func measure(
        _ workload: Workload, directory: String, quick: Bool, rounds: Int, context: CommandContext
    ) throws -> Row {
        let function = try PythonFunction(
            "pool_advisor_workloads:\(workload.function)", fetch: workload.fetch.map { "pool_advisor_workloads:\($0)" },
            importPath: [directory])
        let sample = (0..<32).map(workload.input)
        let costs = try PythonExecutorCosts.measured(python: function.python)
        let profile = try PythonProfiler(function, budgetSeconds: quick ? 1 : 2).profile(inputs: sample, costs: costs)
        // A job of about a second run serially (a quarter with --quick), 8 to 2000 items.
        let call = max(profile.task.calls.wallSecondsPerCall.value, 1e-6)
        // At most 32 MB of JSON in all: the inputs travel to the worker in one frame.
        let byBytes = Int(32e6 / max(profile.jsonBytesPerInput, 1))
        let items = min(2000, byBytes, max(8, Int(((quick ? 0.25 : 1.0) / call).rounded())))
        let machine = costs.machineProfile(importSeconds: profile.importSeconds)
        let recommendation = Advisor(machine: machine).recommend(profile.task, items: items)
        let advice = PythonAdvice(recommendation, profile: profile)
        let advised: PythonPlan
        switch recommendation.plan {
        case .serial: advised = .loop
        case .threads(let workers, _): advised = .threads(workers)
        case .processes(let workers, let chunk): advised = .processes(workers, chunksize: chunk ?? 1)
        case .pipeline(let fetch, let compute): advised = .split(fetch: fetch, workers: compute.workers)
        }
        let cores = max(1, profile.interpreter.cores)
        var plans: [PythonPlan] = [
            .loop, .threads(cores), .threads(min(32, cores + 4)), .threads(64), .processes(cores, chunksize: 1),
            .processes(cores, chunksize: max(1, (items + 4 * cores - 1) / (4 * cores))),
        ]
        if function.fetch != nil {
            // Threads enough to keep the cores' processes fed.
            plans.append(.split(fetch: 4 * cores, workers: cores))
        }
        if !plans.contains(where: { $0.sameWay(as: advised) }) { plans.append(advised) }
        let inputs = (0..<items).map(workload.input)
        let timings = try PythonProfiler.timePythonExecutors(function, inputs: inputs, plans: plans, rounds: rounds)
        let fastest = timings.min { ($0.seconds ?? .infinity) < ($1.seconds ?? .infinity) } ?? advised
        let advisedTime = timings.first { $0.sameWay(as: advised) }?.seconds ?? .infinity
        return Row(
            workload: workload.name, items: items, advised: advice.summary, advisedPlan: advised,
            predictedSeconds: recommendation.predictedSeconds, timings: timings, fastest: fastest,
            regret: advisedTime / max(fastest.seconds ?? advisedTime, 1e-9), gilEnabled: profile.interpreter.gilEnabled)
    }

    static func line(_ row: Row, style: Style) -> String {
        func best(_ kind: String) -> String {
            guard let plan = row.timings.filter({ $0.kind == kind }).min(by: { ($0.seconds ?? 0) < ($1.seconds ?? 0) })
            else { return "–" }
            let size =
                kind == "threads"
                ? "\(plan.workers)"
                : kind == "split" ? "\(plan.fetchWorkers)→\(plan.workers)" : "\(plan.workers)/\(plan.chunksize)"
            return "\(DemoTable.short(plan.seconds ?? 0)) (\(size))"
        }
        let advisedTime = row.timings.first { $0.sameWay(as: row.advisedPlan) }?.seconds ?? 0
        let regret = NumberText.fixed(row.regret, decimals: 2)
        return row.workload.padded(to: 18) + "\(row.items)".padded(to: 7) + row.advised.padded(to: 66)
            + DemoTable.short(row.timings.first { $0.kind == "loop" }?.seconds ?? 0).padded(to: 8)
            + best("threads").padded(to: 15) + best("processes").padded(to: 21) + best("split").padded(to: 15)
            + DemoTable.short(advisedTime).padded(to: 9)
            + (row.regret <= 1.10 ? style.paint(regret, "32") : style.paint(regret, "31")) + "\n"
    }

    static func jsonLine(_ row: Row) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(row), as: UTF8.self) + "\n"
    }
}

extension PythonDemo {
    /// Whether `python3` is in PATH.
    static func interpreterRuns() -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/python3")
        }
    }
}
