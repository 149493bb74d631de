import PoolRules
import Testing

let testSchema = FactSchema([
    FactDefinition("cpu_ratio", .number, unit: "ratio", "CPU time over wall time"),
    FactDefinition(
        "cpu_efficiency", .number, unit: "ratio", "work per CPU second, N threads vs one", mayBeUnknown: true),
    FactDefinition("cores", .number, unit: "count", "usable cores"),
    FactDefinition("items", .number, unit: "count", "items in the job"),
    FactDefinition("call_seconds", .number, unit: "seconds", "wall time per call"),
    FactDefinition("noisy_host", .boolean, "neighbours stole the cores while measuring"),
    FactDefinition("dominant_wait", .text, "what the threads mostly wait on"),
])

/// The decisions the tests' rules make: the rule language knows them only from here.
let testActions = ActionSchema([
    ActionDefinition("serial"),
    ActionDefinition("threads", parameters: [.number("workers"), .number("chunk")]),
    ActionDefinition("processes", parameters: [.number("workers"), .number("chunk")]),
    ActionDefinition(
        "pipeline",
        parameters: [
            .number("fetch_workers"), .number("compute_workers"), .number("chunk"),
            .word("compute", oneOf: ["processes", "threads"]),
        ]),
])

/// Loads `source` expecting failure and returns its diagnostics.
func loadErrors(_ source: String) -> [RuleDiagnostic] {
    do {
        _ = try RuleSet(source: source, file: "t.rules", schema: testSchema, actions: testActions)
        Issue.record("expected the rules to be rejected")
        return []
    } catch {
        return error.errors
    }
}

@Suite("Rule parser")
struct ParserTests {
    @Test("a valid file loads, rules come in priority order, comments and line breaks are free")
    func validFile() throws {
        let source = """
            # a comment
            rule low priority 1 when true then serial why "fallback"
            rule cpu-bound priority 50   # trailing comment
              when cpu_ratio >= 80% and
                   not noisy_host
              then threads workers = clamp(ceil(cores / cpu_ratio), 1, 64), chunk = 1
              why "computes {cpu_ratio:%} of the time"
            rule note priority 5 when dominant_wait == "lock" advise "split the lock"
            rule pipe priority 10 when cpu_ratio < 0.5 then pipeline fetch_workers = 8 compute_workers = cores compute = processes
            """
        let rules = try RuleSet(source: source, file: "t.rules", schema: testSchema, actions: testActions)
        #expect(rules.summaries.map(\.name) == ["cpu-bound", "pipe", "note", "low"])
        #expect(rules.summaries[0].location == SourceLocation(file: "t.rules", line: 3, column: 1))
        #expect(rules.summaries[0].condition == "cpu_ratio >= 80% and not noisy_host")
        #expect(rules.summaries[2].kind == .advice)
        #expect(rules.warnings.isEmpty)
    }

    @Test("units scale numbers: 50us, 2ms, 4KiB, 30%")
    func units() throws {
        let rules = try RuleSet(
            source:
                "rule r when call_seconds < 50us and items > 4KiB and cpu_ratio < 30% then serial\nrule f when true then threads",
            schema: testSchema, actions: testActions)
        let yes = rules.evaluate(
            Facts(["call_seconds": .number(49e-6), "items": .number(4097), "cpu_ratio": .number(0.29)]))
        #expect(yes.decision?.rule == "r")
        let no = rules.evaluate(
            Facts(["call_seconds": .number(51e-6), "items": .number(4097), "cpu_ratio": .number(0.29)]))
        #expect(no.decision?.rule == "f")
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        let source: String
        let kind: RuleDiagnostic.Kind
        let line: Int
        let column: Int
        let message: String
        var testDescription: String { "\(kind) at \(line):\(column)" }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(
            source: "rule a when cpu_ratio >= then serial", kind: .syntax, line: 1, column: 26,
            message: "expected a value"),
        ErrorCase(
            source: "rule a\n  when cpu_ratio > 1\n  then sequential", kind: .syntax, line: 3, column: 8,
            message: "expected a decision after 'then' (serial, threads, processes or pipeline)"),
        ErrorCase(
            source: "rule a when (cpu_ratio > 1 then serial", kind: .syntax, line: 1, column: 28,
            message: "expected ')'"),
        ErrorCase(
            source: "rule a when cpu_ratio > 1 then serial why \"open", kind: .syntax, line: 1, column: 43,
            message: "unterminated string"),
        ErrorCase(
            source: "rule a when cpu_ratio > 1 && true then serial", kind: .syntax, line: 1, column: 27,
            message: "write 'and'"),
        ErrorCase(
            source: "rule a when 1 < 2 < 3 then serial", kind: .syntax, line: 1, column: 19, message: "do not chain"),
        ErrorCase(
            source: "rule a when call_seconds < 5 parsecs then serial", kind: .syntax, line: 1, column: 30,
            message: "expected 'then'"),
        ErrorCase(
            source: "rule a when call_seconds < 5xs then serial", kind: .syntax, line: 1, column: 29,
            message: "unknown unit 'xs'"),
        ErrorCase(
            source: "rule a when true then serial why \"at {cpu_ratio:q}\"", kind: .syntax, line: 1, column: 49,
            message: "unknown format 'q'"),
        ErrorCase(
            source: "rule a when true then serial why \"at {cpu_ratio\"", kind: .syntax, line: 1, column: 38,
            message: "'{' without a closing"),
        ErrorCase(
            source: "rule a when cpu_ration > 0.8 then threads", kind: .unknownFact, line: 1, column: 13,
            message: "did you mean 'cpu_ratio'?"),
        ErrorCase(
            source: "rule a when true then serial why \"{corez}\"", kind: .unknownFact, line: 1, column: 36,
            message: "did you mean 'cores'?"),
        ErrorCase(
            source: "rule a when log(cores) > 1 then serial", kind: .unknownFunction, line: 1, column: 13,
            message: "unknown function 'log'"),
        ErrorCase(
            source: "rule a when cpu_ratio then serial", kind: .typeMismatch, line: 1, column: 13,
            message: "condition must be a boolean"),
        ErrorCase(
            source: "rule a when noisy_host + 1 > 2 then serial", kind: .typeMismatch, line: 1, column: 13,
            message: "'+' needs numbers"),
        ErrorCase(
            source: "rule a when dominant_wait == 3 then serial", kind: .typeMismatch, line: 1, column: 30,
            message: "compares a text with a number"),
        ErrorCase(
            source: "rule a when true then threads workers = noisy_host", kind: .typeMismatch, line: 1, column: 41,
            message: "'workers' must be a number"),
        ErrorCase(
            source: "rule a when clamp(cores, 1) > 1 then serial", kind: .typeMismatch, line: 1, column: 13,
            message: "'clamp' takes 3 arguments"),
        ErrorCase(
            source: "rule a priority 2 when cores > 1 then serial\nrule a priority 1 when true then threads",
            kind: .duplicateRule, line: 2, column: 1, message: "already used at line 1"),
        ErrorCase(
            source: "rule a when true then serial workers = 4", kind: .invalidAction, line: 1, column: 30,
            message: "'serial' does not take 'workers'"),
        ErrorCase(
            source: "rule a when true then threads workers = 2 workers = 3", kind: .invalidAction, line: 1, column: 43,
            message: "given twice"),
        ErrorCase(
            source: "rule a when true then threads compute_workers = 2", kind: .invalidAction, line: 1, column: 31,
            message: "takes workers, chunk"),
        ErrorCase(
            source: "rule all priority 9 when true then serial\n\nrule never priority 3 when cores > 1 then threads",
            kind: .unreachableRule, line: 3, column: 1,
            message: "'all' (line 1, priority 9) comes first and always matches"),
        ErrorCase(
            source:
                "rule x priority 5 when cores > 1 then serial\nrule y priority 5 when cores > 1 then threads\nrule z when true then serial",
            kind: .unreachableRule, line: 2, column: 1, message: "has the same condition"),
    ]

