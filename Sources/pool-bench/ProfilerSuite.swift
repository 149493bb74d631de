import Foundation
import PoolAdvisor

/// `pool-bench profiler`: what profiling costs and how stable its answer is.
///
/// - instrumentation: per-call wall time of a ~100 µs and a ~1 µs computation measured bare
///   and through the profiler's serial phase, interleaved round by round;
/// - sampler: its share of one core and the rate it reached, from profiles of the sleep task;
/// - stability: every reference workload profiled `rounds` times (once with `--quick`), with
///   the deciding figures, the side of each threshold they fell on, and the profiling time.
struct ProfilerSuite {
    let quick: Bool
    let rounds: Int

    func run(json: Bool) -> Report {
        let report = Report(suite: "profiler")
        let medium = PureCPU.inputs(count: 16).map {
            ComputeWork(seed: $0.seed, iterations: iterationsFor(seconds: 100e-6))
        }
        let tiny = TinyTask.inputs(count: 64)
        for _ in 0..<rounds {
            let bare = secondsPerCall(PureCPU.self, medium, calls: 2_000)
            let profiled = profiledSecondsPerCall(PureCPU.self, medium)
            report.record("call_100us", "bare call", unit: "us", value: bare * 1e6)
            report.record("call_100us", "profiled call", unit: "us", ours: true, value: profiled * 1e6)
            let bareTiny = secondsPerCall(TinyTask.self, tiny, calls: 200_000)
            let profiledTiny = profiledSecondsPerCall(TinyTask.self, tiny)
            report.record("call_tiny", "bare call", unit: "us", value: bareTiny * 1e6)
            report.record("call_tiny", "profiled call (grouped)", unit: "us", ours: true, value: profiledTiny * 1e6)
            settle()
        }
        report.addRatio(
            RatioSpec(
                figure: "call_100us", numerator: "profiled call", denominator: "bare call", peer: "bare call",
                target: "≤ 1.03×", meets: { $0 <= 1.03 }))
        report.addRatio(
            RatioSpec(
                figure: "call_tiny", numerator: "profiled call (grouped)", denominator: "bare call", peer: "bare call",
                target: "≤ 1.03×", meets: { $0 <= 1.03 }))

        // The machine's costs, measured now (not from the cache) and shown; profiles then
        // count the pipe transfer in their shipping cost.
        let machine = try? MachineCalibration(cacheDirectory: nil).measure()
        if let machine {
            report.record("machine", "worker start", unit: "ms", ours: true, value: machine.workerStartSeconds * 1e3)
            report.record("machine", "round trip", unit: "us", ours: true, value: machine.roundTripSeconds * 1e6)
            report.record(
                "machine", "pipe bandwidth", unit: "MB/s", ours: true, value: machine.ipcBandwidthBytesPerSecond / 1e6)
            if let shared = machine.sharedMemoryBandwidthBytesPerSecond {
                report.record("machine", "shared-memory bandwidth", unit: "MB/s", ours: true, value: shared / 1e6)
            }
            report.record("machine", "thread start", unit: "us", ours: true, value: machine.threadStartSeconds * 1e6)
            report.record(
                "machine", "ThreadPool submit+wait", unit: "us", ours: true, value: machine.threadDispatchSeconds * 1e6)
            report.record(
                "machine", "ProcessPool map item", unit: "us", ours: true, value: machine.processMapItemSeconds * 1e6)
        }
        let runs = quick ? 1 : rounds
        var stability: [String] = []
        // --quick (what CI runs) keeps to the original catalogue: each everyday workload would add a profile.
        let everyday = Set(ReferenceWorkloads.everyday.map { ObjectIdentifier($0) })
        for workload in ReferenceWorkloads.all where !quick || !everyday.contains(ObjectIdentifier(workload)) {
            let profiles = (0..<runs).map { _ in profileOnce(workload, machine: machine) }
            for profile in profiles {
                if let waits = profile.waits, workload == BlockingSleep.self {
                    report.record(
                        "sampler", "core share at 1 kHz", unit: "%", ours: true, value: waits.samplerCoreShare * 100)
                    report.record("sampler", "achieved rate", unit: "Hz", ours: true, value: waits.samplesPerSecond)
                }
                report.record(
                    "profile_seconds", workload.workloadName, unit: "s", ours: true, value: profile.profilingSeconds)
                if json { print(jsonObject(Self.fields(workload.workloadName, profile))) }
            }
            // What the advisor recommends for a 1000-item job, per profile (the decision that counts).
            let advisor = Advisor(machine: machine)
            let advice = profiles.map { advisor.recommend($0, items: 1000) }
            if json {
                for recommendation in advice {
                    print(
                        jsonObject([
                            ("suite", .text("profiler")), ("figure", .text("recommendation")),
                            ("workload", .text(workload.workloadName)), ("mode", .text(recommendation.mode.rawValue)),
                            ("rule", .text(recommendation.decidingRule?.rule ?? "none")),
                        ]))
                }
            }
            stability.append(Self.stabilityLine(workload.workloadName, profiles) + "  " + Self.adviceSummary(advice))
        }
        if !json {
            print("pool-bench profiler: each reference workload profiled \(runs) time(s)")
            print(
                pad("workload", 16) + pad("cpu_ratio", 18) + pad("E_cpu", 14) + pad("serial e", 14)
                    + pad("ship/compute", 16)
                    + pad("dominant wait", 24) + pad("seconds", 16) + "stable  recommended (1000 items)")
            stability.forEach { print($0) }
            print("")
        }
        return report
    }

