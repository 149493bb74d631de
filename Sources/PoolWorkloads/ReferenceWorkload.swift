public import PoolExecutors

/// A task with a known behaviour, used to show and test what the profiler and the advisor
/// conclude: pure computation, sleeping, pipe and disk waits, locks that block, locks that
/// spin, a contended atomic, heavy allocation, wait-then-compute, a large argument, a table
/// every call shares, a tiny call, and everyday Swift work (JSON coding, word counting, sorting, a memory-bound scan, and
/// a job whose behaviour changes part-way).
public protocol ReferenceWorkload: PoolTask {
    /// The short name used on the command line (`cpu`, `sleep`, `pipe-read`, …).
    static var workloadName: String { get }
    /// One line on what the task does and what a person would expect of it.
    static var summary: String { get }
    /// What one input line is, for `pool-advisor tasks`: its JSON shape and what its fields mean.
    static var inputMeaning: String { get }
    /// `count` inputs for the task (deterministic: the same count gives the same inputs).
    static func inputs(count: Int) -> [Input]
}

extension ReferenceWorkload {
    /// Reference workloads are deterministic and leave nothing behind: calling one twice on an
    /// input is harmless, so a standalone profile may cycle through a small sample.
    public static var isIdempotent: Bool { true }

    /// A JSON value of the task's input type.
    public static var inputMeaning: String { "a JSON \(String(reflecting: Input.self))" }
}

/// The catalogue of reference workloads, in a fixed order.
public enum ReferenceWorkloads {
    public static let all: [any ReferenceWorkload.Type] =
        [
            PureCPU.self, BlockingSleep.self, PipeRead.self, DiskSync.self, BlockingLock.self, SpinningMutex.self,
            SharedAtomic.self, AllocationHeavy.self, WaitThenCompute.self, LargePayload.self, SharedTable.self,
            TinyTask.self,
        ] + everyday

    /// The workloads drawn from everyday Swift code (Foundation's JSON coders, word counting,
    /// sorting, a memory-bound scan, a job that changes part-way), at the end of ``all``.
    public static let everyday: [any ReferenceWorkload.Type] = [
        JSONCoding.self, TextWords.self, SortArray.self, MemoryScan.self, PhaseChange.self,
    ]

    /// The workload called `name` (its ``ReferenceWorkload/workloadName``), if any.
    public static func named(_ name: String) -> (any ReferenceWorkload.Type)? {
        all.first { $0.workloadName == name }
    }

    /// Every workload's task and the mixed workload's two stage tasks, for
    /// ``WorkerEntry/runIfWorker(tasks:)``.
    public static var tasks: [any PoolTask.Type] {
        all.map { $0 as any PoolTask.Type } + [MixedFetch.self, MixedCompute.self]
    }
}

/// Computation no compiler can fold away: `iterations` rounds of xorshift-multiply.
@inline(never)
public func churn(_ seed: UInt64, iterations: Int) -> UInt64 {
    var state = seed | 1
    var sum: UInt64 = 0
    for _ in 0..<iterations {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        sum = sum &+ (state &* 0x2545_F491_4F6C_DD1D)
    }
    return sum
}

/// Input of the computing workloads: a seed and how much work.
public struct ComputeWork: Codable, Sendable, Equatable {
    public var seed: UInt64
    public var iterations: Int

    public init(seed: UInt64, iterations: Int) {
        self.seed = seed
        self.iterations = iterations
    }

    /// Decodes and checks the work: a negative iteration count is rejected here, where the
    /// input file's line can still be named, rather than trapping in a worker.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seed = try container.decode(UInt64.self, forKey: .seed)
        iterations = try container.decode(Int.self, forKey: .iterations)
        guard iterations >= 0 else {
            throw DecodingError.dataCorruptedError(
                forKey: .iterations, in: container, debugDescription: "iterations must be 0 or more, not \(iterations)")
        }
    }

    static func series(_ count: Int, iterations: Int) -> [ComputeWork] {
        (0..<count).map { ComputeWork(seed: UInt64($0) &* 0x9E37_79B9 &+ 1, iterations: iterations) }
    }
}
