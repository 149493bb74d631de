internal import PoolSystem

/// Why a pool refused or failed work: the pool's name, what happened and what to do about it.
///
/// Errors thrown by the user's own tasks are never wrapped in this type: they come back from
/// ``Future/result()`` and ``Future/value`` unchanged. Cancellation is reported with the
/// standard library's `CancellationError`.
public struct PoolError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. New kinds may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Storage: String, Sendable {
            case shutDown = "shut down"
            case broken = "broken"
            case timedOut = "timed out"
            case workerCrashed = "worker crashed"
            case taskTimedOut = "task timed out"
            case resultLost = "result lost"
            case workerStartFailed = "worker start failed"
            case unknownTask = "unknown task"
            case invalidConfiguration = "invalid configuration"
        }

        let storage: Storage

        /// Work was submitted after ``ThreadPool/shutdown(wait:cancelPending:)``.
        public static let shutDown = Code(storage: .shutDown)
        /// The pool cannot run work: a worker's initializer failed or a thread could not start.
        public static let broken = Code(storage: .broken)
        /// A wait with a timeout ended before the result was ready.
        public static let timedOut = Code(storage: .timedOut)

        public var description: String { storage.rawValue }
    }

    /// What went wrong.
    public let code: Code
    /// A sentence that names the pool and says what to change.
    public let message: String
    /// The error behind this one (an initializer's error, a ``SystemCallError``), if any.
    public let underlying: (any Error)?
    /// The worker concerned (for example the one whose initializer failed), if any.
    public let workerIndex: Int?
    /// The worker process concerned (a crash, a timeout), if any.
    public let processID: Int32?
    /// How that worker process ended, if it did.
    public let processExit: ProcessExit?
    /// The inputs concerned (positions in the submitted collection), if any.
    public let inputIndexes: [Int]
    /// Whether trying again later may succeed (a remote host that could not be reached, or did
    /// not answer in time), as opposed to a failure that repeats (a missing executable).
    var isTransient = false

    init(
        _ code: Code, _ message: String, underlying: (any Error)? = nil, workerIndex: Int? = nil,
        processID: Int32? = nil, processExit: ProcessExit? = nil, inputIndexes: [Int] = []
    ) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.workerIndex = workerIndex
        self.processID = processID
        self.processExit = processExit
        self.inputIndexes = inputIndexes
    }

    /// The error of a wait that ran out of time.
    @usableFromInline
    static func timedOut(after timeout: Duration) -> PoolError {
        PoolError(.timedOut, "the result was not ready within \(timeout)")
    }

    public var description: String {
        guard let underlying else { return message }
        return "\(message): \(underlying)"
    }
}

/// The failure of one input of a map, a batch or a pipeline: which input failed, where, and how.
///
/// Every executor reports a failing item this way: ``ThreadPool``, ``ProcessPool``, ``Pipeline``
/// (with the ``stage`` that failed) and the advisor's executors. Items not yet started when
/// the failure was seen are not run; when several fail at about the same time, the one with
/// the lowest input index is reported.
public struct MapError: Error, Sendable, CustomStringConvertible {
    /// The stages of a ``Pipeline``.
    public enum Stage: String, Sendable {
        case fetch, compute
    }

    /// The position of the failing element in the input collection (0-based).
    public let index: Int
    /// The pipeline stage that failed; nil outside a pipeline.
    public let stage: Stage?
    /// The error the task threw for that element, unchanged (for a process: a
    /// ``RemoteTaskError`` or ``PoolError``).
    public let error: any Error

    /// The failure of the element at `index` with `error` (in pipeline stage `stage`).
    public init(index: Int, stage: Stage? = nil, error: any Error) {
        self.index = index
        self.stage = stage
        self.error = error
    }

    /// The same failure at another position: a batch's index moved to the job's.
    public func at(_ index: Int) -> MapError { MapError(index: index, stage: stage, error: error) }

    public var description: String {
        guard let stage else { return "map failed at input index \(index): \(error)" }
        return "pipeline item \(index) failed in the \(stage.rawValue) stage: \(error)"
    }
}

/// A pipeline item's failure: a ``MapError`` whose ``MapError/stage`` says which stage failed.
public typealias PipelineError = MapError
