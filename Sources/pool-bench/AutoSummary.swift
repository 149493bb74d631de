import Foundation

/// One job of `pool-bench auto`: every round's times, and what auto chose.
struct AutoRow {
    /// The fixed modes, as the summary's columns.
    enum Column: CaseIterable {
        case serial, threadsCores, threads32, processesCores, pipeline

        func title(cores: Int) -> String {
            switch self {
            case .serial: "serial"
            case .threadsCores: "thr×\(cores)"
            case .threads32: "thr×32"
            case .processesCores: "proc×\(cores)"
            case .pipeline: "pipeline"
            }
        }

        var jsonKey: String {
            switch self {
            case .serial: "serial"
            case .threadsCores: "threads_cores"
            case .threads32: "threads_32"
            case .processesCores: "processes_cores"
            case .pipeline: "pipeline"
            }
        }
    }

    let job: String
    let items: Int
    var fixed: [Column: [Double]] = [:]
    /// Whether the mode ran on a strided subset and was scaled up.
    var scaled: [Column: Bool] = [:]
    var best: [Double] = []
    var auto: [Double] = []
    /// Each round's fastest fixed mode, run again after auto (the control).
    var control: [Double] = []
    var profilingShare: [Double] = []
    var chosen = "n/a"

    init(job: String, items: Int) {
        self.job = job
        self.items = items
    }

    /// Auto's median time over `column`'s median time.
    func regret(against column: Column) -> Double? {
        guard let times = fixed[column], !auto.isEmpty else { return nil }
        return Stats(auto).median / max(Stats(times).median, 1e-9)
    }

    /// The median of the per-round ratios auto / best fixed mode (as the ratio lines compute it).
    var regretAgainstBest: Double? { Self.medianRatio(auto, best) }

    /// The same ratio for the control: the round's fastest fixed mode, run again, over the
    /// round's best (itself, the first time).
    var controlAgainstBest: Double? { Self.medianRatio(control, best) }

    /// The median of the per-round ratios `times[i] / best[i]`.
    static func medianRatio(_ times: [Double], _ best: [Double]) -> Double? {
        let ratios = zip(times, best).compactMap { $1 > 0 ? $0 / $1 : nil }
        return ratios.isEmpty ? nil : Stats(ratios).median
    }

    /// The summary table, its JSON lines, and a note on the worst regret, how many jobs are
    /// within 1.10× of the best fixed mode and the median profiling share.
    static func summarise(_ rows: [AutoRow], into report: Report, cores: Int) {
        guard !rows.isEmpty else { return }
        let regretTitles = Column.allCases.map { padLeft($0.title(cores: cores), 9) }.joined()
        let header =
            pad("job", 28) + padLeft("items", 9) + padLeft("auto s", 9) + padLeft("prof.", 7) + "  "
            + pad("auto chose", 30) + regretTitles + padLeft("best", 8) + padLeft("control", 9)
        var lines = [header, String(repeating: "-", count: header.count)]
        for row in rows {
            let cells = Column.allCases.map { column -> String in
                guard let regret = row.regret(against: column) else { return padLeft("—", 9) }
                return padLeft(format(regret) + (row.scaled[column] == true ? "*" : ""), 9)
            }
            let share =
                row.profilingShare.isEmpty ? "n/a" : String(format: "%.1f%%", 100 * Stats(row.profilingShare).median)
            lines.append(
                pad(row.job, 28) + padLeft(String(row.items), 9) + padLeft(format(Stats(row.auto).median), 9)
                    + padLeft(share, 7) + "  " + pad(row.chosen, 30) + cells.joined()
                    + padLeft(row.regretAgainstBest.map(format) ?? "n/a", 8)
                    + padLeft(row.controlAgainstBest.map(format) ?? "n/a", 9))
            var fields: [(String, JSONValue)] = [
                ("figure", .text(row.job)), ("items", .number(Double(row.items))),
                ("auto_seconds", .number(Stats(row.auto).median)),
                ("profiling_share", .number(Stats(row.profilingShare).median)), ("chosen", .text(row.chosen)),
                ("regret_best", row.regretAgainstBest.map { .number($0) } ?? .null),
                ("control_best", row.controlAgainstBest.map { .number($0) } ?? .null),
            ]
            for column in Column.allCases {
                if let regret = row.regret(against: column) {
                    fields.append(("regret_" + column.jsonKey, .number(regret)))
                    fields.append(("scaled_" + column.jsonKey, .bool(row.scaled[column] == true)))
                }
            }
            report.addJSON(fields)
        }
        report.addTable(
            "auto's regret against each fixed mode (auto s / mode s, medians; * = mode run on every k-th input, "
                + "time scaled by k; best = median of per-round auto / best fixed mode; control = the same for "
                + "the round's fastest fixed mode run again)", lines)
        let regrets = rows.compactMap { row in row.regretAgainstBest.map { (row.job, $0) } }
        let shares = rows.compactMap { $0.profilingShare.isEmpty ? nil : Stats($0.profilingShare).median }
        if let worst = regrets.max(by: { $0.1 < $1.1 }) {
            let within = regrets.filter { $0.1 <= 1.10 }.count
            report.note(
                "summary: worst regret \(format(worst.1))× (\(worst.0)); \(within) of \(regrets.count) jobs within 1.10× "
                    + "of the best fixed mode; median profiling share \(String(format: "%.1f%%", 100 * Stats(shares).median))"
            )
        }
        let controls = rows.compactMap(\.controlAgainstBest)
        if let worst = controls.max() {
            let within = controls.filter { $0 <= 1.10 }.count
            report.note(
                "control: the round's fastest fixed mode, run again, scored up to \(format(worst))× the best; "
                    + "\(within) of \(controls.count) jobs within 1.10× (the noise floor of the regret above)")
        }
    }
}
