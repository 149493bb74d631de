// pool-bench: pool-advisor's figures, measured side by side with the named peers in the same
// run. Usage: pool-bench [SUITE ...] [--quick] [--json] [--rounds N] [--only NAMES] [--sizes SECONDS]

import Foundation
import PoolAdvisor
import PoolBenchTasks

// pool-bench is also a worker executable for its own process pools: this must come first.
WorkerEntry.runIfWorker(tasks: benchTasks + ReferenceWorkloads.tasks)
// And the far end of the processes suite's raw pipe peer, or a scale job in a process of its own.
ProcessPeers.runChildRoleIfAsked(CommandLine.arguments)

let suites = ["threads", "processes", "wire", "profiler", "rules", "cli", "auto", "hosts", "python"]
let usage = """
    USAGE: pool-bench [SUITE ...] [--quick] [--json] [--rounds N] [--only NAMES] [--sizes SECONDS] [--host LOGIN]

    SUITES: \(suites.joined(separator: ", ")) (default: all)

    OPTIONS:
      --quick       Smaller inputs, for CI (still every peer, still every round).
      --json        One JSON object per figure line: {"suite","figure","value","unit","peer",...}.
      --rounds N    Repetitions, each running every implementation once (default 5, minimum 5; the auto
                    suite runs 3 at most, and 1 with --quick unless --rounds is given).
      --only NAMES  Comma-separated jobs of the auto suite to run (e.g. tiny,cpu); the others are skipped.
      --sizes LIST  The auto suite's job sizes, the fastest fixed mode's predicted seconds (e.g. 1 or
                    0.3,1; each 0.05 to 60; default 0.3,1,3, or 0.3 with --quick). With --rounds, every
                    round asked for runs.
      --host LOGIN  A host for the hosts suite, as run --ssh takes it ('ssh -p 2222 user@node', 'srun',
                    'cmd: docker exec -i w1'); repeat for more. The hosts suite runs only when named.
      -h, --help    Show this help.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n\n\(usage)\n".utf8))
    exit(64)
}

var selected: [String] = []
var quick = false
var json = false
var rounds = 5
var roundsGiven = false
var only: Set<String>?
var sizes: [Double]?
var hostLogins: [HostLogin] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--quick": quick = true
    case "--json": json = true
    case "--rounds":
        guard let text = arguments.popFirst(), let value = Int(text) else { fail("--rounds needs a whole number") }
        guard value >= 5 else { fail("--rounds must be at least 5 (medians of fewer runs mean little here)") }
        rounds = value
        roundsGiven = true
    case "--only":
        guard let text = arguments.popFirst(), !text.isEmpty else { fail("--only needs job names, e.g. tiny,cpu") }
        only = Set(text.split(separator: ",").map(String.init))
    case "--sizes":
        let parsed =
            arguments.popFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) } }
            ?? []
        let values = parsed.compactMap { $0 }
        guard !parsed.isEmpty, values.count == parsed.count, values.allSatisfy({ (0.05...60).contains($0) }),
            Set(values).count == values.count
        else {
            fail("--sizes needs distinct seconds from 0.05 to 60, comma-separated, e.g. 1 or 0.3,1")
        }
        sizes = values
    case "--host":
        guard let text = arguments.popFirst() else { fail("--host needs a login, e.g. 'ssh -p 2222 user@node'") }
        do {
            hostLogins.append(try HostLogin(parsing: text))
        } catch {
            fail("\(error.message)")
        }
    case "-h", "--help":
        print(usage)
        exit(0)
    case _ where argument.hasPrefix("-"):
        fail("unknown option '\(argument)'")
    case _ where suites.contains(argument):
        selected.append(argument)
    default:
        fail("unknown suite '\(argument)'; available: \(suites.joined(separator: ", "))")
    }
}
// The hosts suite needs a host: it runs only when named.
if selected.isEmpty { selected = only == nil && sizes == nil ? suites.filter { $0 != "hosts" } : ["auto"] }
if sizes != nil, !selected.contains("auto") {
    fail("--sizes sets the auto suite's job sizes; add 'auto' to the suites")
}
if let only {
    guard selected.contains("auto") else { fail("--only names jobs of the auto suite; add 'auto' to the suites") }
    let known = AutoSuite(quick: false, rounds: 1).jobs.map(\.name)
    let unknown = only.subtracting(known).sorted()
    guard unknown.isEmpty else {
        fail(
            "unknown auto job(s) \(unknown.joined(separator: ", ")) in --only; available: \(known.joined(separator: ", "))"
        )
    }
}

for suite in selected {
    let report: Report
    switch suite {
    case "threads": report = ThreadsSuite(quick: quick, rounds: rounds).run()
    case "processes": report = ProcessesSuite(quick: quick, rounds: rounds).run()
    case "wire": report = WireSuite(quick: quick, rounds: rounds).run()
    case "profiler": report = ProfilerSuite(quick: quick, rounds: rounds).run(json: json)
    case "rules": report = RulesSuite(quick: quick, rounds: rounds).run()
    case "cli": report = CommandLineSuite(quick: quick, rounds: rounds).run()
    case "hosts": report = HostsSuite(quick: quick, rounds: rounds, logins: hostLogins).run()
    case "python": report = PythonSuite(quick: quick, rounds: rounds).run()
    // Auto's rounds are long: 3 at most, 1 with --quick, unless --rounds asks for more with
    // --quick or --sizes.
    case "auto":
        let autoRounds = roundsGiven && (quick || sizes != nil) ? rounds : (quick ? 1 : min(rounds, 3))
        report = AutoSuite(quick: quick, rounds: autoRounds, only: only, sizes: sizes).run()
    default: fatalError("BUG: suite \(suite) listed but not dispatched")
    }
    if json { report.printJSONLines() } else { report.printTable() }
}
