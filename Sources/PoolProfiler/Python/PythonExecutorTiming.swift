internal import PoolExecutors

/// One way Python itself can run a function over a job: a plain loop, a `ThreadPoolExecutor`
/// or a `ProcessPoolExecutor` of some size, and (once timed) how long the job took.
public struct PythonPlan: Codable, Sendable, Hashable, CustomStringConvertible {
    /// `loop`, `threads` or `processes`.
    public var kind: String
    public var workers: Int
    public var chunksize: Int
    /// A split's fetch stage threads (1 for the others).
    public var fetchWorkers: Int = 1
    /// The median of the rounds, once timed.
    public var seconds: Double?

    enum CodingKeys: String, CodingKey {
        case kind, workers, chunksize, seconds
        case fetchWorkers = "fetch_workers"
    }

    public init(kind: String, workers: Int, chunksize: Int, fetchWorkers: Int = 1) {
        self.kind = kind
        self.workers = workers
        self.chunksize = chunksize
        self.fetchWorkers = fetchWorkers
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(String.self, forKey: .kind)
        workers = try container.decode(Int.self, forKey: .workers)
        chunksize = try container.decodeIfPresent(Int.self, forKey: .chunksize) ?? 1
        fetchWorkers = try container.decodeIfPresent(Int.self, forKey: .fetchWorkers) ?? 1
        seconds = try container.decodeIfPresent(Double.self, forKey: .seconds)
    }

    public static let loop = PythonPlan(kind: "loop", workers: 1, chunksize: 1)
    public static func threads(_ workers: Int) -> PythonPlan {
        PythonPlan(kind: "threads", workers: max(1, workers), chunksize: 1)
    }
    public static func processes(_ workers: Int, chunksize: Int) -> PythonPlan {
        PythonPlan(kind: "processes", workers: max(1, workers), chunksize: max(1, chunksize))
    }
    /// A `ThreadPoolExecutor` of `fetch` threads fetching, feeding a `ProcessPoolExecutor` of
    /// `workers` computing (a function with a fetch stage only).
    public static func split(fetch: Int, workers: Int) -> PythonPlan {
        PythonPlan(kind: "split", workers: max(1, workers), chunksize: 1, fetchWorkers: max(1, fetch))
    }

    public var description: String {
        switch kind {
        case "threads": "ThreadPoolExecutor(\(workers))"
        case "processes": "ProcessPoolExecutor(\(workers), chunksize=\(chunksize))"
        case "split": "ThreadPoolExecutor(\(fetchWorkers)) → ProcessPoolExecutor(\(workers))"
        default: "loop"
        }
    }

    /// Whether `other` runs the same way (the times aside).
    public func sameWay(as other: PythonPlan) -> Bool {
        kind == other.kind && (kind == "loop" || workers == other.workers)
            && (kind != "processes" || chunksize == other.chunksize)
            && (kind != "split" || fetchWorkers == other.fetchWorkers)
    }
}

extension PythonProfiler {
    /// Times `plans` over all of `inputs` with Python's own executors, in one Python worker
    /// serving the function (each plan's pool started and shut down within its time, as a
    /// program would), `rounds` times each; returns the plans with their median seconds.
    public static func timePythonExecutors(
        _ function: PythonFunction, inputs: [String], plans: [PythonPlan], rounds: Int
    ) throws -> [PythonPlan] {
        struct Reply: Decodable { var timings: [PythonPlan] }
        let pool = try startPool(function)
        defer { pool.shutdown() }
        var request = PythonProbes.Request("executors", inputs: inputs)
        request.rounds = max(1, rounds)
        request.plans = plans
        return try PythonProbes.ask(pool, request, as: Reply.self).timings
    }
}
