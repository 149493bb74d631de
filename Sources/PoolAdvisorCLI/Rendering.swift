internal import PoolAdvisor

/// ANSI styling that turns itself off when colour is not wanted.
struct Style: Sendable {
    let colour: Bool

    func paint(_ text: String, _ code: String) -> String { colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    func bold(_ text: String) -> String { paint(text, "1") }
    func dim(_ text: String) -> String { paint(text, "2") }
}

/// Where a call's wall time went, as shares that add up to one.
struct TimeSplit {
    var onCPU: Double
    var waitingForCore: Double
    var io: Double
    var lock: Double
    var sleep: Double
    /// Time the calling thread waited while its child processes computed (commands).
    var children: Double
    var other: Double

    init(_ profile: TaskProfile) {
        let calls = profile.calls
        onCPU = min(1, max(0, calls.wallCPURatio))
        waitingForCore = min(1 - onCPU, max(0, calls.runQueueRatio))
        let waiting = max(0, 1 - onCPU - waitingForCore)
        children = min(waiting, max(0, calls.childrenCPURatio))
        let blocked = waiting - children
        // The sampler says what the blocked time was spent on; split it in the same shares.
        if let waits = profile.waits {
            let ioCount = ThreadActivity.allCases.filter(\.isIO).reduce(0) { $0 + waits.counts[$1] }
            let lockCount = waits.counts[.lockWait] + waits.counts[.conditionWait]
            let sleepCount = waits.counts[.sleep]
            let waiting = ThreadActivity.allCases.filter { $0 != .running && $0 != .transition }.reduce(0) {
                $0 + waits.counts[$1]
            }
            let total = Double(max(1, waiting))
            io = waiting > 0 ? blocked * Double(ioCount) / total : 0
            lock = waiting > 0 ? blocked * Double(lockCount) / total : 0
            sleep = waiting > 0 ? blocked * Double(sleepCount) / total : 0
            other = max(0, blocked - io - lock - sleep)
        } else {
            io = 0
            lock = 0
            sleep = 0
            other = blocked
        }
    }

    /// One line of `width` cells: █ on-CPU, ▚ child processes computing, ▓ waiting for a core,
    /// ▒ I/O, ░ lock, · sleep, space other.
    func bar(width: Int, style: Style) -> String {
        let parts: [(Double, Character, String)] = [
            (onCPU, "█", "32"), (children, "▚", "36"), (waitingForCore, "▓", "33"), (io, "▒", "34"), (lock, "░", "31"),
            (sleep, "·", "35"),
            (other, " ", "0"),
        ]
        var cells = parts.map { Int(($0.0 * Double(width)).rounded()) }
        let excess = cells.reduce(0, +) - width
        if excess != 0, let largest = cells.indices.max(by: { cells[$0] < cells[$1] }) { cells[largest] -= excess }
        var text = ""
        for (index, part) in parts.enumerated() where cells[index] > 0 {
            text += style.paint(String(repeating: part.1, count: cells[index]), part.2)
        }
        return "[" + text + "]"
    }

    var legend: String {
        [
            ("on-CPU", onCPU), ("child processes", children), ("waiting for a core", waitingForCore), ("I/O", io),
            ("lock", lock), ("sleep", sleep),
            ("other wait", other),
        ].filter { $0.0 != "child processes" || $0.1 > 0 }
            .map { "\($0.0) \(NumberText.fixed($0.1 * 100, decimals: 0))%" }.joined(separator: " · ")
    }
}

/// The compact report `pool-advisor profile` prints.
enum ProfileReport {
    /// How the paired rounds compared processes with threads, for the process-scaling row.
    static func pairedText(_ ratio: Estimate) -> String {
        let measured = NumberText.fixed(ratio.value, decimals: 2)
        let apart = !(ratio.low <= 1 && ratio.high >= 1)
        return apart
            ? "; \(measured)× the threads' in rounds run side by side"
            : "; \(measured)× the threads' in rounds run side by side, within their spread: counted as no different"
    }

