// Two workloads whose cost is not in the call's own arithmetic: one bound by the memory bus,
// one that changes behaviour part-way through the job (for the drift watch).
import PoolExecutors
internal import PoolSystem

/// Sums a window of a 64 MiB table that each process builds once: the loads, not the
/// arithmetic, set the pace, and copies on two cores share one memory bus.
public struct MemoryScan: ReferenceWorkload {
    public static let workloadName = "memory-scan"
    public static let inputMeaning =
        "{\"seed\": S, \"size\": N}: sums N KiB of the shared table from a place seed S picks (8192 is 8 MiB)"
    public static let summary =
        "sums 8 MiB of a 64 MiB table built once per process (memory-bandwidth-bound; a cold start per worker)"
    /// Each call scans `size` KiB of the table (8 MiB: twice what fits in a core's share of L3).
    public static func inputs(count: Int) -> [SeededWork] { SeededWork.series(count, size: 8 << 10) }

    /// The table's size: twice this machine's L3 and most others', so successive windows miss the cache.
    public static let tableBytes = 64 << 20

    /// Built on first use, once per process (a `static let` is initialised lazily and exactly
    /// once, whichever thread gets there first). Values are a cheap function of the index, so
    /// every process holds the same table.
    private static let table: [UInt64] = {
        let words = tableBytes / MemoryLayout<UInt64>.stride
        return [UInt64](unsafeUninitializedCapacity: words) { buffer, initialised in
            for index in 0..<words {
                let value = UInt64(index)
                buffer[index] = value &* 0x9E37_79B9_7F4A_7C15 ^ (value >> 7)
            }
            initialised = words
        }
    }()

    /// Sums `input.size` KiB of the table (at most all of it), starting at a place the seed
    /// chooses and wrapping around the end.
    public static func run(_ input: SeededWork) -> UInt64 {
        table.withUnsafeBufferPointer { words in
            let length = min(input.boundedSize * 1024 / MemoryLayout<UInt64>.stride, words.count)
            let start = Int(truncatingIfNeeded: input.seed % UInt64(words.count))
            var sum: UInt64 = 0
            var index = start
            var remaining = length
            while remaining > 0 {
                let run = min(remaining, words.count - index)
                for word in words[index..<(index + run)] { sum = sum &+ word }
                remaining -= run
                index = 0
            }
            return sum ^ input.seed
        }
    }
}

/// The input of ``PhaseChange``: the work, and whether it runs under the process-wide lock.
public struct PhaseWork: Codable, Sendable, Equatable {
    /// Where the computation starts.
    public var seed: UInt64
    /// Rounds of computation (as ``ComputeWork/iterations``).
    public var iterations: Int
    /// Whether the call holds the process-wide lock while it computes (the job's later phase).
    public var serialised: Bool

    /// The most rounds a call accepts: about a tenth of a second.
    public static let maximumIterations = 100_000_000

    /// Work of `iterations` rounds from `seed`, under the lock when `serialised`.
    public init(seed: UInt64, iterations: Int, serialised: Bool) {
        self.seed = seed
        self.iterations = iterations
        self.serialised = serialised
    }

    /// Decodes and checks the work: iterations outside `0...maximumIterations` are rejected here
    /// rather than trapping, or computing for hours, in a worker.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seed = try container.decode(UInt64.self, forKey: .seed)
        iterations = try container.decode(Int.self, forKey: .iterations)
        serialised = try container.decode(Bool.self, forKey: .serialised)
        guard (0...Self.maximumIterations).contains(iterations) else {
            throw DecodingError.dataCorruptedError(
                forKey: .iterations, in: container,
                debugDescription: "iterations must be between 0 and \(Self.maximumIterations), not \(iterations)")
        }
    }
}

/// What a ``PhaseChange`` call computed, and whether it ran under the lock.
public struct PhaseOutcome: Codable, Sendable, Equatable {
    /// The computation's result (the same with or without the lock).
    public var value: UInt64
    /// Whether the call held the process-wide lock.
    public var serialised: Bool
}

/// Behaviour that changes part-way through the job: the first quarter of the inputs compute
/// freely; the rest compute under one process-wide pthread mutex, so threads stop scaling while
/// worker processes (one lock each) still do. The phase is written in each input, so the same
/// inputs behave the same in any process and any order.
public struct PhaseChange: ReferenceWorkload {
    public static let workloadName = "phase-change"
    public static let inputMeaning =
        "{\"seed\": S, \"iterations\": N, \"serialised\": B}: N rounds of arithmetic, under one process-wide lock when B is true"
    public static let summary =
        "first quarter of the inputs compute freely, the rest under one process-wide mutex (a drift mid-job)"

    /// `count` inputs of about 1.5 ms each; those after the first quarter are serialised.
    public static func inputs(count: Int) -> [PhaseWork] {
        ComputeWork.series(count, iterations: 1_500_000).enumerated().map { index, work in
            PhaseWork(seed: work.seed, iterations: work.iterations, serialised: index * 4 >= count)
        }
    }

    private static let lock = ConditionLock()

    /// Computes `input.iterations` rounds (at most ``PhaseWork/maximumIterations``), holding the
    /// lock throughout when the input says so.
    public static func run(_ input: PhaseWork) -> PhaseOutcome {
        let iterations = min(max(input.iterations, 0), PhaseWork.maximumIterations)
        guard input.serialised else {
            return PhaseOutcome(value: churn(input.seed, iterations: iterations), serialised: false)
        }
        lock.lock()
        defer { lock.unlock() }
        return PhaseOutcome(value: churn(input.seed, iterations: iterations), serialised: true)
    }
}
