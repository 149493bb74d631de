/// A unit of work that can run in a worker process: a named, static function from an encodable
/// input to an encodable output.
///
/// Closures cannot cross a process boundary, so a process pool runs tasks by *name*: the parent
/// sends `name` and the encoded input, and the worker — the same executable, started with
/// `posix_spawn` — looks the name up among the tasks it registered with
/// ``WorkerEntry/runIfWorker(tasks:)`` and calls ``run(_:)``. The compiler checks that inputs
/// and outputs are `Codable & Sendable`, so nothing that cannot be shipped is ever submitted.
///
/// ```swift
/// struct Checksum: PoolTask {
///     static func run(_ path: String) throws -> UInt64 { try fnv1a(contentsOf: path) }
/// }
///
/// @main struct App {
///     static func main() throws {
///         WorkerEntry.runIfWorker(tasks: [Checksum.self])   // first line of main
///         let pool = try ProcessPool(workers: 4)
///         let sums = try pool.map(Checksum.self, paths)
///     }
/// }
/// ```
public protocol PoolTask: Sendable {
    /// What the task takes; encoded with PoolWire to reach the worker.
    associatedtype Input: Codable & Sendable
    /// What the task returns; encoded with PoolWire to come back.
    associatedtype Output: Codable & Sendable

    /// The stable name workers look the task up by. Defaults to the type's full name
    /// (`MyApp.Checksum`), which is the same in every process of one build.
    static var name: String { get }

    /// Whether running the task twice on the same input is harmless. A pool configured with
    /// retries re-runs idempotent tasks whose worker crashed or timed out; others fail at once.
    /// Defaults to `false`.
    static var isIdempotent: Bool { get }

    /// What the author declares about the task (crash-prone, not thread-safe). Defaults to none.
    static var traits: TaskTraits { get }

    /// Runs the task. An error thrown here comes back to the caller as a ``RemoteTaskError``
    /// carrying the error's type name and description; the worker stays alive.
    static func run(_ input: Input) throws -> Output
}

extension PoolTask {
    public static var name: String { String(reflecting: Self.self) }
    public static var isIdempotent: Bool { false }
    public static var traits: TaskTraits { [] }
}

/// Identity of a task's signature, compared between parent and worker in the handshake so that
/// a worker built from other sources cannot silently misread the bytes.
enum TaskSignature {
    private static let cache = Locked<[ObjectIdentifier: String]>([:])

    static func of<Task: PoolTask>(_ task: Task.Type) -> String {
        let id = ObjectIdentifier(task)
        if let known = cache.withLock({ $0[id] }) { return known }
        let signature = "(\(String(reflecting: Task.Input.self))) -> \(String(reflecting: Task.Output.self))"
        cache.withLock { $0[id] = signature }
        return signature
    }
}
