import Foundation
import PoolAdvisor
import Synchronization

/// `pool-bench auto`: `AutoExecutor` end to end (profiling included) against every fixed mode a
/// person could pick, on jobs it has not seen: the everyday workloads, and the reference ones
/// that wait, lock, spin, contend on an atomic, split into stages, make a million tiny calls,
/// or take a 16 MiB argument.
///
/// Each job is sized from a profile and the cost model so its fastest fixed mode is predicted to
/// take about 0.3 s, 1 s and 3 s (only 0.3 s, and fewer workloads, with `--quick`); inputs stay
/// under 256 MB. The fixed modes are serial, threads × cores, threads × 32, processes × cores and,
/// for a staged task, the pipeline. A mode predicted more than 4× slower than the fastest runs on
/// every k-th input only and its time is scaled by k (its start-up is scaled too, so the figure
/// errs slow: a regret against it is never flattered by more than that). Per job the suite
/// reports auto's time, its profiling share, the plan it chose, its regret against each fixed
/// mode and against the best; target: auto ≤ 1.10× the best fixed mode. As a control, each
/// round's fastest fixed mode runs again after auto, and the same ratio is reported for it: what
/// a chooser who always knew the fastest mode would score, the statistic's floor on this machine.
struct AutoSuite {
    let quick: Bool
    let rounds: Int
    /// Only these jobs (`--only`), when given.
    var only: Set<String>? = nil
    /// The job sizes asked for (`--sizes`), when given.
    var sizes: [Double]? = nil

    /// The fastest fixed mode's predicted time for each job of a workload.
    var targets: [Double] { sizes ?? (quick ? [0.3] : [0.3, 1, 3]) }

    /// Input memory allowed per job.
    static let inputBytesLimit = 256.0 * 1_048_576
    /// A mode predicted slower than this many times the fastest runs on a strided subset.
    static let subsetAbove = 4.0

    /// A workload, the way its job's inputs are made, and how to measure it.
    struct Job {
        let name: String
        let measure: (AutoSuite, JobContext) throws -> Void
    }

    /// What every job shares: the machine, the report, and the rows of the summary.
    final class JobContext {
        let machine: MachineProfile
        let report: Report
        var rows: [AutoRow] = []

        init(machine: MachineProfile, report: Report) {
            self.machine = machine
            self.report = report
        }
    }

    /// `workload`'s job with the inputs `inputs` makes. `sharesStorage` says the inputs repeat a
    /// few values copy-on-write, so memory does not bound their count.
    static func job<Workload: ReferenceWorkload>(
        _ workload: Workload.Type, name: String? = nil, sharesStorage: Bool = false,
        inputs: @escaping (Int) -> [Workload.Input] = Workload.inputs(count:)
    ) -> Job {
        let label = name ?? workload.workloadName
        return Job(name: label) { suite, context in
            try suite.measure(workload, label: label, inputs: inputs, sharesStorage: sharesStorage, context: context)
        }
    }

    var jobs: [Job] {
        // LargePayload's default argument is 4 MiB; the issue's case is 16 MiB, four distinct
        // contents repeated (64 MiB in memory, 16 MiB shipped per call to a worker).
        let large = Self.job(LargePayload.self, name: "large-payload-16MiB", sharesStorage: true) {
            LargePayload.inputs(count: $0, bytes: 16 << 20, distinct: 4)
        }
        let reference = [
            Self.job(PureCPU.self), Self.job(BlockingSleep.self), Self.job(BlockingLock.self),
            Self.job(SpinningMutex.self), Self.job(SharedAtomic.self), Self.job(WaitThenCompute.self),
            Self.job(TinyTask.self), large,
        ]
        let everyday = [
            Self.job(JSONCoding.self), Self.job(TextWords.self), Self.job(SortArray.self), Self.job(MemoryScan.self),
            Self.job(PhaseChange.self),
        ]
        if let only {
            return (everyday + reference).filter { only.contains($0.name) }
        }
        if quick {
            let names: Set = [
                "cpu", "sleep", "blocking-lock", "tiny", "large-payload-16MiB", "json-coding", "phase-change",
            ]
            return (reference + everyday).filter { names.contains($0.name) }
        }
        return everyday + reference
    }

