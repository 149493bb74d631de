import Foundation
import PoolRules
import Testing

@Suite("Rule evaluation")
struct EvaluatorTests {
    static let source = """
        rule noisy priority 90 when noisy_host warn "the host was busy while measuring"
        rule scales priority 50
          when cpu_ratio >= 0.8 and cpu_efficiency >= 0.85
          then threads workers = cores
          why "computes {cpu_ratio:%} of the time and keeps {cpu_efficiency:.2} of its speed on {cores:d} threads"
        rule spins priority 40
          when cpu_ratio >= 0.8 and cpu_efficiency < 0.7
          then processes workers = cores chunk = max(1, ceil(items / (cores * 4)))
        rule waits priority 30 when cpu_ratio < 0.3 then threads workers = min(64, ceil(cores / max(cpu_ratio, 0.01)))
        rule broken priority 20 when cpu_ratio < 0.5 then threads workers = 0
        rule mixed priority 10 when cpu_ratio < 0.8 then pipeline fetch_workers = 8 compute_workers = cores compute = processes
        rule lock-advice priority 5 when dominant_wait == "lock" advise "locks dominate the waits"
        rule fallback priority 0 when true then serial why "nothing else matched"
        """

    static let rules: RuleSet = try! RuleSet(source: source, file: "m.rules", schema: testSchema, actions: testActions)

    func facts(cpu: Double, efficiency: Double? = nil, noisy: Bool = false, wait: String = "none") -> Facts {
        Facts([
            "cpu_ratio": .number(cpu), "cpu_efficiency": efficiency.map(FactValue.number) ?? .unknown,
            "cores": .number(2),
            "items": .number(100), "call_seconds": .number(0.001), "noisy_host": .boolean(noisy),
            "dominant_wait": .text(wait),
        ])
    }

    struct Cell: Sendable, CustomTestStringConvertible {
        let cpu: Double
        let efficiency: Double?
        let rule: String
        let action: String
        let parameters: [String: Double]
        var testDescription: String { "cpu \(cpu), E \(efficiency.map { "\($0)" } ?? "unknown") → \(rule)" }
    }

    static let cells: [Cell] = [
        Cell(cpu: 0.99, efficiency: 0.97, rule: "scales", action: "threads", parameters: ["workers": 2]),
        Cell(cpu: 0.99, efficiency: 0.5, rule: "spins", action: "processes", parameters: ["workers": 2, "chunk": 13]),
        Cell(cpu: 0.02, efficiency: nil, rule: "waits", action: "threads", parameters: ["workers": 64]),
        Cell(cpu: 0.2, efficiency: nil, rule: "waits", action: "threads", parameters: ["workers": 10]),
        Cell(
            cpu: 0.6, efficiency: 0.9, rule: "mixed", action: "pipeline",
            parameters: ["fetch_workers": 8, "compute_workers": 2]),
        Cell(cpu: 0.99, efficiency: 0.78, rule: "fallback", action: "serial", parameters: [:]),
        // E_cpu unknown: neither CPU rule may fire on a missing measurement.
        Cell(cpu: 0.99, efficiency: nil, rule: "fallback", action: "serial", parameters: [:]),
    ]

    @Test("each cell of a small matrix decides as written", arguments: cells)
    func matrix(_ cell: Cell) {
        let result = Self.rules.evaluate(facts(cpu: cell.cpu, efficiency: cell.efficiency))
        #expect(result.decision?.rule == cell.rule)
        #expect(result.decision?.action == cell.action)
        #expect(result.decision?.parameters == cell.parameters)
    }

    @Test("the reason quotes the facts with their formats")
    func reason() {
        let result = Self.rules.evaluate(facts(cpu: 0.973, efficiency: 0.912))
        #expect(result.decision?.reason == "computes 97% of the time and keeps 0.91 of its speed on 2 threads")
    }

    @Test("unknown facts make comparisons unknown, and the trace says so")
    func unknownFacts() throws {
        let result = Self.rules.evaluate(facts(cpu: 0.99))
        let scales = try #require(result.trace.first { $0.rule == "scales" })
        #expect(scales.outcome == .unknown)
        #expect(scales.conditions.map(\.value) == [.boolean(true), .unknown])
        #expect(scales.conditions[1].facts == [FactReading(name: "cpu_efficiency", value: .unknown)])
    }

    @Test("a matching rule whose parameter is not positive hands over to the next rule")
    func invalidParameters() throws {
        let result = Self.rules.evaluate(facts(cpu: 0.4))
        let broken = try #require(result.trace.first { $0.rule == "broken" })
        #expect(broken.outcome == .invalidParameters)
        #expect(broken.note?.contains("workers = 0") == true)
        #expect(result.decision?.rule == "mixed")
        #expect(result.decision?.words == ["compute": "processes"])
    }