    @Test("each error class names its line and column", arguments: errorCases)
    func errorLocations(_ case_: ErrorCase) {
        let errors = loadErrors(case_.source)
        let match = errors.first { $0.kind == case_.kind }
        #expect(match != nil, "no \(case_.kind) in \(errors)")
        guard let match else { return }
        #expect(match.location == SourceLocation(file: "t.rules", line: case_.line, column: case_.column), "\(match)")
        #expect(match.message.contains(case_.message), "\(match.message)")
        #expect(match.description.hasPrefix("t.rules:\(case_.line):\(case_.column): error: "))
    }

    @Test("the rendered error quotes the line with a caret under the column")
    func caret() {
        let errors = loadErrors("rule ok when true then serial\nrule bad priority 1 when cpu_ration > 1 then threads")
        #expect(errors.count == 1)
        #expect(
            errors.first?.description == """
                t.rules:2:26: error: unknown fact 'cpu_ration'; did you mean 'cpu_ratio'?
                    rule bad priority 1 when cpu_ration > 1 then threads
                                             ^
                """)
    }

    @Test("every broken rule is reported in one pass, not just the first")
    func recovery() {
        let errors = loadErrors(
            "rule a when > 1 then serial\nrule b when cores > 1 then threads\nrule c when then serial\nrule d when true then serial"
        )
        #expect(errors.map(\.location.line) == [1, 3])
    }

    @Test("an empty file and a file of comments are rejected")
    func emptyFile() {
        #expect(loadErrors("").first?.message == "the file has no rules")
        #expect(loadErrors("# only a comment\n").first?.message == "the file has no rules")
    }

    @Test("the language is generic over its decisions: another vocabulary parses, checks and evaluates")
    func otherVocabulary() throws {
        let actions = ActionSchema([
            ActionDefinition("hold"),
            ActionDefinition("deploy", parameters: [.number("replicas"), .word("region", oneOf: ["north", "south"])]),
        ])
        let rules = try RuleSet(
            source: """
                rule busy priority 2 when cpu_ratio > 0.5 then deploy replicas = cores * 2, region = south
                rule fallback priority 1 when true then hold
                """, schema: testSchema, actions: actions)
        var facts = Facts()
        facts["cpu_ratio"] = .number(0.9)
        facts["cores"] = .number(3)
        let decision = try #require(rules.evaluate(facts).decision)
        #expect(
            decision.action == "deploy" && decision.parameters == ["replicas": 6]
                && decision.words == ["region": "south"])
        // The pool-advisor words are not part of the language: under this vocabulary they are errors.
        do {
            _ = try RuleSet(source: "rule a when true then threads", schema: testSchema, actions: actions)
            Issue.record("a decision outside the vocabulary loaded")
        } catch {
            #expect(
                error.diagnostics.first?.message.contains("expected a decision after 'then' (hold or deploy)") == true)
        }
        do {
            _ = try RuleSet(source: "rule a when true then deploy region = east", schema: testSchema, actions: actions)
            Issue.record("a word outside the parameter's list loaded")
        } catch {
            #expect(error.diagnostics.first?.message.contains("'region' takes 'north' or 'south'") == true)
        }
    }

    @Test("no fallback rule is a warning, not an error")
    func noFallback() throws {
        let rules = try RuleSet(source: "rule a when cores > 1 then threads", schema: testSchema, actions: testActions)
        #expect(rules.warnings.map(\.kind) == [.noFallback])
        #expect(rules.warnings.first?.severity == .warning)
    }
}
