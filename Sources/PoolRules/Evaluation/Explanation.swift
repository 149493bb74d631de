extension RuleEvaluation {
    /// The evaluation as text for a person: the decision and its reason, the advisory lines, then
    /// every rule in evaluation order with each comparison's value and the facts it read.
    /// - Parameter verbose: include the rules that did not match (near misses) as well.
    public func explanation(verbose: Bool = true) -> String {
        var lines: [String] = []
        if let decision {
            let parameters = decision.parameters.sorted { $0.key < $1.key }.map {
                "\($0.key) \(NumberText.automatic($0.value))"
            }
            let words = decision.words.sorted { $0.key < $1.key }.map { "\($0.key) on \($0.value)" }
            let detail = (parameters + words).joined(separator: ", ")
            lines.append(
                "decision: \(decision.action)\(detail.isEmpty ? "" : " (\(detail))") by rule '\(decision.rule)' at \(decision.location)"
            )
            if let reason = decision.reason { lines.append("  why: \(reason)") }
        } else {
            lines.append("decision: none (no decision rule matched)")
        }
        for advisory in advisories {
            lines.append("\(advisory.kind == .warning ? "warning" : "advice"): \(advisory.text)  [\(advisory.rule)]")
        }
        lines.append("rules, in the order they were considered:")
        for rule in trace where verbose || rule.outcome != .notMatched {
            let mark =
                rule.outcome == .decided || rule.outcome == .added
                ? "✓" : rule.outcome == .unknown ? "?" : rule.outcome == .notMatched ? "✗" : "·"
            let note = rule.note.map { " (\($0))" } ?? ""
            lines.append(
                "  \(mark) \(rule.rule) [priority \(rule.priority), \(rule.kind.rawValue)]: \(rule.outcome.words)\(note)"
            )
            for condition in rule.conditions {
                let mark = condition.value == .boolean(true) ? "✓" : condition.value == .boolean(false) ? "✗" : "?"
                let readings = condition.facts.map { "\($0.name) = \($0.value)" }.joined(separator: ", ")
                lines.append("      \(mark) \(condition.text)\(readings.isEmpty ? "" : "   (\(readings))")")
            }
        }
        return lines.joined(separator: "\n")
    }
}
