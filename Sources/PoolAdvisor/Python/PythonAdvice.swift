public import PoolProfiler

/// A ``Recommendation`` for a Python function, said in Python: which of
/// `concurrent.futures`' executors (or a plain loop, or a thread stage feeding a process
/// stage), with how many workers, what `chunksize`, which start method when it matters, and a
/// program to paste.
public struct PythonAdvice: Codable, Sendable, Equatable {
    /// `ThreadPoolExecutor`, `ProcessPoolExecutor`, `ThreadPoolExecutor → ProcessPoolExecutor`
    /// (a split) or `a plain loop`.
    public var executor: String
    /// `max_workers`; for a split, the process stage's. Nil for a loop.
    public var maxWorkers: Int?
    /// `chunksize` for `ProcessPoolExecutor.map`; nil for the others.
    public var chunksize: Int?
    /// The thread stage's `max_workers` in a split.
    public var fetchWorkers: Int?
    /// The start method the snippet names, with the reason, when it matters.
    public var startMethod: String?
    public var startMethodReason: String?
    /// Whether the GIL was on while the function was measured, in words.
    public var gil: String
    /// A whole program: reads JSON Lines, runs the function as advised, prints JSON Lines.
    public var snippet: String

    /// The advice for `recommendation`, made on `profile`.
    public init(_ recommendation: Recommendation, profile: PythonProfile) {
        let parts = profile.function.split(separator: ":", maxSplits: 1).map(String.init)
        let module = parts.first ?? "tasks"
        let function = parts.count > 1 ? parts[1] : "task"
        let interpreter = profile.interpreter
        gil =
            interpreter.gilEnabled
            ? (interpreter.gilCheck.hasPrefix("absent")
                ? "on (\(interpreter.implementation) \(interpreter.version) has no sys._is_gil_enabled: the GIL is always on)"
                : "on (sys._is_gil_enabled() said so, \(interpreter.implementation) \(interpreter.version))")
            : "off (free-threaded \(interpreter.implementation) \(interpreter.version)): threads run Python code in parallel"
        // Each worker a spawn or forkserver start imports the module again; forkserver can
        // import it once, in the server, before any worker forks.
        let heavyImport = profile.importSeconds >= 0.05
        switch recommendation.plan {
        case .serial:
            executor = "a plain loop"
        case .threads(let workers, _):
            executor = "ThreadPoolExecutor"
            maxWorkers = workers
        case .processes(let workers, let chunk):
            executor = "ProcessPoolExecutor"
            maxWorkers = workers
            chunksize = max(1, chunk ?? 1)
        case .pipeline(let fetch, let compute):
            executor = "ThreadPoolExecutor → ProcessPoolExecutor"
            fetchWorkers = fetch
            maxWorkers = compute.workers
        }
        if executor.contains("Process") {
            if heavyImport && interpreter.startMethod != "fork" {
                startMethod = "forkserver"
                startMethodReason =
                    "importing \(module) takes \(Int((profile.importSeconds * 1000).rounded())) ms: the fork server imports it once, then forks each worker from it"
            } else {
                startMethod = nil
            }
        }
        snippet = Self.program(
            executor: executor, module: module, function: function, workers: maxWorkers, chunksize: chunksize,
            fetchWorkers: fetchWorkers, preload: startMethod == "forkserver", fetch: profile.fetch)
    }

    /// One line: `ProcessPoolExecutor(max_workers=2) with map(..., chunksize=16)`.
    public var summary: String {
        switch executor {
        case "a plain loop": return "a plain loop (no executor)"
        case "ThreadPoolExecutor": return "ThreadPoolExecutor(max_workers=\(maxWorkers ?? 1))"
        case "ProcessPoolExecutor":
            return "ProcessPoolExecutor(max_workers=\(maxWorkers ?? 1)) with map(..., chunksize=\(chunksize ?? 1))"
                + (startMethod.map { ", start method \($0)" } ?? "")
        default:
            return "split: ThreadPoolExecutor(\(fetchWorkers ?? 1)) fetching → ProcessPoolExecutor(\(maxWorkers ?? 1))"
        }
    }