    func run() -> Report {
        let report = Report(suite: "auto")
        guard let machine = try? MachineCalibration().profile() else {
            report.note("the machine calibration failed; suite skipped")
            return report
        }
        let context = JobContext(machine: machine, report: report)
        for job in jobs {
            do {
                try job.measure(self, context)
            } catch {
                report.note("\(job.name): \(error)")
            }
        }
        AutoRow.summarise(context.rows, into: report, cores: machine.usableCores)
        return report
    }

    /// A fixed mode at one job size: what runs and what the cost model predicts for it.
    struct FixedMode {
        let key: AutoRow.Column
        let plan: ExecutionPlan
        let predicted: Double
    }

    /// Serial, threads × cores, threads × 32, processes × cores, and the pipeline for a staged
    /// task, with the cost model's chunk sizes for `items`.
    static func fixedModes(_ model: CostModel, items: Int) -> [FixedMode] {
        let machine = model.machine
        let cores = max(1, machine.usableCores)
        func sized(_ key: AutoRow.Column, _ mode: DecisionMode, workers: Int, overhead: Double) -> FixedMode {
            let chunk = model.chunk(items: items, workers: workers, overhead: overhead)
            return FixedMode(
                key: key, plan: ExecutionPlan(mode: mode, workers: workers, chunkSize: chunk),
                predicted: model.seconds(mode, items: items, workers: workers, chunk: chunk))
        }
        var modes = [
            FixedMode(
                key: .serial, plan: ExecutionPlan(mode: .serial), predicted: model.seconds(.serial, items: items)),
            sized(.threadsCores, .threads, workers: cores, overhead: machine.threadDispatchSeconds),
            sized(.threads32, .threads, workers: 32, overhead: machine.threadDispatchSeconds),
            sized(.processesCores, .processes, workers: cores, overhead: machine.roundTripSeconds),
        ]
        if let pipeline = model.predict(items: items).pipeline {
            modes.append(FixedMode(key: .pipeline, plan: ExecutionPlan(pipeline), predicted: pipeline.seconds))
        }
        return modes
    }

