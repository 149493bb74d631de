import Foundation
import PoolAdvisor

/// `pool-bench wire`: PoolWire against JSONEncoder/JSONDecoder (same run, same values) and
/// Python's pickle (protocol 4, a peer script per round), on the three datasets.
/// Rates are megabytes of the *dataset* per second — the bytes a user has — so a format that
/// writes more bytes does not look faster for it: 1 MB for the bytes, 800 kB for 100k Ints
/// (8 bytes each) and, for 10k items, the size pickle gives them.
struct WireSuite {
    let quick: Bool
    let rounds: Int

    struct Item: Codable, Equatable {
        var id: Int
        var name: String
        var score: Double
    }

    var budget: Double { quick ? 0.05 : 0.25 }

    func run() -> Report {
        let report = Report(suite: "wire")
        var state: UInt64 = 12345
        func next() -> UInt64 {
            state = (state &* 1_103_515_245 &+ 12345) & 0x7FFF_FFFF
            return state
        }
        let bytes = (0..<1_000_000).map { _ in UInt8(truncatingIfNeeded: next()) }
        let ints = (0..<100_000).map { _ in Int(next()) }
        let items = (0..<10_000).map { Item(id: $0, name: "item-\($0)", score: Double($0) / 7) }
        var pythonMissing: String?
        var itemsNominal = 338_727.0  // pickle's size for the items, replaced by this run's value

        for _ in 0..<rounds {
            measure("bytes_1MB", bytes, nominal: 1_000_000, into: report)
            measure("ints_100k", ints, nominal: 800_000, into: report)
            measure("items_10k", items, nominal: itemsNominal, into: report)
            if pythonMissing == nil {
                settle()
                switch PythonPeer.run(script: "python_pickle_peer.py", arguments: [String(budget)]) {
                case .success(let figures):
                    for figure in figures where figure.unit == "bytes" && figure.figure == "items_10k_bytes" {
                        itemsNominal = figure.value
                    }
                    for figure in figures where figure.unit == "MB/s" {
                        // pickle reports MB/s of its own encoding; convert to the dataset's MB/s.
                        let size =
                            figures.first {
                                $0.figure == figure.figure.split(separator: "_").prefix(2).joined(separator: "_")
                                    + "_bytes"
                            }?.value ?? 1
                        let dataset = nominalSize(of: figure.figure, items: itemsNominal)
                        report.record(
                            figure.figure, "python pickle", unit: "MB/s", value: figure.value / size * dataset)
                    }
                case .failure(let unavailable):
                    pythonMissing = unavailable.reason
                }
            }
        }
        if let pythonMissing { report.note("Python peer skipped: \(pythonMissing)") }
        for dataset in ["bytes_1MB", "ints_100k", "items_10k"] {
            for op in ["encode", "decode"] {
                let figure = "\(dataset)_\(op)"
                report.addRatio(
                    RatioSpec(
                        figure: figure, numerator: "PoolWire", denominator: "python pickle", peer: "python pickle",
                        target: "≥ 2×", meets: { $0 >= 2 }))
                report.addRatio(
                    RatioSpec(
                        figure: figure, numerator: "PoolWire", denominator: "JSONEncoder/JSONDecoder",
                        peer: "JSONEncoder/JSONDecoder", target: "≥ 10×", meets: { $0 >= 10 }))
            }
        }
        return report
    }

    private func nominalSize(of figure: String, items: Double) -> Double {
        if figure.hasPrefix("bytes_1MB") { return 1_000_000 }
        if figure.hasPrefix("ints_100k") { return 800_000 }
        return items
    }

    /// Records encode and decode rates for PoolWire and JSON on one dataset.
    private func measure<T: Codable & Equatable>(_ name: String, _ value: T, nominal: Double, into report: Report) {
        let encoder = WireEncoder()
        let wire = try! encoder.encode(value)
        precondition(try! WireDecoder().decode(T.self, from: wire) == value, "PoolWire round trip")
        let jsonEncoder = JSONEncoder()
        let json = try! jsonEncoder.encode(value)
        let jsonDecoder = JSONDecoder()
        precondition(try! jsonDecoder.decode(T.self, from: json) == value, "JSON round trip")
        report.record("\(name)_bytes", "PoolWire", unit: "bytes", ours: true, value: Double(wire.count))
        report.record("\(name)_bytes", "JSONEncoder/JSONDecoder", unit: "bytes", value: Double(json.count))

        let rate = { (seconds: Double) in nominal / 1e6 / seconds }
        report.measure(
            "\(name)_encode", "PoolWire", unit: "MB/s", ours: true,
            value: rate(bestTime { _ = try! encoder.encode(value) }))
        report.measure(
            "\(name)_encode", "JSONEncoder/JSONDecoder", unit: "MB/s",
            value: rate(bestTime { _ = try! jsonEncoder.encode(value) }))
        let decoder = WireDecoder()
        report.measure(
            "\(name)_decode", "PoolWire", unit: "MB/s", ours: true,
            value: rate(bestTime { _ = try! decoder.decode(T.self, from: wire) }))
        report.measure(
            "\(name)_decode", "JSONEncoder/JSONDecoder", unit: "MB/s",
            value: rate(bestTime { _ = try! jsonDecoder.decode(T.self, from: json) }))
    }

    /// Seconds per call of `body`: the best of several batches within the round's budget.
    private func bestTime(_ body: () -> Void) -> Double {
        var best = Double.infinity
        let deadline = Date().addingTimeInterval(budget)
        repeat {
            var calls = 0
            let start = Date()
            var elapsed = 0.0
            repeat {
                body()
                calls += 1
                elapsed = Date().timeIntervalSince(start)
            } while elapsed < budget / 5
            best = min(best, elapsed / Double(calls))
        } while Date() < deadline
        return best
    }
}