    static func render(
        _ profile: TaskProfile, name: String, summary: String?, machine: MachineProfile, recommendation: Recommendation,
        style: Style
    ) -> String {
        var lines: [String] = []
        func row(_ label: String, _ text: String) { lines.append("  " + style.bold(label.padded(to: 15)) + " " + text) }
        let title = "pool-advisor profile \(name)" + (summary.map { ": \($0)" } ?? "")
        lines.append(style.bold(title))
        let split = TimeSplit(profile)
        row(
            "time per call",
            "\(NumberText.seconds(profile.calls.wallSecondsPerCall.value))  \(split.bar(width: 40, style: style))")
        lines.append(String(repeating: " ", count: 18) + split.legend)
        var ratio = "\(profile.calls.cpuRatio)"
        if let caller = profile.calls.callerCPURatio {
            // A command's work is its own CPU; this process only starts it and waits.
            ratio +=
                "  the command's (children's CPU over wall); this process \(NumberText.fixed(caller.value, decimals: 3))"
        }
        if profile.figure("cpu_ratio")?.isBorderline == true { ratio += "  (borderline)" }
        row("cpu ratio", ratio)
        // Shown when it can change a decision: a millisecond or more, and more than a call.
        let warmUp = profile.calls.warmUpSeconds
        if let first = profile.calls.firstCallSeconds, warmUp >= max(0.001, profile.calls.wallSecondsPerCall.value) {
            row(
                "warm-up",
                "the first call took \(NumberText.seconds(first)), \(NumberText.seconds(warmUp)) more than the others: state built once per process, which each worker process builds again"
            )
        }
        if let scaling = profile.scaling {
            var text = "\(scaling.threads) threads: E_cpu \(NumberText.fixed(scaling.cpuEfficiency.value, decimals: 2))"
            if let speedup = scaling.speedup { text += ", speed-up \(NumberText.fixed(speedup.value, decimals: 2))×" }
            if let e = scaling.serialFraction {
                // Above 1 the copies together ran slower than one alone: Amdahl's fraction has
                // no meaning there, and the reader is told so.
                text += ", serial fraction \(NumberText.fixed(e.value, decimals: 2))"
                if e.value > 1, (scaling.speedup?.value ?? 0) < 1 {
                    text += " (above 1: the copies together did less work than one alone)"
                }
            }
            if let loaded = scaling.speedupUnderLoad {
                text += ", speed-up under load \(NumberText.fixed(loaded.value, decimals: 2))×"
            }
            text +=
                "  (\(scaling.cleanRounds) clean of \(scaling.rounds.count) rounds\(scaling.noisyHost ? ", noisy host" : ""))"
            row("thread scaling", text)
            if let processes = scaling.processSpeedup {
                row(
                    "process scaling",
                    "\(scaling.threads) workers: speed-up \(NumberText.fixed(processes.value, decimals: 2))× (\(processes.observations) rounds\(scaling.noisyHost ? ", under load like the threads'" : "")\(scaling.processOverThreads.map(pairedText) ?? ""))"
                )
            }
        } else {
            row("thread scaling", "not measured" + (profile.scalingSkippedReason.map { ": \($0)" } ?? ""))
        }
        let payload = profile.payload
        row(
            "payload",
            "\(NumberText.bytes(payload.inputBytes)) in, \(NumberText.bytes(payload.outputBytes)) out; shipping \(NumberText.seconds(payload.shippingSecondsPerCall)) a call (\(NumberText.fixed(payload.shippingToComputeRatio * 100, decimals: 1))% of its CPU)"
        )
        row(
            "machine",
            "\(machine.usableCores) cores; worker start \(NumberText.seconds(machine.workerStartSeconds)), round trip \(NumberText.seconds(machine.roundTripSeconds)), thread start \(NumberText.seconds(machine.threadStartSeconds))"
                + busyHost(CostModel(profile: profile, machine: machine))
        )
        let p = recommendation.predicted
        var predicted = [
            ("serial", p.serial.seconds), ("threads", p.threads.seconds), ("processes", p.processes.seconds),
        ]
        if let pipeline = p.pipeline { predicted.append(("pipeline", pipeline.seconds)) }
        if let multiHost = p.multiHost { predicted.append(("\(multiHost.workers) on the hosts", multiHost.seconds)) }
        row(
            "predicted",
            predicted.map { "\($0.0) \(NumberText.seconds($0.1))" }.joined(separator: " · ")
                + "  for \(recommendation.items) items")
        row(
            "recommended",
            style.paint(recommendation.summary, "1;36")
                + (recommendation.isBorderline ? style.paint("  borderline", "33") : ""))
        if let reason = recommendation.decidingRule?.reason { lines.append("    why: \(reason)") }
        for warning in recommendation.warnings {
            lines.append("    " + style.paint("warning:", "33") + " \(warning.text)")
        }
        for advice in recommendation.advice { lines.append("    advice: \(advice.text)") }
        lines.append(
            style.dim(
                "  profiled in \(NumberText.fixed(profile.profilingSeconds, decimals: 2)) s over \(profile.calls.calls) calls; --json for every figure and the rule trace"
            ))
        return lines.joined(separator: "\n") + "\n"
    }

    /// The machine row's note on other programs, only when they held enough to change the advice.
    private static func busyHost(_ model: CostModel) -> String {
        guard let others = model.busyOthersCores else { return "" }
        return "; other programs held \(NumberText.fixed(others, decimals: 2)) cores' worth while profiling"
    }
}
