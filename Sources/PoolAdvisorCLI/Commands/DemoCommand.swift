internal import Foundation
internal import PoolAdvisor

/// `pool-advisor demo`: profile, recommend, then run every mode on every reference workload.
enum DemoCommand {
    static let spec = CommandSpec(
        name: "demo", synopsis: "[--quick] [--rounds N] [--only NAME,…] [--python|--no-python] [--json]",
        summary: "Profile each reference workload, recommend, run every mode on the same inputs, and compare.",
        discussion: """
            For each workload: the profile, the recommendation, then the job (sized to take about a
            second serially, a quarter with --quick) run serially, on threads, on processes and, for
            a staged task, as a pipeline, each at the size the cost model finds best, plus the
            recommended plan. The table shows predicted and measured seconds per mode, the fastest,
            and the regret: the recommended plan's time over the fastest time (1.00 is perfect).
            When the recommended plan and its closest rival (the fastest other plan) are within
            their rounds' spread of each other, whichever won, both run 4 more rounds each,
            interleaved, and the medians of all their rounds count.
            A row whose measurements other programs disturbed (they held more than 40 % of a core
            while its plans ran, or the profile found the host noisy) gets a * and a note.
            Then, where python3 runs, the Python section: each reference Python workload (py-loop,
            py-sleep, py-c-hash, py-fetch-compute, py-split, py-large-arg) profiled and advised, and run
            over the same inputs with a plain loop and Python's own ThreadPoolExecutor and
            ProcessPoolExecutor at several sizes; the regret is the advised plan's time over the
            fastest. --python runs that section alone; --no-python leaves it out.
            """,
        options: .list(quick, rounds, only, python, noPython, json))

    static let python = CommandOption.flag("--python", help: "Only the Python section.")
    static let noPython = CommandOption.flag("--no-python", help: "Leave the Python section out.")

    static let quick = CommandOption.flag("--quick", help: "Smaller jobs and one round each (for CI).")
    static let rounds = CommandOption.integer(
        "--rounds", in: 1...20, help: "Runs of each plan; the median counts (default 3, 1 with --quick).")
    static let only = CommandOption.text("--only", "NAMES", help: "Comma-separated workloads to run (default: all).")
    static let json = CommandOption.flag("--json", help: "One JSON object per workload instead of the table.")

    static func run(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let parsed = try context.parse(arguments, spec) else { return 0 }
        let isQuick = parsed.has(quick)
        var settings = ModeComparison.Settings()
        settings.serialSeconds = isQuick ? 0.25 : 1.0
        settings.rounds = try parsed.value(rounds, default: isQuick ? 1 : 3)
        settings.profiler.maximumSeconds = isQuick ? 1.5 : 3
        // This program's workers run every reference workload: processes can be measured too.
        settings.profiler.processScaling = settings.processes
        var workloads = ReferenceWorkloads.all
        let pythonNames = PythonDemo.workloads.map(\.name)
        var onlyNames: [String]?
        if let list = try parsed.value(only) {
            let names = list.split(separator: ",").map(String.init)
            onlyNames = names
            for name in names where ReferenceWorkloads.named(name) == nil && !pythonNames.contains(name) {
                let hint = NameSuggestion.closest(
                    to: name, among: ReferenceWorkloads.all.map { $0.workloadName } + pythonNames)
                throw UsageError(
                    message: "unknown workload '\(name)' in --only" + (hint.map { " (did you mean '\($0)'?)" } ?? ""),
                    command: spec)
            }
            workloads = workloads.filter { names.contains($0.workloadName) }
        }
        if parsed.has(python) && parsed.has(noPython) {
            throw UsageError(message: "--python and --no-python exclude each other", command: spec)
        }
        if parsed.has(python) { workloads = [] }
        let asJSON = parsed.has(json)
        let runsPython = !parsed.has(noPython) && (onlyNames.map { $0.contains(where: pythonNames.contains) } ?? true)
        guard !workloads.isEmpty else {
            if runsPython { try runPython(parsed, isQuick: isQuick, settings: settings, only: onlyNames, context) }
            return 0
        }
        let machine = try context.machine()
        if !asJSON { context.print(DemoTable.header) }
        var regrets: [Double] = []
        var noisyRows = 0
        for workload in workloads {
            let row = try compare(workload, machine: machine, settings: settings)
            regrets.append(row.regret)
            if row.noisy { noisyRows += 1 }
            context.print(asJSON ? try DemoTable.jsonLine(row) : DemoTable.line(row, style: context.outputStyle))
        }
        if !asJSON, let worst = regrets.max() {
            let within = regrets.filter { $0 <= 1.10 }.count
            context.print(
                "\nregret ≤ 1.10 on \(within) of \(regrets.count) workloads; worst \(NumberText.fixed(worst, decimals: 2)). "
                    + "Cells are predicted → measured seconds; the recommended plan ran as shown in its column."
                    + (noisyRows > 0
                        ? " \(noisyRows) row(s) marked * ran while other programs held the cores: rerun on a quiet machine to trust them."
                        : "") + "\n")
        }
        if runsPython { try runPython(parsed, isQuick: isQuick, settings: settings, only: onlyNames, context) }
        return 0
    }

