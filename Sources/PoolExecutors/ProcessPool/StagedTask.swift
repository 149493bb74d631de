/// A task made of two stages: one that mostly waits (fetch), then one that mostly computes
/// (transform). Declaring them lets the advisor recommend a split pipeline: the fetch stage on
/// threads feeding the compute stage on processes or threads.
///
/// `run(_:)` must equal `Compute.run(Fetch.run(input))`; the default implementation is exactly that.
public protocol StagedTask: PoolTask {
    /// The waiting stage: reads, downloads, queries.
    associatedtype Fetch: PoolTask where Fetch.Input == Input
    /// The computing stage, fed with what the fetch stage returned.
    associatedtype Compute: PoolTask where Compute.Input == Fetch.Output, Compute.Output == Output
}

extension StagedTask {
    /// Runs the fetch stage, then the compute stage on its result.
    public static func run(_ input: Input) throws -> Output { try Compute.run(Fetch.run(input)) }
}
