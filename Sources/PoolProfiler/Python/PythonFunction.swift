public import PoolExecutors
internal import PoolSystem

/// A Python function pool-advisor measures and runs: `module:function`, imported by
/// pool-advisor's Python worker (``PythonWorkerScript``) with the interpreter and import path
/// given. Each call takes one JSON value and returns one.
///
/// ```swift
/// let score = try PythonFunction("mytasks:score", importPath: ["src"])
/// let pool = try ProcessPool(configuration: score.poolConfiguration(workers: 2))
/// let results = try pool.map(PythonCall.self, ["{\"n\": 1}", "{\"n\": 2}"])
/// ```
public struct PythonFunction: Sendable, Hashable, CustomStringConvertible {
    /// `module:function` (the function may be dotted: `module:Class.method`).
    public let spec: String
    /// Directories put first on the worker's `sys.path`, before the current directory.
    public var importPath: [String]
    /// The interpreter: a path, or a name looked up in `PATH` (`python3`).
    public var python: String
    /// A fetch stage, `module:function`, when the function is the compute half of a job that
    /// fetches then computes: each call is then `function(fetch(value))`, profiled as two stages
    /// (the advisor may then split them: threads fetching, processes computing).
    public let fetch: String?

    /// The function `spec` names (after the fetch stage `fetch`, when given).
    /// - Throws: ``PythonError`` when `spec` or `fetch` is not `module:function` with Python
    ///   identifiers.
    public init(_ spec: String, fetch: String? = nil, importPath: [String] = [], python: String = "python3")
        throws(PythonError)
    {
        for given in [spec] + (fetch.map { [$0] } ?? []) where !Self.isValid(given) {
            throw PythonError(
                "'\(given)' is not module:function: give the module's import name and the function's name, such as mytasks:score or package.module:function"
            )
        }
        guard !python.isEmpty, !python.contains("\0") else {
            throw PythonError("the Python executable's name is empty")
        }
        if let bad = importPath.first(where: { $0.isEmpty || $0.contains(":") || $0.contains("\0") }) {
            throw PythonError(
                "the import path '\(bad)' cannot be given: Python's path list is separated by ':' (rename or link the directory)"
            )
        }
        self.spec = spec
        self.fetch = fetch
        self.importPath = importPath
        self.python = python
    }

    /// The probe-only worker: no function imported (it measures the interpreter's executors).
    static func interpreterOnly(python: String) -> PythonFunction {
        PythonFunction(unchecked: "", python: python)
    }

    private init(unchecked spec: String, python: String) {
        self.spec = spec
        fetch = nil
        importPath = []
        self.python = python
    }

    public var description: String { fetch.map { "\($0) → \(spec)" } ?? spec }

    /// Whether `spec` is `dotted.module:dotted.name` with identifiers only.
    static func isValid(_ spec: String) -> Bool {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, spec.utf8.count <= 1000 else { return false }
        return parts.allSatisfy { part in
            let names = part.split(separator: ".", omittingEmptySubsequences: false)
            return !names.isEmpty
                && names.allSatisfy { name in
                    guard let first = name.first, first == "_" || first.isLetter else { return false }
                    return name.allSatisfy { $0 == "_" || $0.isLetter || $0.isNumber }
                }
        }
    }

    /// A process-pool configuration whose `workers` workers are Python interpreters serving
    /// this function, each running a batch's calls on `threads` threads.
    ///
    /// - Throws: ``PythonError`` when the worker script cannot be written out.
    public func poolConfiguration(workers: Int, threads: Int = 1) throws(PythonError) -> ProcessPool.Configuration {
        let script = try PythonWorkerScript.installedPath()
        // One thread runs a batch's calls in order, so a worker's end leaves the calls after
        // the one it was running unstarted; several threads may have started them all.
        var launcher = WorkerLauncher.program([python, script], name: "Python", runsInOrder: threads <= 1)
        launcher.executable = python
        var configuration = ProcessPool.Configuration(hosts: [WorkerHost(launcher, workers: max(1, workers))])
        var environment = ["POOL_ADVISOR_PYTHON_FUNCTION": spec]
        if let fetch { environment["POOL_ADVISOR_PYTHON_FETCH"] = fetch }
        // Unbuffered: what the function prints reaches standard error as it happens.
        environment["PYTHONUNBUFFERED"] = "1"
        if !importPath.isEmpty { environment["POOL_ADVISOR_PYTHON_PATH"] = importPath.joined(separator: ":") }
        if threads > 1 { environment["POOL_ADVISOR_PYTHON_THREADS"] = String(threads) }
        configuration.environment = environment
        configuration.name = "python"
        configuration.startTimeout = .seconds(120)  // a module may take long to import
        // An import error is the same on every try: say it once rather than back off and retry.
        configuration.hostFailureLimit = 1
        return configuration
    }
}

/// A call of the Python function a ``PythonFunction`` pool serves: one JSON text in (an input
/// line), the function's result as JSON text out. It runs only in a Python worker.
public enum PythonCall: PoolTask {
    public static let name = "python-call"
    public static func run(_ input: String) throws -> JSONText {
        throw PythonError("python-call runs in pool-advisor's Python worker only: use a PythonFunction's pool")
    }
}

/// ``PythonCall`` for a function declared safe to call twice on one input (`--idempotent`):
/// the same task in the worker, which the pool may retry after a crash.
public enum IdempotentPythonCall: PoolTask {
    public static let name = PythonCall.name
    public static let isIdempotent = true
    public static func run(_ input: String) throws -> JSONText { try PythonCall.run(input) }
}

/// One JSON value's text, as a Python function returned it: `run` writes it as it is, where a
/// `String` output would be quoted. It crosses the wire as a string.
public struct JSONText: Codable, Sendable, Hashable, CustomStringConvertible {
    public var text: String
    public init(_ text: String) { self.text = text }
    public init(from decoder: any Decoder) throws { text = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
    public var description: String { text }
}

/// The profiler's requests to a Python worker (JSON in, JSON out).
enum PythonProbe: PoolTask {
    static let name = "python-probe"
    static func run(_ input: String) throws -> String {
        throw PythonError("python-probe runs in pool-advisor's Python worker only")
    }
}

/// A Python function that cannot be named, imported, run or measured: what went wrong and how
/// to fix it.
public struct PythonError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
