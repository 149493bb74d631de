public import PoolExecutors

/// Sleeps: no CPU at all, and any number of threads overlap the sleeps.
public struct BlockingSleep: ReferenceWorkload {
    public static let workloadName = "sleep"
    public static let inputMeaning = "an integer: microseconds to sleep"
    public static let summary = "sleeps 5 ms in nanosleep: pure waiting"
    public static func inputs(count: Int) -> [Int] { Array(repeating: 5_000, count: count) }

    /// The longest sleep an input may ask for: an hour.
    public static let longestMicroseconds = 3_600_000_000

    /// Sleeps `input` microseconds and returns it; a negative time, or one past an hour, is an
    /// error for its input (a negative one slept not at all; a line such as `9e18` would hold a
    /// worker for ever).
    public static func run(_ input: Int) throws -> Int {
        guard (0...longestMicroseconds).contains(input) else {
            throw WorkloadError.invalidInput(
                "a time to sleep must be 0 to \(longestMicroseconds) microseconds (an hour), not \(input)")
        }
        BlockingCalls.sleep(microseconds: input)
        return input
    }
}

/// Blocks in `read` on a pipe that a helper thread fills 3 ms later: network-like waiting.
public struct PipeRead: ReferenceWorkload {
    public static let workloadName = "pipe-read"
    public static let inputMeaning = "an integer: microseconds until the pipe has data to read"
    public static let summary = "blocks 3 ms in read() on a pipe (like waiting for a network reply)"
    public static func inputs(count: Int) -> [Int] { Array(repeating: 3_000, count: count) }

    public static func run(_ input: Int) throws -> Int {
        try BlockingCalls.readPipe(afterMicroseconds: input, bytes: 256)
    }
}

/// Writes 8 KiB to a temporary file and fsyncs it, four times over: waits on the disk.
public struct DiskSync: ReferenceWorkload {
    public static let workloadName = "disk-fsync"
    public static let inputMeaning = "an integer: bytes to write and fsync, four times over"
    public static let summary = "writes and fsyncs 8 KiB four times in a temporary file: waits on the disk"
    public static func inputs(count: Int) -> [Int] { Array(repeating: 8 << 10, count: count) }

    public static func run(_ input: Int) throws -> Int {
        try BlockingCalls.writeAndSync(bytes: input, times: 4)
    }
}

/// The input of the wait-then-compute workload: how long to wait, then how much to compute.
public struct FetchThenCompute: Codable, Sendable, Equatable {
    public var waitMicroseconds: Int
    public var work: ComputeWork

    public init(waitMicroseconds: Int, work: ComputeWork) {
        self.waitMicroseconds = waitMicroseconds
        self.work = work
    }
}

/// Waits (a 3 ms pipe read standing for a download), then computes about as long: the shape
/// a split pipeline is for. ``MixedFetch`` and ``MixedCompute`` are its two stages.
public struct WaitThenCompute: ReferenceWorkload, StagedTask {
    public static let workloadName = "mixed"
    public static let inputMeaning =
        "{\"waitMicroseconds\": W, \"work\": {\"seed\": S, \"iterations\": N}}: wait W µs on a pipe, then compute N rounds"
    public static let summary = "waits 3 ms on a pipe, then computes about as long (two stages)"
    public static func inputs(count: Int) -> [FetchThenCompute] {
        ComputeWork.series(count, iterations: 1_500_000).map { FetchThenCompute(waitMicroseconds: 3_000, work: $0) }
    }

    public typealias Fetch = MixedFetch
    public typealias Compute = MixedCompute
}

/// Stage one of ``WaitThenCompute``: the wait.
public struct MixedFetch: PoolTask {
    /// Reading a pipe its own helper fills: calling it again changes nothing.
    public static var isIdempotent: Bool { true }

    public static func run(_ input: FetchThenCompute) throws -> ComputeWork {
        _ = try BlockingCalls.readPipe(afterMicroseconds: input.waitMicroseconds, bytes: 256)
        return input.work
    }
}

/// Stage two of ``WaitThenCompute``: the computation.
public struct MixedCompute: PoolTask {
    /// A pure function of its input: the profiler may measure it on the same input again.
    public static var isIdempotent: Bool { true }

    public static func run(_ input: ComputeWork) -> UInt64 { churn(input.seed, iterations: input.iterations) }
}
