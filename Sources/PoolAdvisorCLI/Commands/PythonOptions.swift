internal import PoolAdvisor

/// `--python`, `--path` and `--python-exe`: a Python function instead of a TASK, for `profile`
/// and `run`.
enum PythonOptions {
    static let function = CommandOption.text(
        "--python", "MODULE:FUNCTION",
        help: "A Python function instead of a TASK: each input line is one JSON value passed to it.")
    static let path = CommandOption.text(
        "--path", "DIR", help: "Put DIR first on the Python import path (repeatable; the current directory follows).")
    static let fetch = CommandOption.text(
        "--fetch", "MODULE:FUNCTION",
        help:
            "With profile --python: a fetch stage before the function; each call is FUNCTION(FETCH(value)), profiled as two stages a split may run."
    )
    static let executable = CommandOption.text(
        "--python-exe", "PYTHON", help: "The Python interpreter (default: python3 in PATH).")

    /// The function the command line names, or nil without `--python`.
    static func resolve(_ parsed: ParsedArguments) throws -> PythonFunction? {
        guard let spec = try parsed.value(function) else {
            if try parsed.value(path) != nil || parsed.value(executable) != nil || parsed.value(fetch) != nil {
                throw UsageError(
                    message: "--path, --python-exe and --fetch go with --python MODULE:FUNCTION", command: parsed.spec)
            }
            return nil
        }
        let importPath = try parsed.values(path)
        let python = try parsed.value(executable) ?? "python3"
        let stage = try parsed.value(fetch)
        do throws(PythonError) {
            return try PythonFunction(spec, fetch: stage, importPath: importPath, python: python)
        } catch {
            throw UsageError(message: error.message, command: parsed.spec)
        }
    }

    /// What `profile --python` found: the profile, Python's executor costs as a machine, the
    /// recommendation and its Python form.
    struct Advised: Encodable {
        var python: PythonProfile
        var machine: MachineProfile
        var recommendation: Recommendation
        var advice: PythonAdvice
    }

    /// Profiles `function` on `inputs` and advises on a job of `items`.
    static func advise(
        _ function: PythonFunction, inputs: [String], items: Int, budget: Double, rules: RuleSet
    ) throws -> Advised {
        do {
            let costs = try PythonExecutorCosts.measured(python: function.python)
            let profile = try PythonProfiler(function, budgetSeconds: budget).profile(inputs: inputs, costs: costs)
            let machine = costs.machineProfile(importSeconds: profile.importSeconds)
            let recommendation = Advisor(rules: rules, machine: machine).recommend(profile.task, items: items)
            return Advised(
                python: profile, machine: machine, recommendation: recommendation,
                advice: PythonAdvice(recommendation, profile: profile))
        } catch let error as PythonError {
            throw CommandFailure(message: error.message)
        }
    }

    /// The report's Python lines: interpreter and GIL, start and import, JSON sizes, the
    /// advice in Python, and the program to paste.
    static func render(_ advised: Advised, style: Style) -> String {
        let profile = advised.python
        var lines: [String] = []
        func row(_ label: String, _ text: String) { lines.append("  " + style.bold(label.padded(to: 15)) + " " + text) }
        row(
            "interpreter",
            "\(profile.interpreter.implementation) \(profile.interpreter.version) (\(profile.interpreter.executable)), start method \(profile.interpreter.startMethod)"
        )
        row("GIL", advised.advice.gil)
        if profile.interpreter.gilEnabled, let e = profile.task.scaling?.serialFraction, e.value > 0.3 {
            lines.append(
                "    copies on threads took turns (serial fraction \(NumberText.fixed(e.value, decimals: 2))): the GIL lets one thread at a time run Python code"
            )
        }
        let machine = advised.machine
        row(
            "executors",
            "ProcessPoolExecutor: first result \(NumberText.seconds(machine.workerStartSeconds)), round trip \(NumberText.seconds(machine.roundTripSeconds)), \(NumberText.bytes(machine.ipcBandwidthBytesPerSecond))/s; ThreadPoolExecutor: submit and wait \(NumberText.seconds(machine.threadDispatchSeconds)) (measured on this interpreter, cached for a day)"
        )
        row(
            "worker start",
            "\(NumberText.seconds(profile.workerStartSeconds)) (importing the module \(NumberText.seconds(profile.importSeconds)))"
                + (profile.importSeconds >= 0.05
                    ? style.paint("  heavy import: every spawned worker pays it", "33") : ""))
        row(
            "as JSON",
            "\(NumberText.bytes(profile.jsonBytesPerInput)) in, \(NumberText.bytes(profile.jsonBytesPerOutput)) out (what pool-advisor run ships; the payload row is pickle's)"
        )
        row("in Python", style.paint(advised.advice.summary, "1;36"))
        if let reason = advised.advice.startMethodReason { lines.append("    start method: \(reason)") }
        lines.append("")
        lines.append(style.dim("  # the program, reading JSON Lines on stdin and printing one result per line:"))
        lines += advised.advice.snippet.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }
        return lines.joined(separator: "\n") + "\n"
    }
}
