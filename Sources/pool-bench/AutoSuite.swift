import Foundation
import PoolAdvisor

/// `pool-bench auto`: `AutoExecutor` end to end (profiling included) against the best fixed
/// mode on the same job, for jobs whose best fixed mode takes about 2.5 s (0.6 s with `--quick`).
///
/// The fixed modes run at the sizes the cost model finds best; serial runs only when it is
/// predicted within 3× of the best. Target: auto ≤ 1.10× the best fixed mode.
struct AutoSuite {
    let quick: Bool
    let rounds: Int

    static let workloads: [any ReferenceWorkload.Type] = [
        PureCPU.self, BlockingSleep.self, SpinningMutex.self, WaitThenCompute.self, TinyTask.self,
    ]

    func run() -> Report {
        let report = Report(suite: "auto")
        guard let machine = try? MachineCalibration().profile() else {
            report.note("the machine calibration failed; suite skipped")
            return report
        }
        let target = quick ? 0.6 : 2.5
        for workload in Self.workloads {
            do {
                try measure(workload, machine: machine, target: target, report: report)
            } catch {
                report.note("\(workload.workloadName): \(error)")
            }
        }
        return report
    }

    private func measure<Workload: ReferenceWorkload>(
        _ workload: Workload.Type, machine: MachineProfile, target: Double, report: Report
    ) throws {
        let profile = try Profiler(machine: machine).profile(workload, sample: workload.inputs(count: 32))
        let model = CostModel(profile: profile, machine: machine)
        let probe = model.predict(items: 10_000)
        let perItem = probe.bestParallel.seconds / 10_000
        let byMemory = Int(256 * 1_048_576 / max(8, profile.payload.inputBytes))
        let items = max(64, min(8_000_000, byMemory, Int(target / max(perItem, 1e-9))))
        let inputs = workload.inputs(count: items)
        let costs = model.predict(items: items)
        var fixed: [(String, ExecutionPlan)] = [
            ("threads", ExecutionPlan(costs.threads)), ("processes", ExecutionPlan(costs.processes)),
        ]
        if let pipeline = costs.pipeline { fixed.append(("pipeline", ExecutionPlan(pipeline))) }
        if costs.serial.seconds <= 3 * costs.bestParallel.seconds {
            fixed.append(("serial", ExecutionPlan(mode: .serial)))
        }
        let figure = "\(workload.workloadName) (\(items) items)"
        for _ in 0..<rounds {
            var best = (name: "", seconds: Double.infinity)
            for (name, plan) in fixed {
                settle()
                let executor = Executor(plan: plan)
                let seconds = try secondsTaken { _ = try executor.map(workload, inputs) }
                executor.shutdown()
                report.record(figure, "fixed \(name) (\(plan.summary))", unit: "s", value: seconds)
                if seconds < best.seconds { best = (name, seconds) }
            }
            report.record(figure, "best fixed mode", unit: "s", value: best.seconds)
            settle()
            var chosen = ""
            var detail = ""
            let seconds = try secondsTaken {
                let run = try AutoExecutor(advisor: Advisor(machine: machine)).run(workload, inputs)
                chosen = run.recommendation.map { ExecutionPlan($0).summary } ?? "serial"
                detail =
                    "profiling \(format(run.profilingSeconds)) s on \(run.profiledItems) inputs, \(run.switches.count) switch(es)"
                    + run.switches.map { ": \($0.reason)" }.joined()
            }
            report.note("\(workload.workloadName), AutoExecutor: \(detail)")
            report.record(figure, "AutoExecutor → \(chosen)", unit: "s", ours: true, value: seconds)
            report.record(figure, "AutoExecutor", unit: "s", ours: true, value: seconds)
        }
        report.addRatio(
            RatioSpec(
                figure: figure, numerator: "AutoExecutor", denominator: "best fixed mode", peer: "best fixed mode",
                target: "≤ 1.10×", meets: { $0 <= 1.10 }))
    }

}