    @Test("every rule is traced; lower matches are outranked; all advisories are added")
    func traceAndAdvisories() {
        let result = Self.rules.evaluate(facts(cpu: 0.1, noisy: true, wait: "lock"))
        #expect(
            result.trace.map(\.rule) == [
                "noisy", "scales", "spins", "waits", "broken", "mixed", "lock-advice", "fallback",
            ])
        #expect(
            result.trace.map(\.outcome) == [
                .added, .notMatched, .notMatched, .decided, .outranked, .outranked, .added, .outranked,
            ])
        #expect(result.advisories.map(\.text) == ["the host was busy while measuring", "locks dominate the waits"])
        #expect(result.advisories.map(\.kind) == [.warning, .advice])
    }

    @Test("three-valued logic: false and unknown is false, true or unknown is true")
    func kleene() throws {
        let rules = try RuleSet(
            source: """
                rule a priority 3 when cpu_efficiency > 0.5 or cores > 1 then threads
                rule b priority 2 when cpu_efficiency > 0.5 and cores > 1 then processes
                rule c priority 1 when not known(cpu_efficiency) then serial
                rule d when true then pipeline
                """, schema: testSchema, actions: testActions)
        #expect(rules.evaluate(Facts(["cores": .number(2)])).decision?.rule == "a")
        let one = rules.evaluate(Facts(["cores": .number(1)]))
        #expect(one.trace.map(\.outcome) == [.unknown, .notMatched, .decided, .outranked])
        // A negated fact is one comparison, marked with the negation's truth.
        let explained = one.explanation()
        #expect(explained.contains("      ✓ not known(cpu_efficiency)"), "\(explained)")
        #expect(explained.contains("  ? a [priority 3, decision]: unknown (a fact it reads was not measured)"))
        #expect(explained.contains("  · d [priority 0, decision]: matched, but a rule ahead of it decided"))
    }

    @Test("the explanation lists the decision, the reason, the advisories and each condition's value")
    func explanationText() {
        let text = Self.rules.evaluate(facts(cpu: 0.99, efficiency: 0.5, wait: "lock")).explanation()
        #expect(text.hasPrefix("decision: processes (chunk 13, workers 2) by rule 'spins' at m.rules:6:1"))
        #expect(text.contains("advice: locks dominate the waits  [lock-advice]"))
        #expect(text.contains("  ✗ scales [priority 50, decision]: did not match"))
        #expect(text.contains("      ✗ cpu_efficiency >= 0.85   (cpu_efficiency = 0.50)"))
        #expect(text.contains("      ✓ cpu_efficiency < 0.7   (cpu_efficiency = 0.50)"))
    }
}

@Suite("Number text")
struct NumberTextTests {
    @Test("formats numbers without Foundation")
    func formats() {
        #expect(NumberText.fixed(0.125, decimals: 2) == "0.13")
        #expect(NumberText.fixed(-1.5, decimals: 0) == "-2")
        #expect(NumberText.fixed(3, decimals: 3) == "3.000")
        #expect(NumberText.automatic(0.0523) == "0.052")
        #expect(NumberText.automatic(12.345) == "12.3")
        #expect(NumberText.automatic(64) == "64")
        #expect(NumberText.seconds(0.00000085) == "850 ns")
        #expect(NumberText.seconds(0.0125) == "12.5 ms")
        #expect(NumberText.seconds(1.5) == "1.50 s")
        #expect(NumberText.bytes(4 * 1_048_576) == "4.00 MiB")
        #expect(NumberText.bytes(512) == "512 B")
    }

    @Test("a decision saved before decisions were generic (mode, computeStage) still reads; the new form round-trips")
    func decisionCoding() throws {
        let saved = #"""
            {"rule":"mixed","location":{"file":"m.rules","line":9,"column":1},"mode":"pipeline",
             "parameters":{"fetch_workers":8},"computeStage":"threads","reason":"overlaps"}
            """#
        let old = try JSONDecoder().decode(RuleDecision.self, from: Data(saved.utf8))
        #expect(
            old.action == "pipeline" && old.words == ["compute": "threads"] && old.parameters == ["fetch_workers": 8])
        #expect(old.reason == "overlaps" && old.location.line == 9)
        let again = try JSONDecoder().decode(RuleDecision.self, from: try JSONEncoder().encode(old))
        #expect(again == old)
        // A decision with no word parameters writes no `words`.
        let plain = RuleDecision(
            rule: "r", location: old.location, action: "serial", parameters: [:], words: [:], reason: nil)
        let text = String(decoding: try JSONEncoder().encode(plain), as: UTF8.self)
        #expect(!text.contains("words") && text.contains(#""mode":"serial""#))
    }

}