    /// The Python section, where an interpreter runs; without one, a note (unless it was asked
    /// for by name, which makes its absence an error).
    private static func runPython(
        _ parsed: ParsedArguments, isQuick: Bool, settings: ModeComparison.Settings, only: [String]?,
        _ context: CommandContext
    ) throws {
        let asked = parsed.has(python) || only != nil
        guard PythonDemo.interpreterRuns() else {
            if asked { throw CommandFailure(message: "the Python section needs python3 in PATH") }
            if !parsed.has(json) { context.print("\nPython: skipped (no python3 in PATH)\n") }
            return
        }
        try PythonDemo.run(
            quick: isQuick, rounds: settings.rounds, only: only.map { $0.filter { $0.hasPrefix("py-") } },
            asJSON: parsed.has(json), context: context)
    }

    private static func compare<Workload: ReferenceWorkload>(
        _ workload: Workload.Type, machine: MachineProfile, settings: ModeComparison.Settings
    ) throws -> ModeComparison {
        do {
            return try ModeComparison.run(workload, machine: machine, settings: settings)
        } catch {
            throw CommandFailure(message: "demo of \(Workload.workloadName) failed: \(error)")
        }
    }
}

/// The demo's table and JSON lines.
enum DemoTable {
    static let header =
        "workload".padded(to: 15) + "items".padded(to: 8) + "recommended".padded(to: 34) + "serial".padded(to: 17)
        + "threads".padded(to: 17) + "processes".padded(to: 17) + "pipeline".padded(to: 17)
        + "recommended".padded(to: 17)
        + "fastest".padded(to: 12) + "regret\n"

    static func cell(_ timing: ModeComparison.Timing?) -> String {
        guard let timing else { return "–".padded(to: 17) }
        return "\(short(timing.predictedSeconds)) → \(short(timing.measuredSeconds))".padded(to: 17)
    }

    static func short(_ seconds: Double) -> String {
        seconds >= 10
            ? NumberText.fixed(seconds, decimals: 1)
            : seconds >= 0.1 ? NumberText.fixed(seconds, decimals: 2) : NumberText.fixed(seconds, decimals: 3)
    }

    /// A row of the table; a row whose measurements other programs disturbed gets a `*` after
    /// its regret and a footnote line saying what was measured.
    static func line(_ row: ModeComparison, style: Style) -> String {
        let regret = NumberText.fixed(row.regret, decimals: 2)
        let painted = row.regret <= 1.10 ? style.paint(regret, "32") : style.paint(regret, "31")
        let text =
            row.workload.padded(to: 15) + "\(row.items)".padded(to: 8) + row.recommended.plan.summary.padded(to: 34)
            + cell(row.modes["serial"]) + cell(row.modes["threads"]) + cell(row.modes["processes"])
            + cell(row.modes["pipeline"]) + cell(row.recommended) + row.fastest.padded(to: 12) + painted
        guard row.noisy else { return text + "\n" }
        return text + style.paint("*", "33") + "\n" + style.dim("  * noisy: " + noiseNote(row)) + "\n"
    }

    /// What disturbed a noisy row, in the measured figures.
    static func noiseNote(_ row: ModeComparison) -> String {
        var causes: [String] = []
        if let share = row.othersCPUShare, share > ModeComparison.noisyOthersShare {
            causes.append(
                "other programs held \(NumberText.fixed(share, decimals: 2)) of a core on average while its plans ran")
        }
        if row.profileNoisyHost == true { causes.append("the profile's scaling rounds were disturbed") }
        return causes.joined(separator: "; ") + ": its times and regret are less certain"
    }

    /// `{"workload","recommended","fastest","regret","items","serial_seconds",…,"predicted_…"}`.
    static func jsonLine(_ row: ModeComparison) throws -> String {
        var object: [String: JSONScalar] = [
            "workload": .text(row.workload), "recommended": .text(row.recommended.plan.mode.rawValue),
            "recommended_plan": .text(row.recommended.plan.summary), "fastest": .text(row.fastest),
            "regret": .number(row.regret), "items": .number(Double(row.items)),
            "recommended_seconds": .number(row.recommended.measuredSeconds),
            "predicted_recommended_seconds": .number(row.recommended.predictedSeconds),
            "profiling_seconds": .number(row.profilingSeconds),
        ]
        if let rule = row.rule { object["rule"] = .text(rule) }
        object["noisy"] = .flag(row.noisy)
        if let share = row.othersCPUShare { object["others_cpu_share"] = .number(share) }
        for (mode, timing) in row.modes {
            object["\(mode)_seconds"] = .number(timing.measuredSeconds)
            object["\(mode)_plan"] = .text(timing.plan.summary)
            object["predicted_\(mode)_seconds"] = .number(timing.predictedSeconds)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(object), as: UTF8.self) + "\n"
    }

    enum JSONScalar: Encodable {
        case text(String)
        case number(Double)
        case flag(Bool)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let text): try container.encode(text)
            case .flag(let flag): try container.encode(flag)
            case .number(let number): try container.encode(number.isFinite ? number : -1)
            }
        }
    }
}
