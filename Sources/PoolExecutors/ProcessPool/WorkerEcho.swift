/// A task every worker serves without being registered: it returns its input bytes unchanged.
///
/// Machine calibration uses it to time a worker's start and a round trip through the pipes of
/// any executable that has the entry guard, with no task of the user's involved.
public struct WorkerEcho: PoolTask {
    public static var name: String { "pool-advisor.echo" }
    public static var isIdempotent: Bool { true }

    public static func run(_ input: [UInt8]) -> [UInt8] { input }
}
