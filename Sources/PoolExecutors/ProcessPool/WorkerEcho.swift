/// A task every worker serves without being registered: it returns its input bytes unchanged.
///
/// Machine calibration uses it to time a worker's start and a round trip through the pipes of
/// any executable that has the entry guard, with no task of the user's involved.
public struct WorkerEcho: PoolTask {
    public static var name: String { "pool-advisor.echo" }
    public static var isIdempotent: Bool { true }

    public static func run(_ input: [UInt8]) -> [UInt8] { input }
}

/// A task every worker serves without being registered: what the worker's host offers (its
/// name and the cores the worker may use). Host calibration asks it, and a hosts list that
/// gives no worker count sizes the host by it.
public struct WorkerHostFacts: PoolTask {
    /// What a worker reports about its host.
    public struct Report: Codable, Sendable, Equatable {
        /// The host's name as the worker sees it.
        public var hostName: String
        /// Cores the worker's process may use there (affinity and cgroup quota).
        public var usableCores: Int
    }

    public static var name: String { "pool-advisor.host-facts" }
    public static var isIdempotent: Bool { true }

    public static func run(_ input: Int) -> Report {
        Report(hostName: Processes.hostName() ?? "unknown", usableCores: Machine.usableCores)
    }
}