    private func measure<Workload: ReferenceWorkload>(
        _ workload: Workload.Type, label: String, inputs makeInputs: (Int) -> [Workload.Input], sharesStorage: Bool,
        context: JobContext
    ) throws {
        let machine = context.machine
        var options = ProfilerOptions()
        if quick { options.maximumSeconds = 2 }
        let profile = try Profiler(options: options, machine: machine).profile(workload, sample: makeInputs(32))
        let model = CostModel(profile: profile, machine: machine)
        let probe = Self.fixedModes(model, items: 10_000).map(\.predicted).min() ?? 1
        let byMemory = sharesStorage ? Int.max : Int(Self.inputBytesLimit / max(16, Double(profile.payload.inputBytes)))
        for target in targets {
            let items = max(16, min(8_000_000, byMemory, Int(target * 10_000 / max(probe, 1e-9))))
            let inputs = makeInputs(items)
            let modes = Self.fixedModes(model, items: items)
            let fastest = max(modes.map(\.predicted).min() ?? 1, 1e-9)
            let figure = "\(label) ~\(String(format: "%g", target)) s"
            var row = AutoRow(job: figure, items: items)
            for _ in 0..<rounds {
                var best = Double.infinity
                var winner: (mode: FixedMode, stride: Int)?
                for mode in modes {
                    let stride =
                        mode.predicted > Self.subsetAbove * fastest ? Int((mode.predicted / fastest).rounded(.up)) : 1
                    let seconds = try timeFixed(workload, inputs, mode, stride: stride, model: model)
                    let name = "fixed \(mode.plan.summary)" + (stride > 1 ? " (1/\(stride), scaled)" : "")
                    context.report.record(figure, name, unit: "s", value: seconds)
                    row.fixed[mode.key, default: []].append(seconds)
                    row.scaled[mode.key] = stride > 1
                    if seconds < best { winner = (mode, stride) }
                    best = min(best, seconds)
                }
                context.report.record(figure, "best fixed mode", unit: "s", value: best)
                row.best.append(best)
                settle()
                var report: AutoReport?
                // The first advice's rule and the facts it turned on, for the note: which reading
                // sent a job where it went.
                let firstAdvice = FirstAdvice()
                var autoOptions = AutoExecutor.Options()
                autoOptions.onDecision = { advice, _ in firstAdvice.record(advice) }
                let seconds = try secondsTaken {
                    report = try AutoExecutor(advisor: Advisor(machine: machine), options: autoOptions)
                        .run(workload, inputs).report
                }
                guard let report else { continue }
                context.report.record(figure, "AutoExecutor", unit: "s", ours: true, value: seconds)
                context.report.record(
                    figure, "auto profiling share", unit: "%", ours: true,
                    value: 100 * report.profilingSeconds / seconds)
                row.auto.append(seconds)
                row.profilingShare.append(report.profilingSeconds / seconds)
                // The recommendation is the one in force at the end: the first plan is the first
                // switch's origin when there was one.
                let last = report.recommendation.map { ExecutionPlan($0).summary } ?? "serial"
                let first = report.switches.first?.from.summary ?? last
                row.chosen = ([first] + report.switches.map(\.to.summary)).joined(separator: " → ")
                // The control: the round's fastest fixed mode, run again. A chooser that always
                // knew the fastest mode would score this against the best of the round; its spread
                // is the noise floor of auto's regret.
                if let winner {
                    let again = try timeFixed(workload, inputs, winner.mode, stride: winner.stride, model: model)
                    context.report.record(figure, "fastest fixed mode, run again (control)", unit: "s", value: again)
                    row.control.append(again)
                }
                context.report.note(
                    "\(figure): auto profiled \(format(report.profilingSeconds)) s on \(report.profiledItems) inputs, "
                        + "chose \(row.chosen)" + firstAdvice.text
                        + report.switches.map { "; switched at \($0.atIndex): \($0.reason)" }.joined()
                        + report.keptPlans.map { "; kept at \($0.atIndex): \($0.reason)" }.joined())
            }
            context.report.addRatio(
                RatioSpec(
                    figure: figure, numerator: "AutoExecutor", denominator: "best fixed mode", peer: "best fixed mode",
                    target: "≤ 1.10×", meets: { $0 <= 1.10 }))
            context.rows.append(row)
        }
    }

    /// Wall time of `mode` on the job, pools started inside the timing; with `stride` > 1, of
    /// every `stride`-th input, scaled to the whole job.
    private func timeFixed<Workload: ReferenceWorkload>(
        _ workload: Workload.Type, _ inputs: [Workload.Input], _ mode: FixedMode, stride: Int, model: CostModel
    ) throws -> Double {
        var plan = mode.plan
        var subset = inputs
        if stride > 1 {
            subset = Swift.stride(from: 0, to: inputs.count, by: stride).map { inputs[$0] }
            // The chunk the cost model would pick for the smaller job, so it still balances.
            plan = Self.fixedModes(model, items: subset.count).first { $0.key == mode.key }?.plan ?? plan
        }
        settle()
        let executor = Executor(plan: plan)
        defer { executor.shutdown() }
        let seconds = try secondsTaken { _ = try executor.map(workload, subset) }
        return seconds * Double(inputs.count) / Double(max(1, subset.count))
    }
}

/// The first advice of an auto run, as a note's words: its rule and the scaling facts it read.
private final class FirstAdvice: Sendable {
    private let advice = Mutex<String>("")

    func record(_ recommendation: Recommendation) {
        let facts = recommendation.evaluation.facts
        let shown = ["cpu_efficiency", "speedup", "process_speedup", "others_cores", "lock_share", "noisy_host"]
            .compactMap { name -> String? in
                switch facts[name] {
                case .number(let value): return "\(name) \(String(format: "%.2f", value))"
                case .boolean(let value): return value ? name : nil
                default: return nil
                }
            }
        let rule = recommendation.decidingRule?.rule ?? "none"
        advice.withLock { $0 = " [first advice: rule \(rule); \(shown.joined(separator: ", "))]" }
    }

    var text: String { advice.withLock { $0 } }
}
