internal import Foundation
internal import PoolAdvisor

/// `pool-advisor rules list|facts|check|explain`.
enum RulesCommand {
    static let spec = CommandSpec(
        name: "rules", synopsis: "list|facts|check|explain …", summary: "List, check and explain the decision rules.",
        discussion: """
            SUBCOMMANDS:
              list [--rules FILE] [--json]            the rules in evaluation order
              facts [--json]                          the facts rules can use
              check FILE…                             check rules files (exit 1 on an error)
              explain PROFILE.json [--items N] [--rules FILE] [--json]
                                                      evaluate the rules on a saved profile
            """, operands: ["SUBCOMMAND"])

    static let listSpec = CommandSpec(
        name: "rules list", synopsis: "[--rules FILE] [--json]",
        summary: "List the rules in the order they are considered.",
        options: .list(listRules, listJSON))
    static let listRules = CommandOption.text(
        "--rules", "FILE", help: "List this rules file instead of the built-in matrix.")
    static let listJSON = CommandOption.flag("--json", help: "Print the rules as JSON.")
    static let factsSpec = CommandSpec(
        name: "rules facts", synopsis: "[--json]",
        summary: "List the facts a rule can read, with type, unit and meaning.",
        options: [factsJSON.described])
    static let factsJSON = CommandOption.flag("--json", help: "Print the facts as JSON.")
    static let checkSpec = CommandSpec(
        name: "rules check", synopsis: "FILE [FILE…]",
        summary: "Check rules files: syntax, fact names, types, actions, duplicates, unreachable rules.",
        discussion:
            "Errors go to stderr as file:line:col with the line and a caret; the exit status is 1 if any file has one.",
        operands: ["FILE", "FILE…"], optionalOperands: 1)
    static let explainSpec = CommandSpec(
        name: "rules explain", synopsis: "PROFILE.json [--items N] [--rules FILE] [--json]",
        summary: "Evaluate the rules on a saved profile ('profile --json' output) and show every rule's values.",
        options: .list(explainItems, explainRules, explainJSON), operands: ["PROFILE.json"])
    static let explainItems = CommandOption.integer(
        "--items", in: 1...1_000_000_000, help: "Items in the job (default: the saved recommendation's, else 1000).")
    static let explainRules = CommandOption.text(
        "--rules", "FILE", help: "Evaluate this rules file instead of the built-in matrix.")
    static let explainJSON = CommandOption.flag(
        "--json", help: "Print the recommendation with its full trace as JSON.")

    static func run(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let sub = arguments.first, !sub.hasPrefix("-") else {
            guard try context.parse(arguments, spec) != nil else { return 0 }
            throw UsageError(message: "missing SUBCOMMAND (list, facts, check or explain)", command: spec)
        }
        let rest = arguments.dropFirst()
        switch sub {
        case "list": return try list(rest, context)
        case "facts": return try facts(rest, context)
        case "check": return try check(rest, context)
        case "explain": return try explain(rest, context)
        default:
            let hint =
                NameSuggestion.closest(to: sub, among: ["list", "facts", "check", "explain"]).map {
                    " (did you mean '\($0)'?)"
                } ?? ""
            throw UsageError(message: "unknown subcommand '\(sub)'\(hint)", command: spec)
        }
    }

    private static func list(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let parsed = try context.parse(arguments, listSpec) else { return 0 }
        let rules = try context.rules(try parsed.value(listRules))
        if parsed.has(listJSON) {
            try context.printJSON(rules.summaries)
            return 0
        }
        let style = context.outputStyle
        var lines: [String] = []
        for rule in rules.summaries {
            lines.append(
                "\(style.bold(rule.name)) [priority \(rule.priority), \(rule.kind.rawValue)] \(style.dim(rule.location.description))"
            )
            lines.append("    when \(rule.condition)")
            if rule.kind == .decision { lines.append("    then \(rule.action)") }
        }
        context.print(lines.joined(separator: "\n") + "\n")
        return 0
    }

    private static func facts(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let parsed = try context.parse(arguments, factsSpec) else { return 0 }
        let facts = AdvisorFacts.schema.facts
        if parsed.has(factsJSON) {
            try context.printJSON(facts)
            return 0
        }
        let width = facts.map(\.name.count).max() ?? 0
        context.print(
            facts.map { fact in
                let type =
                    fact.type.rawValue + (fact.unit.isEmpty ? "" : ", \(fact.unit)")
                    + (fact.mayBeUnknown ? ", may be unknown" : "")
                return "  \(fact.name.padded(to: width))  \(fact.summary) (\(type))"
            }.joined(separator: "\n") + "\n")
        return 0
    }

    private static func check(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let parsed = try context.parse(arguments, checkSpec) else { return 0 }
        if parsed.operands.isEmpty { throw UsageError(message: "missing FILE", command: checkSpec) }
        var status: Int32 = 0
        for path in parsed.operands {
            do {
                let rules = try Advisor.loadRules(contentsOf: path)
                for warning in rules.warnings { context.note("\(warning)\n") }
                let decisions = rules.summaries.filter { $0.kind == .decision }.count
                context.print(
                    "\(path): ok, \(rules.summaries.count) rules (\(decisions) decision, \(rules.summaries.count - decisions) advisory)\n"
                )
            } catch let error as RuleFileError {
                context.note("\(error)\n")
                status = 1
            } catch {
                context.note("error: \(error)\n")
                status = 1
            }
        }
        return status
    }

    private static func explain(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let parsed = try context.parse(arguments, explainSpec) else { return 0 }
        let path = parsed.operands[0]
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(message: "cannot read the profile '\(path)'")
        }
        let document: ProfileDocument
        do {
            if let wrapped = try? JSONDecoder().decode(ProfileDocument.self, from: data) {
                document = wrapped
            } else {
                document = ProfileDocument(profile: try JSONDecoder().decode(TaskProfile.self, from: data))
            }
        } catch {
            throw CommandFailure(
                message: "'\(path)' is not a profile ('pool-advisor profile TASK --json' writes one): \(error)")
        }
        let items = try parsed.value(explainItems, default: document.recommendation?.items ?? 1000)
        let rules = try context.rules(try parsed.value(explainRules))
        let recommendation = Advisor(rules: rules, machine: document.machine).recommend(document.profile, items: items)
        if parsed.has(explainJSON) {
            try context.printJSON(recommendation)
        } else {
            let name =
                context.catalog.named(document.profile.task).map(TaskCatalog.commandName) ?? document.profile.task
            context.print("\(name), \(items) items: \(recommendation.summary)\n\(recommendation.explanation)\n")
        }
        return 0
    }
}
