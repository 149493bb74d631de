import Foundation
import PoolAdvisor
import Testing

/// The repository's root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

@Suite("The default decision matrix")
struct DecisionMatrixTests {
    @Test("the rules compiled into the binary are byte for byte rules/decision-matrix.rules")
    func embeddedIdentity() throws {
        let file = try Data(contentsOf: repositoryRoot.appendingPathComponent("rules/decision-matrix.rules"))
        #expect(
            file == Data(Advisor.defaultRulesSource.utf8),
            "rules/decision-matrix.rules changed: run .ci/embed-rules to embed it again")
    }

    @Test("the default rules load without warnings")
    func loadsCleanly() {
        #expect(Advisor.defaultRules.warnings.isEmpty)
        #expect(Advisor.defaultRules.summaries.count > 10)
    }

    /// A CPU-bound task that scales, on a 2-core machine like this one, 1000 items of 1 ms.
    static func baseline() -> Facts {
        var facts = Facts([
            "items": .number(1000), "call_seconds": .number(0.001), "cpu_seconds": .number(0.001),
            "cpu_ratio": .number(1),
            "blocked_ratio": .number(0), "run_queue_ratio": .number(0), "io_share": .number(0),
            "lock_share": .number(0),
            "sleep_share": .number(0), "dominant_wait": .text("none"), "scaling_threads": .number(2),
            "cpu_efficiency": .number(0.98), "serial_fraction": .number(0.03), "speedup": .number(1.94),
            "noisy_host": .boolean(false), "borderline": .boolean(false), "borderline_figures": .text("none"),
            "failed_calls": .number(0), "input_bytes": .number(16), "output_bytes": .number(9),
            "ship_seconds": .number(2e-6), "ship_ratio": .number(0.002), "crash_prone": .boolean(false),
            "thread_unsafe": .boolean(false), "has_stages": .boolean(false), "runs_command": .boolean(false),
            "children_cpu_ratio": .number(0), "cores": .number(2), "cpu_workers": .number(2),
            "others_cores": .number(0),
            "thread_start_seconds": .number(27e-6), "thread_dispatch_seconds": .number(0.6e-6),
            "worker_start_seconds": .number(0.010), "round_trip_seconds": .number(19e-6),
            "process_item_seconds": .number(0.8e-6), "serial_seconds": .number(1.0), "threads_seconds": .number(0.52),
            "processes_seconds": .number(0.53), "pipeline_seconds": .unknown, "split_pipeline_seconds": .unknown,
            "best_parallel_seconds": .number(0.52),
            "process_speedup": .unknown, "process_over_threads": .unknown,
        ])
        facts["call_seconds"] = .number(0.001)
        return facts
    }

    struct Cell: Sendable, CustomTestStringConvertible {
        let name: String
        let changes: [String: FactValue]
        let rule: String
        let mode: DecisionMode
        var parameters: [String: Double] = [:]
        var testDescription: String { name }
    }

    static let cells: [Cell] = [
        Cell(
            name: "CPU-bound, scales on threads", changes: [:], rule: "cpu-scales-on-threads", mode: .threads,
            parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, scales on threads, processes measured a little further and predicted faster",
            changes: [
                "serial_fraction": .number(0.11), "speedup": .number(1.8), "process_speedup": .number(2.0),
                "threads_seconds": .number(0.56), "processes_seconds": .number(0.53),
            ],
            rule: "cpu-processes-scale-further", mode: .processes, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, scales on threads, processes measured 5–10 % further (short runs' noise): threads",
            changes: [
                "serial_fraction": .number(0.11), "speedup": .number(1.8), "process_speedup": .number(1.95),
                "threads_seconds": .number(0.56), "processes_seconds": .number(0.53),
            ],
            rule: "cpu-scales-on-threads", mode: .threads, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, scales on threads, processes measured further but predicted slower (start-up)",
            changes: [
                "serial_fraction": .number(0.11), "speedup": .number(1.8), "process_speedup": .number(1.85),
                "threads_seconds": .number(0.56), "processes_seconds": .number(0.57),
            ],
            rule: "cpu-scales-on-threads", mode: .threads, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, scales on threads, processes predicted faster but measured no further than threads",
            changes: [
                "serial_fraction": .number(0.11), "speedup": .number(1.8), "process_speedup": .number(1.8),
                "threads_seconds": .number(0.56), "processes_seconds": .number(0.55),
            ],
            rule: "cpu-scales-on-threads", mode: .threads, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, spins (low E_cpu)",
            changes: [
                "cpu_efficiency": .number(0.55), "serial_fraction": .number(0.85), "threads_seconds": .number(0.93),
            ],
            rule: "cpu-does-not-scale", mode: .processes, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, blocking lock (high e, E_cpu fine)",
            changes: [
                "cpu_efficiency": .number(0.92), "serial_fraction": .number(0.98), "lock_share": .number(0.4),
                "threads_seconds": .number(1.0),
            ],
            rule: "cpu-does-not-scale", mode: .processes, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, does not scale, but shipping costs more than it gains",
            changes: [
                "cpu_efficiency": .number(0.5), "serial_fraction": .number(0.9), "ship_ratio": .number(40),
                "processes_seconds": .number(9), "best_parallel_seconds": .number(0.8), "threads_seconds": .number(0.8),
            ],
            rule: "shipping-outweighs-processes", mode: .threads, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, scaling in between, threads cheaper",
            changes: ["cpu_efficiency": .number(0.78), "serial_fraction": .number(0.2)],
            rule: "cpu-unclear-threads-cheaper", mode: .threads, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, serialises on threads, processes measured a little better: the model decides",
            changes: [
                "cpu_efficiency": .number(0.78), "serial_fraction": .number(0.36), "speedup": .number(1.47),
                "process_speedup": .number(1.55), "threads_seconds": .number(0.68), "processes_seconds": .number(0.66),
            ],
            rule: "cpu-unclear-processes-cheaper", mode: .processes, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, scaling in between, processes cheaper",
            changes: [
                "cpu_efficiency": .number(0.78), "serial_fraction": .number(0.2), "threads_seconds": .number(0.7),
            ],
            rule: "cpu-unclear-processes-cheaper", mode: .processes, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, scaling not measured: processes risk less",
            changes: ["cpu_efficiency": .unknown, "serial_fraction": .unknown, "speedup": .unknown],
            rule: "cpu-scaling-unmeasured-processes", mode: .processes, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, E_cpu fine but no speed-up measured (a lock whose waiters sleep looks like this)",
            changes: ["cpu_efficiency": .number(0.97), "serial_fraction": .unknown, "speedup": .unknown],
            rule: "cpu-scaling-unmeasured-processes", mode: .processes, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, noisy host hid the speed-up",
            changes: [
                "cpu_efficiency": .number(0.9), "serial_fraction": .unknown, "speedup": .unknown,
                "noisy_host": .boolean(true),
            ],
            rule: "cpu-scaling-unmeasured-processes", mode: .processes, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, a busy program beside it hid the speed-up: twice the cores take back a share",
            changes: [
                "cpu_efficiency": .number(0.9), "serial_fraction": .unknown, "speedup": .unknown,
                "noisy_host": .boolean(true), "others_cores": .number(1), "cpu_workers": .number(4),
            ],
            rule: "cpu-scaling-unmeasured-processes", mode: .processes, parameters: ["workers": 4, "chunk": 1]),
        Cell(
            name: "CPU-bound, busy program beside it: four copies kept near their fair share of the machine",
            changes: [
                "cpu_efficiency": .number(0.98), "serial_fraction": .unknown, "speedup": .unknown,
                "noisy_host": .boolean(true), "others_cores": .number(1), "cpu_workers": .number(4),
                "scaling_threads": .number(4), "speedup_under_load": .number(1.45),
                "fair_speedup_under_load": .number(1.6), "process_speedup": .number(1.4),
            ],
            rule: "cpu-busy-host-copies-keep-up", mode: .threads, parameters: ["workers": 4, "chunk": 1]),
        Cell(
            name: "CPU-bound, busy program beside it: four copies on a lock fell far short of their fair share",
            changes: [
                "cpu_efficiency": .number(0.97), "serial_fraction": .unknown, "speedup": .unknown,
                "noisy_host": .boolean(true), "others_cores": .number(1), "cpu_workers": .number(4),
                "scaling_threads": .number(4), "speedup_under_load": .number(0.97),
                "fair_speedup_under_load": .number(1.6),
            ],
            rule: "cpu-busy-host-copies-queue", mode: .processes, parameters: ["workers": 4, "chunk": 1]),
        Cell(
            name: "CPU-bound, busy program beside it: processes under the same load went a quarter further",
            changes: [
                "cpu_efficiency": .number(0.97), "serial_fraction": .unknown, "speedup": .unknown,
                "noisy_host": .boolean(true), "others_cores": .number(1), "cpu_workers": .number(4),
                "scaling_threads": .number(4), "speedup_under_load": .number(1.2),
                "fair_speedup_under_load": .number(1.6), "process_speedup": .number(1.6),
            ],
            rule: "cpu-busy-host-processes-further", mode: .processes, parameters: ["workers": 4, "chunk": 1]),
        Cell(
            name: "CPU-bound, busy neighbour weighed as a group: threads short of the fair share, processes no further",
            changes: [
                "cpu_efficiency": .number(0.97), "serial_fraction": .unknown, "speedup": .unknown,
                "noisy_host": .boolean(true), "others_cores": .number(1), "cpu_workers": .number(4),
                "scaling_threads": .number(4), "speedup_under_load": .number(1.0),
                "fair_speedup_under_load": .number(1.6), "process_speedup": .number(1.02),
            ],
            rule: "cpu-busy-host-processes-no-better", mode: .threads, parameters: ["workers": 4, "chunk": 1]),
        Cell(
            name: "CPU-bound, scales on threads beside a busy program: twice the cores",
            changes: ["others_cores": .number(0.9), "cpu_workers": .number(4)], rule: "cpu-scales-on-threads",
            mode: .threads, parameters: ["workers": 4, "chunk": 1]),
        Cell(
            name: "CPU-bound, serialises on threads, processes measured no better (the machine's limit)",
            changes: [
                "cpu_efficiency": .number(0.78), "serial_fraction": .number(0.36), "speedup": .number(1.47),
                "process_speedup": .number(1.4), "threads_seconds": .number(0.68), "processes_seconds": .number(0.7),
            ],
            rule: "cpu-processes-no-better", mode: .threads, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, on a lock part of the time, processes ahead in paired rounds too few to be sure",
            changes: [
                "cpu_efficiency": .number(1.0), "serial_fraction": .number(0.4), "speedup": .number(1.43),
                "lock_share": .number(0.16), "process_speedup": .number(1.43), "process_over_threads": .number(1.23),
                "threads_seconds": .number(0.70),
                "processes_seconds": .number(0.71),
            ],
            rule: "cpu-lock-processes-likely-further", mode: .processes, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, on a lock part of the time, processes short of a tenth ahead on average",
            changes: [
                "cpu_efficiency": .number(1.0), "serial_fraction": .number(0.4), "speedup": .number(1.43),
                "lock_share": .number(0.16), "process_speedup": .number(1.43), "process_over_threads": .number(1.09),
                "threads_seconds": .number(0.70),
                "processes_seconds": .number(0.71),
            ],
            rule: "cpu-processes-no-better", mode: .threads, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, part-way on threads, processes ahead on average but no lock seen (text-words)",
            changes: [
                "cpu_efficiency": .number(0.95), "serial_fraction": .number(0.4), "speedup": .number(1.43),
                "process_speedup": .number(1.43), "process_over_threads": .number(1.3),
                "threads_seconds": .number(0.70),
                "processes_seconds": .number(0.71),
            ],
            rule: "cpu-processes-no-better", mode: .threads, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, on a lock part of the time, processes ahead on average but costly to start and ship",
            changes: [
                "cpu_efficiency": .number(1.0), "serial_fraction": .number(0.4), "speedup": .number(1.43),
                "lock_share": .number(0.16), "process_speedup": .number(1.43), "process_over_threads": .number(1.25),
                "threads_seconds": .number(0.70),
                "processes_seconds": .number(0.85),
            ],
            rule: "cpu-processes-no-better", mode: .threads, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, serialises on threads, processes measured clearly better",
            changes: [
                "cpu_efficiency": .number(0.78), "serial_fraction": .number(0.36), "speedup": .number(1.47),
                "process_speedup": .number(1.9), "threads_seconds": .number(0.68), "processes_seconds": .number(0.53),
            ],
            rule: "cpu-does-not-scale", mode: .processes, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "CPU-bound, spins, speed-up not measured (low E_cpu still decides)",
            changes: ["cpu_efficiency": .number(0.5), "serial_fraction": .unknown, "speedup": .unknown],
            rule: "cpu-copies-burn-cpu", mode: .processes, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "tiny calls, speed-up not measured: processes would cost far more",
            changes: [
                "call_seconds": .number(0.85e-6), "cpu_seconds": .number(0.85e-6), "items": .number(100_000),
                "serial_seconds": .number(0.085), "best_parallel_seconds": .number(0.05),
                "threads_seconds": .number(0.05), "processes_seconds": .number(2.0), "serial_fraction": .unknown,
                "speedup": .unknown,
            ],
            rule: "cpu-scaling-unmeasured-threads", mode: .threads, parameters: ["workers": 2, "chunk": 36]),
        Cell(
            name: "waits (sleep)",
            changes: [
                "cpu_ratio": .number(0.003), "cpu_efficiency": .unknown, "serial_fraction": .unknown,
                "dominant_wait": .text("sleep"),
            ],
            rule: "waiting-dominates", mode: .threads, parameters: ["workers": 64]),
        Cell(
            name: "waits, few items caps the threads",
            changes: [
                "cpu_ratio": .number(0.01), "items": .number(10), "best_parallel_seconds": .number(0.1),
                "serial_seconds": .number(0.5),
            ],
            rule: "waiting-dominates", mode: .threads, parameters: ["workers": 10]),
        Cell(
            name: "waits a little (disk)", changes: ["cpu_ratio": .number(0.25)],
            rule: "waiting-dominates", mode: .threads, parameters: ["workers": 16]),
        Cell(
            name: "mixed, two stages",
            changes: [
                "cpu_ratio": .number(0.5), "blocked_ratio": .number(0.5), "has_stages": .boolean(true),
                "pipeline_seconds": .number(0.5), "split_pipeline_seconds": .number(0.5),
            ],
            rule: "mixed-split-pipeline", mode: .pipeline, parameters: ["fetch_workers": 3, "compute_workers": 2]),
        Cell(
            name: "mixed, two stages, computing scales on threads that are predicted faster",
            changes: [
                "cpu_ratio": .number(0.5), "has_stages": .boolean(true), "pipeline_seconds": .number(0.6),
                "split_pipeline_seconds": .number(0.6),
            ],
            rule: "mixed-one-stage", mode: .threads, parameters: ["workers": 16]),
        Cell(
            name: "mixed, two stages, computing does not scale on threads: a pipeline a little slower on paper",
            changes: [
                "cpu_ratio": .number(0.5), "has_stages": .boolean(true), "pipeline_seconds": .number(0.6),
                "split_pipeline_seconds": .number(0.6),
                "serial_fraction": .number(0.4), "speedup": .number(1.4),
            ],
            rule: "mixed-split-pipeline", mode: .pipeline, parameters: ["fetch_workers": 3, "compute_workers": 2]),
        Cell(
            name: "mixed, two stages, thread scaling not measured: the pipeline is safe either way",
            changes: [
                "cpu_ratio": .number(0.5), "has_stages": .boolean(true), "pipeline_seconds": .number(0.6),
                "split_pipeline_seconds": .number(0.6),
                "serial_fraction": .unknown, "speedup": .unknown,
            ],
            rule: "mixed-split-pipeline", mode: .pipeline, parameters: ["fetch_workers": 3, "compute_workers": 2]),
        Cell(
            name:
                "mixed, two stages, computing scales: the cheapest pipeline computes on threads, the split one is slower",
            changes: [
                "cpu_ratio": .number(0.5), "has_stages": .boolean(true), "pipeline_seconds": .number(0.5),
                "split_pipeline_seconds": .number(0.6),
            ],
            rule: "mixed-one-stage", mode: .threads, parameters: ["workers": 16]),
        Cell(
            name: "mixed, two stages, pipeline predicted slower",
            changes: [
                "cpu_ratio": .number(0.5), "has_stages": .boolean(true), "pipeline_seconds": .number(0.9),
                "split_pipeline_seconds": .number(0.9),
            ],
            rule: "mixed-one-stage", mode: .threads, parameters: ["workers": 16]),
        Cell(
            name: "mixed, one stage", changes: ["cpu_ratio": .number(0.5)],
            rule: "mixed-one-stage", mode: .threads, parameters: ["workers": 16]),
        Cell(
            name: "mixed, one stage, does not scale",
            changes: ["cpu_ratio": .number(0.5), "cpu_efficiency": .number(0.4)],
            rule: "mixed-one-stage-no-scaling", mode: .processes, parameters: ["workers": 4, "chunk": 1]),
        Cell(
            name: "tiny calls, chunked",
            changes: [
                "call_seconds": .number(0.85e-6), "cpu_seconds": .number(0.85e-6), "items": .number(100_000),
                "serial_seconds": .number(0.085), "best_parallel_seconds": .number(0.05),
                "threads_seconds": .number(0.05),
            ],
            rule: "cpu-scales-on-threads", mode: .threads, parameters: ["workers": 2, "chunk": 36]),
        Cell(
            name: "tiny calls, pool cannot pay",
            changes: [
                "call_seconds": .number(0.85e-6), "items": .number(100), "serial_seconds": .number(85e-6),
                "best_parallel_seconds": .number(80e-6),
            ],
            rule: "pool-cannot-pay", mode: .serial),
        Cell(name: "one item", changes: ["items": .number(1)], rule: "single-item", mode: .serial),
        Cell(
            name: "an external command, mostly waiting",
            changes: ["runs_command": .boolean(true), "cpu_ratio": .number(0.01), "children_cpu_ratio": .number(0.02)],
            rule: "external-command", mode: .threads, parameters: ["workers": 40]),
        Cell(
            name: "an external command, computing (gzip)",
            changes: ["runs_command": .boolean(true), "cpu_ratio": .number(0.05), "children_cpu_ratio": .number(0.9)],
            rule: "external-command", mode: .threads, parameters: ["workers": 3]),
        Cell(
            name: "declared crash-prone", changes: ["crash_prone": .boolean(true), "cpu_ratio": .number(0.01)],
            rule: "declared-crash-prone", mode: .processes, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "declared not thread-safe", changes: ["thread_unsafe": .boolean(true)],
            rule: "declared-not-thread-safe", mode: .processes, parameters: ["workers": 2, "chunk": 1]),
        Cell(
            name: "other hosts predicted far faster after their start and shipping",
            changes: Self.hosts(multihost: 0.2), rule: "other-hosts-pay", mode: .processes),
        Cell(
            name: "one core here, so no pool pays locally, but other hosts do",
            changes: Self.hosts(multihost: 0.2).merging(
                [
                    "cores": .number(1), "threads_seconds": .number(0.98), "processes_seconds": .number(1.0),
                    "best_parallel_seconds": .number(0.98),
                ], uniquingKeysWith: { $1 }),
            rule: "other-hosts-pay", mode: .processes),
        Cell(
            name: "other hosts predicted no faster: this machine decides",
            changes: Self.hosts(multihost: 0.5), rule: "cpu-scales-on-threads", mode: .threads,
            parameters: ["workers": 2, "chunk": 1]),
    ]

    /// Two other hosts of 8 cores each, whose workers are predicted to take `multihost` seconds.
    static func hosts(multihost: Double) -> [String: FactValue] {
        [
            "hosts": .number(2), "remote_cores": .number(16), "remote_workers": .number(16),
            "remote_start_seconds": .number(0.3), "remote_round_trip_seconds": .number(0.000_2),
            "remote_bandwidth": .number(100e6), "multihost_seconds": .number(multihost),
        ]
    }

    @Test("each cell of the matrix decides as a person would", arguments: cells)
    func matrix(_ cell: Cell) {
        var facts = Self.baseline()
        for (name, value) in cell.changes { facts[name] = value }
        let result = Advisor.defaultRules.evaluate(facts)
        #expect(result.decision?.rule == cell.rule, "\(result.explanation(verbose: false))")
        #expect(result.decision?.action == cell.mode.rawValue)
        #expect(result.decision?.parameters == cell.parameters)
        #expect(result.decision?.reason?.contains("{") == false)
    }

    @Test("a borderline, noisy profile says so; the shipping, lock and stages advice appear when they apply")
    func advisories() {
        var facts = Self.baseline()
        facts["borderline"] = .boolean(true)
        facts["borderline_figures"] = .text("cpu_ratio")
        facts["noisy_host"] = .boolean(true)
        facts["ship_ratio"] = .number(85)
        facts["input_bytes"] = .number(4_194_304)
        facts["lock_share"] = .number(0.4)
        facts["cpu_ratio"] = .number(0.5)
        let result = Advisor.defaultRules.evaluate(facts)
        #expect(
            result.advisories.map(\.rule) == [
                "borderline-profile", "noisy-host", "shipping-is-costly", "lock-contention", "split-into-stages",
            ])
        #expect(result.advisories[0].text.contains("(cpu_ratio)"))
        #expect(result.advisories[2].text.contains("4.00 MiB in"))
        #expect(result.advisories[2].text.contains("85.0×"))
        #expect(result.advisories[3].text.contains("40%"))
        #expect(Advisor.defaultRules.evaluate(Self.baseline()).advisories.isEmpty)
    }
}