    static func program(
        executor: String, module: String, function: String, workers: Int?, chunksize: Int?, fetchWorkers: Int?,
        preload: Bool, fetch: String? = nil
    ) -> String {
        let process = executor.contains("Process")
        var imports = ["import json", "import sys"]
        if process && executor == "ProcessPoolExecutor" { imports.insert("import multiprocessing", at: 1) }
        switch executor {
        case "ThreadPoolExecutor": imports.append("from concurrent.futures import ThreadPoolExecutor")
        case "ProcessPoolExecutor": imports.append("from concurrent.futures import ProcessPoolExecutor")
        case "a plain loop": break
        default: imports.append("from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor")
        }
        let name = function.split(separator: ".").first.map(String.init) ?? function
        // A split runs the fetch stage and the function; without a fetch stage, the function's
        // two halves, which the user writes.
        let fetchParts = fetch?.split(separator: ":", maxSplits: 1).map(String.init)
        let fetchName = fetchParts.map { $0.count > 1 ? $0[1] : "fetch" } ?? "fetch"
        let computeName = fetch == nil ? "compute" : function
        var importLines: String
        if executor.contains("→") {
            if let fetchParts, fetchParts[0] != module {
                importLines = "from \(fetchParts[0]) import \(fetchName.split(separator: ".").first ?? "")\n"
                importLines += "from \(module) import \(name)"
            } else if fetch != nil {
                importLines = "from \(module) import \(fetchName.split(separator: ".").first ?? ""), \(name)"
            } else {
                importLines = "from \(module) import fetch, compute  # \(function), split in two"
            }
        } else {
            importLines = "from \(module) import \(name)"
        }
        var text = imports.joined(separator: "\n") + "\n\n" + importLines + "\n\n\ndef main():\n"
        text += "    inputs = [json.loads(line) for line in sys.stdin if line.strip()]\n"
        switch executor {
        case "a plain loop":
            text += "    results = [\(function)(value) for value in inputs]\n"
        case "ThreadPoolExecutor":
            text += "    with ThreadPoolExecutor(max_workers=\(workers ?? 1)) as pool:\n"
            text += "        results = list(pool.map(\(function), inputs))\n"
        case "ProcessPoolExecutor":
            if preload {
                text += "    context = multiprocessing.get_context(\"forkserver\")\n"
                text += "    context.set_forkserver_preload([\"\(module)\"])  # import once, in the server\n"
            } else {
                text += "    context = multiprocessing.get_context()  # the platform's start method\n"
            }
            text += "    with ProcessPoolExecutor(max_workers=\(workers ?? 1), mp_context=context) as pool:\n"
            text += "        results = list(pool.map(\(function), inputs, chunksize=\(chunksize ?? 1)))\n"
        default:
            if fetch == nil {
                text += "    # \(function) waits then computes: split it in two, fetch(value) on threads and\n"
                text += "    # compute(fetched) in processes.\n"
            }
            text += "    # Each fetched value goes to a process as soon as it arrives, in input order.\n"
            text += "    with ThreadPoolExecutor(max_workers=\(fetchWorkers ?? 1)) as fetching, "
            text += "ProcessPoolExecutor(max_workers=\(workers ?? 1)) as computing:\n"
            text += "        fetched = fetching.map(\(fetchName), inputs)\n"
            text += "        results = list(computing.map(\(computeName), fetched))\n"
        }
        text += "    for result in results:\n        print(json.dumps(result))\n"
        return text + guardLine(process: process)
    }

    private static func guardLine(process: Bool) -> String {
        "\n\n"
            + (process
                ? "# Required: with the spawn and forkserver start methods each worker imports this file,\n# and without the guard it would start workers of its own.\n"
                : "") + "if __name__ == \"__main__\":\n    main()\n"
    }
}