    /// Iterations of `churn` that take about `seconds` here (measured, not assumed).
    private func iterationsFor(seconds: Double) -> Int {
        let probe = 2_000_000
        // The seed comes from a system call inside the timed block and the result goes to a
        // global, so the optimiser can neither drop the work nor move it out of the block.
        let taken = secondsTaken { benchSink = churn(UInt64(getpid()), iterations: probe) }
        return max(100, min(probe, Int(Double(probe) * seconds / max(taken, 1e-6))))
    }

    private func secondsPerCall<Task: PoolTask>(_ task: Task.Type, _ inputs: [Task.Input], calls: Int) -> Double {
        settle()
        var sink = 0
        let taken = secondsTaken {
            for index in 0..<calls { if (try? Task.run(inputs[index % inputs.count])) != nil { sink &+= 1 } }
        }
        precondition(sink == calls)
        return taken / Double(calls)
    }

    private func profiledSecondsPerCall<Task: PoolTask>(_ task: Task.Type, _ inputs: [Task.Input]) -> Double {
        settle()
        var options = ProfilerOptions()
        options.samplingHertz = 0
        options.scalingMinimumCPURatio = 2  // serial phase only: that is what is being timed
        options.scalesComputeStage = false
        options.minimumSeconds = 0.4
        options.maximumSeconds = 0.8
        let profile = try! Profiler(options: options).profile(task, sample: inputs)
        return profile.calls.wallSecondsPerCall.value
    }

    private func profileOnce<W: ReferenceWorkload>(_ workload: W.Type, machine: MachineProfile?) -> TaskProfile {
        settle()
        do {
            return try Profiler(machine: machine).profile(workload, sample: workload.inputs(count: 8))
        } catch {
            fatalError("profiling \(W.workloadName) failed: \(error)")
        }
    }

    static func side(_ figure: DecidingFigure?) -> String {
        guard let figure else { return "-" }
        let below = figure.thresholds.filter { figure.estimate.value >= $0 }.count
        return "\(below)" + (figure.isBorderline ? "?" : "")
    }

    static func stabilityLine(_ name: String, _ profiles: [TaskProfile]) -> String {
        func range(_ found: [Double]) -> String {
            guard let low = found.min(), let high = found.max() else { return "-" }
            return low == high ? format(low) : "\(format(low))–\(format(high))"
        }
        func values(_ figure: String) -> String { range(profiles.compactMap { $0.figure(figure)?.estimate.value }) }
        let sides = Set(
            profiles.map { profile in
                ["cpu_ratio", "cpu_efficiency", "serial_fraction"].map { side(profile.figure($0)) }.joined(
                    separator: "/")
            })
        // The dominant wait per run (the N-thread phase shows lock waits that one thread never
        // has), shown as one range per activity.
        var shares: [String: [Int]] = [:]
        for profile in profiles {
            let concurrent = profile.scaling?.waits
            guard let waits = concurrent?.dominantWait != nil ? concurrent : profile.waits,
                let dominant = waits.dominantWait
            else { continue }
            let share = Int((waits.fraction(dominant).value * 100).rounded())
            guard share >= 1 else { continue }  // a stray sample is not a finding
            let label = dominant.rawValue + (waits.threads > 1 ? " ×\(waits.threads)" : "")
            shares[label, default: []].append(share)
        }
        let waits = shares.keys.sorted().map { label in
            let values = shares[label]!
            let low = values.min()!, high = values.max()!
            return "\(label) " + (low == high ? "\(low)%" : "\(low)–\(high)%")
        }
        let seconds = profiles.map(\.profilingSeconds)
        let stable = sides.count == 1 && !(sides.first ?? "").contains("?") && (seconds.max() ?? 99) <= 2.0
        let secondsText = "\(format(seconds.min() ?? 0))–\(format(seconds.max() ?? 0))"
        return pad(name, 16) + pad(values("cpu_ratio"), 18) + pad(values("cpu_efficiency"), 14)
            + pad(values("serial_fraction"), 14)
            + pad(range(profiles.map(\.payload.shippingToComputeRatio)), 16) + pad(waits.joined(separator: ", "), 24)
            + pad(secondsText, 16) + (stable ? "yes" : "no (\(sides.sorted().joined(separator: " ")))")
    }

    /// "threads×2" or "processes×2 ×4, threads×2 ×1" when the profiles disagree.
    static func adviceSummary(_ advice: [Recommendation]) -> String {
        var counts: [String: Int] = [:]
        for recommendation in advice {
            let shape = recommendation.mode.rawValue + (recommendation.workers.map { "×\($0)" } ?? "")
            counts[shape, default: 0] += 1
        }
        if counts.count == 1 { return counts.keys.first! }
        return counts.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
    }

    static func fields(_ name: String, _ profile: TaskProfile) -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [
            ("suite", .text("profiler")), ("figure", .text("profile")), ("workload", .text(name)),
            ("profiling_seconds", .number(profile.profilingSeconds)),
            ("cpu_ratio", .number(profile.calls.cpuRatio.value)),
            ("borderline", .bool(profile.isBorderline)),
        ]
        if let scaling = profile.scaling { fields.append(("cpu_efficiency", .number(scaling.cpuEfficiency.value))) }
        if let dominant = profile.waits?.dominantWait { fields.append(("dominant_wait", .text(dominant.rawValue))) }
        return fields
    }
}

/// Where timed results go so the optimiser must compute them.
nonisolated(unsafe) var benchSink: UInt64 = 0
