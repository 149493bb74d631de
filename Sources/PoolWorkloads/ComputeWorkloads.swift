import PoolExecutors
internal import PoolSystem
import Synchronization

/// Pure computation on private data: scales on threads, CPU ratio near 1.
public struct PureCPU: ReferenceWorkload {
    public static let workloadName = "cpu"
    public static let inputMeaning =
        "{\"seed\": S, \"iterations\": N}: N rounds of integer arithmetic from seed S (1500000 is about 3 ms)"
    public static let summary = "pure computation on private data (a few milliseconds a call)"
    public static func inputs(count: Int) -> [ComputeWork] { ComputeWork.series(count, iterations: 1_500_000) }
    public static func run(_ input: ComputeWork) -> UInt64 { churn(input.seed, iterations: input.iterations) }
}

/// Nine tenths of the work under one process-wide pthread mutex (what NSLock is on Linux):
/// copies block on the futex and do not speed up.
public struct BlockingLock: ReferenceWorkload {
    public static let workloadName = "blocking-lock"
    public static let inputMeaning =
        "{\"seed\": S, \"iterations\": N}: N rounds of arithmetic from seed S, nine tenths under one shared lock"
    public static let summary = "90 % of the work under a contended pthread mutex (NSLock): threads block"
    public static func inputs(count: Int) -> [ComputeWork] { ComputeWork.series(count, iterations: 1_500_000) }

    private static let lock = ConditionLock()

    public static func run(_ input: ComputeWork) -> UInt64 {
        // 50 holds of ~25 µs per call: long enough that the waiter goes to sleep in the futex.
        var sum: UInt64 = 0
        let slice = max(input.iterations / 50, 10)
        for round in 0..<50 {
            lock.lock()
            sum = sum &+ churn(input.seed &+ UInt64(round), iterations: slice * 9 / 10)
            lock.unlock()
            sum = sum &+ churn(sum, iterations: slice / 10)
        }
        return sum
    }
}

/// The same pattern under `Synchronization.Mutex`, which spins before it sleeps: copies look
/// busy (CPU ratio near 1) yet make no more progress than one.
public struct SpinningMutex: ReferenceWorkload {
    public static let workloadName = "spinning-mutex"
    public static let inputMeaning =
        "{\"seed\": S, \"iterations\": N}: N rounds of arithmetic from seed S, nine tenths under one shared mutex"
    public static let summary = "90 % of the work under a contended Synchronization.Mutex: threads spin"
    public static func inputs(count: Int) -> [ComputeWork] { ComputeWork.series(count, iterations: 1_500_000) }

    private static let mutex = Mutex<UInt64>(0)

    public static func run(_ input: ComputeWork) -> UInt64 {
        var sum: UInt64 = 0
        let slice = max(input.iterations / 200, 10)
        for round in 0..<200 {
            sum =
                sum
                &+ mutex.withLock { shared in
                    // The shared value is written (so the lock guards real state) but the result
                    // depends on the input alone: any run order gives the same outputs.
                    let local = churn(input.seed &+ UInt64(round), iterations: slice * 9 / 10)
                    shared = shared &+ local
                    return local
                }
            sum = sum &+ churn(sum, iterations: slice / 10)
        }
        return sum
    }
}

/// Every step increments one shared atomic counter: the cache line bounces between cores.
public struct SharedAtomic: ReferenceWorkload {
    public static let workloadName = "atomic-counter"
    public static let inputMeaning =
        "{\"seed\": S, \"iterations\": N}: N increments of one shared atomic counter; S goes into the result"
    public static let summary = "increments one shared atomic counter: cache-line ping-pong between cores"
    public static func inputs(count: Int) -> [ComputeWork] { ComputeWork.series(count, iterations: 150_000) }

    private static let counter = Atomic<UInt64>(0)

    public static func run(_ input: ComputeWork) -> UInt64 {
        // An atomic read-modify-write is never optimised away, so the result can ignore the
        // counter: the output depends on the input alone, whatever other threads did.
        for step in 0..<input.iterations {
            counter.wrappingAdd(UInt64(step) | 1, ordering: .sequentiallyConsistent)
        }
        return (UInt64(input.iterations) &* 0x9E37_79B9) ^ input.seed
    }
}

/// Many short-lived arrays and objects: the allocator's per-thread arenas let it scale.
public struct AllocationHeavy: ReferenceWorkload {
    public static let workloadName = "allocation"
    public static let inputMeaning =
        "{\"seed\": S, \"iterations\": N}: N rounds of allocating short-lived arrays and objects"
    public static let summary = "many short-lived arrays and objects (allocator-bound)"
    public static func inputs(count: Int) -> [ComputeWork] { ComputeWork.series(count, iterations: 6_000) }

    private final class Node {
        let value: UInt64
        let next: Node?
        init(value: UInt64, next: Node?) {
            self.value = value
            self.next = next
        }
    }

    public static func run(_ input: ComputeWork) -> UInt64 {
        var sum = input.seed
        for step in 0..<input.iterations {
            var values: [UInt64] = []
            for offset in 0..<(8 + step % 24) { values.append(sum &+ UInt64(offset)) }
            var list: Node?
            for value in values.prefix(6) { list = Node(value: value, next: list) }
            while let node = list {
                sum = sum &+ node.value
                list = node.next
            }
        }
        return sum
    }
}

/// About a microsecond of computation: dispatch costs more than the call.
public struct TinyTask: ReferenceWorkload {
    public static let workloadName = "tiny"
    public static let inputMeaning = "an integer: the seed of about a microsecond of arithmetic"
    public static let summary = "about a microsecond of computation: dispatch costs more than the work"
    public static func inputs(count: Int) -> [UInt64] { (0..<count).map { UInt64($0) &+ 7 } }
    public static func run(_ input: UInt64) -> UInt64 { churn(input, iterations: 400) }
}

/// A 4 MiB argument and light work on it: shipping it to a process costs more than the work.
public struct LargePayload: ReferenceWorkload {
    public static let workloadName = "large-payload"
    public static let inputMeaning = "an array of byte values (0-255): the argument itself, shipped whole to a worker"
    public static let summary = "a 4 MiB argument with light work on it (a little arithmetic on one byte per page)"
    public static let bytes = 4 << 20

    public static func inputs(count: Int) -> [[UInt8]] { inputs(count: count, bytes: bytes, distinct: count) }

    /// `count` arguments of `bytes` bytes each (a larger argument than the default 4 MiB, say)
    /// with at most `distinct` different contents, repeated in turn: the repeats share their
    /// storage (copy-on-write) in this process, so a long job of 16 MiB arguments fits in
    /// memory, yet each is encoded and shipped in full to a worker process.
    public static func inputs(count: Int, bytes: Int, distinct: Int) -> [[UInt8]] {
        let bytes = max(0, bytes)
        let contents = (0..<min(max(1, distinct), max(0, count))).map { index in
            var state = UInt64(index) &+ 11
            return (0..<bytes).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 56)
            }
        }
        return (0..<max(0, count)).map { contents[$0 % contents.count] }
    }

    /// One byte per 4 KiB page, each mixed for 40 rounds: about 40 µs of arithmetic, and
    /// too few memory touches for the memory bus to decide how it scales.
    public static func run(_ input: [UInt8]) -> UInt64 {
        var sum: UInt64 = 0
        var index = 0
        while index < input.count {
            sum = sum &+ churn(UInt64(input[index]) &+ sum, iterations: 40)
            index += 4096
        }
        return sum
    }
}
