public import PoolExecutors

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The interpreter a Python profile was made with, as its worker reported it.
public struct PythonInterpreter: Codable, Sendable, Equatable {
    /// `3.11.7`.
    public var version: String
    /// `CPython`, `PyPy`.
    public var implementation: String
    public var executable: String
    /// Whether the GIL was on while profiling: `sys._is_gil_enabled()` where it exists
    /// (3.13+), else true.
    public var gilEnabled: Bool
    /// How that was found: `sys._is_gil_enabled`, or that the interpreter has no such call.
    public var gilCheck: String
    /// A free-threaded build (`Py_GIL_DISABLED`), whose GIL may still be turned on.
    public var freeThreadedBuild: Bool
    /// `multiprocessing`'s start method there: `fork`, `spawn` or `forkserver`.
    public var startMethod: String
    /// Cores the interpreter may use.
    public var cores: Int

    enum CodingKeys: String, CodingKey {
        case version, implementation, executable, cores
        case gilEnabled = "gil_enabled"
        case gilCheck = "gil_check"
        case freeThreadedBuild = "free_threaded_build"
        case startMethod = "start_method"
    }
}

/// The probe requests and replies exchanged with the Python worker (JSON, snake_case).
enum PythonProbes {
    struct Info: Decodable {
        var interpreter: PythonInterpreter
        var importSeconds: Double
        var moduleFile: String?
        var pid: Int32
        var threadID: Int32

        enum CodingKeys: String, CodingKey {
            case importSeconds = "import_seconds"
            case moduleFile = "module_file"
            case pid
            case threadID = "thread_id"
        }

        init(from decoder: any Decoder) throws {
            interpreter = try PythonInterpreter(from: decoder)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            importSeconds = try container.decode(Double.self, forKey: .importSeconds)
            moduleFile = try container.decodeIfPresent(String.self, forKey: .moduleFile)
            pid = try container.decode(Int32.self, forKey: .pid)
            threadID = try container.decode(Int32.self, forKey: .threadID)
        }
    }

    struct Failure: Decodable {
        var index: Int
        var type: String
        var message: String
    }

    struct Serial: Decodable {
        var walls: [Double]
        var cpus: [Double]
        var failures: [Failure]
        /// Calls that raised (``failures`` keeps the first 20).
        var failedCalls: Int?
        var runQueueSeconds: Double?
        var voluntarySwitches: Int?
        var involuntarySwitches: Int?

        enum CodingKeys: String, CodingKey {
            case walls, cpus, failures
            case failedCalls = "failed_calls"
            case runQueueSeconds = "run_queue_seconds"
            case voluntarySwitches = "voluntary_switches"
            case involuntarySwitches = "involuntary_switches"
        }
    }

    struct Scaling: Decodable {
        struct Round: Decodable {
            var singleWall: Double
            var singleCPU: Double
            var parallelWall: Double
            var parallelCPU: Double
            var calls: Int

            enum CodingKeys: String, CodingKey {
                case singleWall = "single_wall"
                case singleCPU = "single_cpu"
                case parallelWall = "parallel_wall"
                case parallelCPU = "parallel_cpu"
                case calls
            }
        }
        var threads: Int
        var rounds: [Round]
    }

    struct Pickle: Decodable {
        var inputBytes: Double
        var inputSeconds: Double
        var outputBytes: Double
        var outputSeconds: Double
        var inputJSONBytes: Double
        var outputJSONBytes: Double

        enum CodingKeys: String, CodingKey {
            case inputBytes = "input_bytes"
            case inputSeconds = "input_seconds"
            case outputBytes = "output_bytes"
            case outputSeconds = "output_seconds"
            case inputJSONBytes = "input_json_bytes"
            case outputJSONBytes = "output_json_bytes"
        }
    }

    /// One probe request: the operation and its settings (absent ones take the worker's defaults).
    struct Request: Encodable {
        var op: String
        var inputs: [String]?
        var seconds: Double?
        var minCalls: Int?
        var maxCalls: Int?
        var threads: Int?
        var rounds: Int?
        var calls: Int?
        var cores: Int?
        var plans: [PythonPlan]?

        init(_ op: String, inputs: [String]? = nil) {
            self.op = op
            self.inputs = inputs
        }

        enum CodingKeys: String, CodingKey {
            case op, inputs, seconds, threads, rounds, calls, cores, plans
            case minCalls = "min_calls"
            case maxCalls = "max_calls"
        }
    }

    /// Sends one probe request to the pool's worker and decodes its reply.
    static func ask<Reply: Decodable>(
        _ pool: ProcessPool, _ request: Request, as reply: Reply.Type, within limit: Duration = .seconds(600)
    ) throws -> Reply {
        let text = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        let answer: String
        do {
            answer = try pool.submit(PythonProbe.self, text).get(timeout: limit)
        } catch let error as PoolError where error.code == .timedOut {
            pool.terminate()
            throw PythonError(
                "the Python worker's \(request.op) probe did not answer within \(limit): the function may hang on one of the sample inputs (try it alone: python3 -c 'import module; module.function(value)')"
            )
        } catch let error as RemoteTaskError {
            throw PythonError("the Python worker's \(request.op) probe failed: \(error)")
        } catch let error as PoolError {
            throw PythonError(error.description)
        }
        do {
            return try JSONDecoder().decode(Reply.self, from: Data(answer.utf8))
        } catch {
            throw PythonError("the Python worker's \(request.op) probe reply could not be read: \(error)")
        }
    }
}
