import Foundation
import PoolAdvisor

/// `pool-bench rules`: what the readable rules cost against the same decisions compiled as an
/// `if` chain (the peer: the design the rules file replaces).
///
/// - load_check: parsing and checking `rules/decision-matrix.rules` (target ≤ 5 ms);
/// - evaluate: one evaluation of every rule with its trace (target ≤ 50 µs), and the `if` chain;
/// - explain: rendering the explanation text.
struct RulesSuite {
    let quick: Bool
    let rounds: Int

    func run() -> Report {
        let report = Report(suite: "rules")
        let facts = Self.cpuBoundFacts()
        let rules = Advisor.defaultRules
        let loads = quick ? 20 : 100
        let evaluations = quick ? 2_000 : 20_000
        for _ in 0..<rounds {
            settle()
            let loadSeconds = secondsTaken {
                for _ in 0..<loads {
                    let loaded = try? RuleSet(
                        source: Advisor.defaultRulesSource, schema: AdvisorFacts.schema, actions: DecisionMode.actions)
                    benchSink &+= UInt64(loaded?.summaries.count ?? 0)
                }
            }
            report.record(
                "load_check", "RuleSet(source:) default matrix", unit: "ms", ours: true,
                value: loadSeconds / Double(loads) * 1e3)
            let evaluateSeconds = secondsTaken {
                for _ in 0..<evaluations { benchSink &+= UInt64(rules.evaluate(facts).trace.count) }
            }
            report.record(
                "evaluate", "RuleSet.evaluate (all rules, traced)", unit: "us", ours: true,
                value: evaluateSeconds / Double(evaluations) * 1e6)
            let chainSeconds = secondsTaken {
                for _ in 0..<evaluations { benchSink &+= UInt64(Self.ifChain(facts).count) }
            }
            report.record(
                "evaluate", "if chain in Swift (peer)", unit: "us", value: chainSeconds / Double(evaluations) * 1e6)
            let result = rules.evaluate(facts)
            let explainSeconds = secondsTaken {
                for _ in 0..<(evaluations / 10) { benchSink &+= UInt64(result.explanation().utf8.count) }
            }
            report.record(
                "explain", "RuleEvaluation.explanation()", unit: "us", ours: true,
                value: explainSeconds / Double(evaluations / 10) * 1e6)
        }
        report.addRatio(
            RatioSpec(
                figure: "evaluate", numerator: "RuleSet.evaluate (all rules, traced)",
                denominator: "if chain in Swift (peer)",
                peer: "if chain in Swift (peer)", target: "info", meets: { _ in true }))
        let load = Stats(report.series.first { $0.figure == "load_check" }?.values ?? []).median
        let evaluate = Stats(report.series.first { $0.figure == "evaluate" && $0.isOurs }?.values ?? []).median
        report.note(
            "load and check the default rules: \(format(load)) ms (target ≤ 5 ms: \(load <= 5 ? "met" : "NOT met"))")
        report.note(
            "evaluate every rule with its trace: \(format(evaluate)) µs (target ≤ 50 µs: \(evaluate <= 50 ? "met" : "NOT met"))"
        )
        return report
    }

    /// The facts of a CPU-bound task that scales, 1000 items of 2 ms on 2 cores.
    static func cpuBoundFacts() -> Facts {
        Facts([
            "items": .number(1000), "call_seconds": .number(0.002), "cpu_seconds": .number(0.002),
            "cpu_ratio": .number(1),
            "blocked_ratio": .number(0), "run_queue_ratio": .number(0), "io_share": .number(0),
            "lock_share": .number(0),
            "sleep_share": .number(0), "dominant_wait": .text("none"), "scaling_threads": .number(2),
            "cpu_efficiency": .number(0.99), "serial_fraction": .number(0.04), "speedup": .number(1.92),
            "noisy_host": .boolean(false), "borderline": .boolean(false), "borderline_figures": .text("none"),
            "failed_calls": .number(0), "input_bytes": .number(16), "output_bytes": .number(8),
            "ship_seconds": .number(4e-6), "ship_ratio": .number(0.002), "crash_prone": .boolean(false),
            "thread_unsafe": .boolean(false), "has_stages": .boolean(false), "runs_command": .boolean(false),
            "children_cpu_ratio": .number(0), "cores": .number(2), "cpu_workers": .number(2),
            "others_cores": .number(0),
            "thread_start_seconds": .number(25e-6), "thread_dispatch_seconds": .number(0.5e-6),
            "worker_start_seconds": .number(0.011), "round_trip_seconds": .number(23e-6),
            "process_item_seconds": .number(0.8e-6), "serial_seconds": .number(2.0), "threads_seconds": .number(1.05),
            "processes_seconds": .number(1.02), "pipeline_seconds": .unknown, "best_parallel_seconds": .number(1.02),
        ])
    }

    /// The default matrix's decisions as plain Swift, reading the same dictionary.
    @inline(never)
    static func ifChain(_ facts: Facts) -> String {
        func n(_ name: String) -> Double? { if case .number(let x) = facts[name] { x } else { nil } }
        func b(_ name: String) -> Bool { facts[name] == .boolean(true) }
        let items = n("items") ?? 0, cpu = n("cpu_ratio") ?? 0, cores = n("cores") ?? 1
        let efficiency = n("cpu_efficiency"), e = n("serial_fraction")
        if b("crash_prone") && items > 1 { return "processes" }
        if b("thread_unsafe") && items > 1 { return "processes" }
        if items < 2 { return "serial" }
        if (n("serial_seconds") ?? 0) <= 1.2 * (n("best_parallel_seconds") ?? 0) { return "serial" }
        if cpu < 0.3 { return "threads \(min(64, max(cores, (cores / max(cpu, 0.02)).rounded(.up))))" }
        if cpu < 0.8 { return b("has_stages") ? "pipeline" : "threads" }
        if let efficiency, efficiency >= 0.85, e.map({ $0 <= 0.15 }) ?? true { return "threads \(cores)" }
        if (efficiency.map { $0 < 0.7 } ?? false) || (e.map { $0 > 0.3 } ?? false) { return "processes \(cores)" }
        return (n("threads_seconds") ?? 0) <= (n("processes_seconds") ?? 0) ? "threads" : "processes"
    }
}
