import Foundation

/// One implementation's timings for one figure, one value per round.
struct Series {
    let figure: String
    let implementation: String
    let unit: String
    /// Whether this is pool-advisor's own implementation (the others are peers).
    let isOurs: Bool
    var values: [Double] = []
}

/// A same-round ratio: for each round, `numerator / denominator` of that round's values.
struct RatioSpec {
    let figure: String
    let numerator: String
    let denominator: String
    let peer: String
    /// The target, as text ("≥ 50×"), and the check itself.
    let target: String
    let meets: (Double) -> Bool
}

/// Collects series and ratios of one suite and prints them as a table or as JSON lines.
final class Report {
    let suite: String
    private(set) var series: [Series] = []
    private var ratios: [RatioSpec] = []
    private(set) var notes: [String] = []
    /// Tables a suite lays out itself (text output only) and the JSON lines that carry the same figures.
    private var tables: [(title: String, lines: [String])] = []
    private var jsonLines: [[(String, JSONValue)]] = []

    init(suite: String) { self.suite = suite }

    /// A table printed after the series in text output; its figures go to JSON through ``addJSON(_:)``.
    func addTable(_ title: String, _ lines: [String]) { tables.append((title, lines)) }

    /// One more JSON object for `--json` output (the suite's name is put first).
    func addJSON(_ fields: [(String, JSONValue)]) { jsonLines.append([("suite", .text(suite))] + fields) }

    func record(_ figure: String, _ implementation: String, unit: String, ours: Bool = false, value: Double) {
        if let index = series.firstIndex(where: { $0.figure == figure && $0.implementation == implementation }) {
            series[index].values.append(value)
        } else {
            series.append(
                Series(figure: figure, implementation: implementation, unit: unit, isOurs: ours, values: [value]))
        }
    }

    /// Lets the machine settle, then takes and records one measurement.
    func measure(
        _ figure: String, _ implementation: String, unit: String, ours: Bool = false,
        value: @autoclosure () -> Double
    ) {
        settle()
        record(figure, implementation, unit: unit, ours: ours, value: value())
    }

    func addRatio(_ spec: RatioSpec) { ratios.append(spec) }

    func note(_ text: String) { notes.append(text) }

    private func values(_ figure: String, _ implementation: String) -> [Double]? {
        series.first { $0.figure == figure && $0.implementation == implementation }?.values
    }

    /// Per-round ratios of a spec (rounds where either side is missing are skipped).
    func ratioValues(_ spec: RatioSpec) -> [Double] {
        guard let top = values(spec.figure, spec.numerator), let bottom = values(spec.figure, spec.denominator)
        else { return [] }
        return zip(top, bottom).compactMap { $1 > 0 ? $0 / $1 : nil }
    }

    func printTable() {
        print("pool-bench \(suite): medians of \(series.first?.values.count ?? 0) rounds (min – max)")
        let header =
            pad("figure", 22) + pad("implementation", 34) + padLeft("median", 11) + "  " + pad("min – max", 22) + "unit"
        print(header)
        print(String(repeating: "-", count: header.count + 4))
        var lastFigure = ""
        for row in series {
            let stats = Stats(row.values)
            let label = row.figure == lastFigure ? "" : row.figure
            lastFigure = row.figure
            let name = row.isOurs ? row.implementation + " (ours)" : row.implementation
            print(
                pad(label, 22) + pad(name, 34) + padLeft(format(stats.median), 11) + "  "
                    + pad("\(format(stats.min)) – \(format(stats.max))", 22) + row.unit)
        }
        for table in tables {
            print("\n" + table.title)
            table.lines.forEach { print($0) }
        }
        if !ratios.isEmpty {
            print("\nratios, computed within each round (median, min – max)")
            for spec in ratios {
                let values = ratioValues(spec)
                guard !values.isEmpty else {
                    print("  \(spec.figure): \(spec.numerator) / \(spec.denominator): not measured")
                    continue
                }
                let stats = Stats(values)
                let verdict = spec.target == "info" ? "reference" : spec.meets(stats.median) ? "met" : "NOT met"
                print(
                    "  " + pad(spec.figure, 20) + pad("\(spec.numerator) / \(spec.denominator)", 58)
                        + padLeft(format(stats.median) + "×", 9) + "  (\(format(stats.min)) – \(format(stats.max)))"
                        + (spec.target == "info" ? "  (reference)" : "  target \(spec.target): \(verdict)"))
            }
        }
        for note in notes { print("note: \(note)") }
    }

    func printJSONLines() {
        for row in series {
            let stats = Stats(row.values)
            print(
                jsonObject([
                    ("suite", .text(suite)), ("figure", .text(row.figure)), ("value", .number(stats.median)),
                    ("unit", .text(row.unit)), ("peer", row.isOurs ? .null : .text(row.implementation)),
                    ("implementation", .text(row.implementation)), ("min", .number(stats.min)),
                    ("max", .number(stats.max)), ("runs", .number(Double(row.values.count))),
                ]))
        }
        for spec in ratios {
            let values = ratioValues(spec)
            guard !values.isEmpty else { continue }
            let stats = Stats(values)
            print(
                jsonObject([
                    ("suite", .text(suite)), ("figure", .text(spec.figure + "_ratio")),
                    ("value", .number(stats.median)),
                    ("unit", .text("x")), ("peer", .text(spec.peer)),
                    ("ratio", .text("\(spec.numerator) / \(spec.denominator)")), ("min", .number(stats.min)),
                    ("max", .number(stats.max)), ("target", .text(spec.target)),
                    ("met", .bool(spec.meets(stats.median))),
                ]))
        }
        for fields in jsonLines { print(jsonObject(fields)) }
        for note in notes { print(jsonObject([("suite", .text(suite)), ("note", .text(note))])) }
    }
}

/// Median, minimum and maximum of a series.
struct Stats {
    let median: Double
    let min: Double
    let max: Double

    init(_ values: [Double]) {
        let sorted = values.sorted()
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
        if sorted.isEmpty {
            median = .nan
        } else if sorted.count % 2 == 1 {
            median = sorted[sorted.count / 2]
        } else {
            median = (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
    }
}

enum JSONValue {
    case text(String)
    case number(Double)
    case bool(Bool)
    case null
}

/// One JSON object on one line, keys in the given order.
func jsonObject(_ fields: [(String, JSONValue)]) -> String {
    let body = fields.map { key, value -> String in
        let rendered: String
        switch value {
        case .text(let text): rendered = quoted(text)
        case .number(let number): rendered = number.isFinite ? String(number) : "null"
        case .bool(let flag): rendered = flag ? "true" : "false"
        case .null: rendered = "null"
        }
        return "\(quoted(key)):\(rendered)"
    }
    return "{" + body.joined(separator: ",") + "}"
}

private func quoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}

/// Three significant figures, without scientific notation for the ranges we print.
func format(_ value: Double) -> String {
    guard value.isFinite else { return "n/a" }
    let magnitude = abs(value)
    if magnitude >= 1000 { return String(format: "%.0f", value) }
    if magnitude >= 100 { return String(format: "%.1f", value) }
    if magnitude >= 10 { return String(format: "%.2f", value) }
    if magnitude >= 1 { return String(format: "%.3f", value) }
    return String(format: "%.4f", value)
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

func padLeft(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

/// Wall time of `body` in seconds (monotonic clock).
func secondsTaken(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
