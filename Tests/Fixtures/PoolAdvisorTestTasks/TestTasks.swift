// Tasks the PoolAdvisor tests run in this process and in worker processes: the test bundle and
// the `pool-advisor-test-tool` worker both link this module, so the names and signatures match.
public import PoolExecutors
internal import PoolSystem
internal import PoolWorkloads

#if canImport(Glibc)
    internal import Glibc
#endif

/// One call to log: the input's index, the log file, and where to fail or crash.
public struct LoggedCall: Codable, Sendable, Equatable {
    public var log: String
    public var index: Int
    /// At this index the task throws (``AppendCall``) or crashes (``CrashingCall``).
    public var failAt: Int?
    /// Spin this many rounds first, so calls are not all tiny.
    public var work: Int
    /// Returns only once the log holds this many calls (polled each millisecond, for at most
    /// 60 s): a call that finishes after others that started later, whatever the timing.
    public var waitsForCalls: Int?

    public init(log: String, index: Int, failAt: Int? = nil, work: Int = 0, waitsForCalls: Int? = nil) {
        self.log = log
        self.index = index
        self.failAt = failAt
        self.work = work
        self.waitsForCalls = waitsForCalls
    }

    /// Inputs 0..<count logging to `log`.
    public static func series(_ count: Int, log: String, failAt: Int? = nil, work: Int = 0) -> [LoggedCall] {
        (0..<count).map { LoggedCall(log: log, index: $0, failAt: failAt, work: work) }
    }

    /// Appends "index\n" to the log with one `O_APPEND` write: whole lines from any process.
    func append() {
        let line = Array("\(index)\n".utf8)
        let fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// Waits for ``waitsForCalls`` lines in the log, if asked.
    func waitForOthers() {
        guard let wanted = waitsForCalls else { return }
        for _ in 0..<60_000 {
            if loggedCalls() >= wanted { return }
            usleep(1000)
        }
    }

    /// The lines in the log so far.
    private func loggedCalls() -> Int {
        let fd = open(log, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var lines = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return lines }
            lines += buffer[..<count].count(where: { $0 == UInt8(ascii: "\n") })
        }
    }
}

/// A failure at the index the input names.
public struct AskedToFail: Error, Equatable, CustomStringConvertible {
    public let index: Int
    public var description: String { "asked to fail at input \(index)" }
}

/// Logs every call (not idempotent), then throws at `failAt`; returns the index.
public struct AppendCall: PoolTask {
    public static func run(_ input: LoggedCall) throws -> Int {
        input.append()
        if input.work > 0 { _ = churn(UInt64(input.index), iterations: input.work) }
        input.waitForOthers()
        if input.index == input.failAt { throw AskedToFail(index: input.index) }
        return input.index
    }
}

/// Declared crash-prone: logs every call, then calls `fatalError` at `failAt`.
public struct CrashingCall: PoolTask {
    public static let traits: TaskTraits = [.crashProne]
    public static func run(_ input: LoggedCall) -> Int {
        input.append()
        if input.index == input.failAt { fatalError("asked to crash at input \(input.index)") }
        return input.index
    }
}

/// Throws for negative inputs.
public struct NoNegatives: PoolTask {
    public struct Negative: Error {}
    public static func run(_ input: Int) throws -> Int {
        if input < 0 { throw Negative() }
        Sleep.full(microseconds: 200)
        return input
    }
}

/// Before index 300 a call sleeps 2 ms; from 300 on it computes instead.
public struct DriftingTask: PoolTask {
    public static func run(_ input: Int) -> UInt64 {
        if input < 300 {
            // The whole time, even when a signal (a child process ending) interrupts it: a
            // sleep cut short read as a call that computes, and the profile chose its plan on it.
            Sleep.full(microseconds: 2_000)
            return UInt64(input)
        }
        return churn(UInt64(input), iterations: 200_000)
    }
}

/// Computes almost all its time under a lock of its own whose waiters sleep (a pthread mutex):
/// copies on threads make no more progress than one, yet each burns CPU only while it holds
/// the lock, so their CPU efficiency looks perfect. The lock is this task's alone, so no other
/// suite's calls change what a test measures.
public struct SleepyLockTask: PoolTask {
    private static let lock = PThreadMutex()

    public static func run(_ input: Int) -> UInt64 {
        var sum: UInt64 = 0
        for round in 0..<20 {
            lock.withLock { sum = sum &+ churn(UInt64(input &* 31 &+ round), iterations: 60_000) }
        }
        return sum
    }
}

/// Waits 3 ms, then computes about 2 ms under one process-wide mutex whose waiters sleep: a
/// task a profile reads as both waiting and computing, whose computing part cannot scale on
/// threads (processes, each with its own mutex, can).
public struct NapThenLockedChurn: StagedTask {
    public typealias Fetch = Nap
    public typealias Compute = LockedChurn

    /// The waiting stage: 3 ms asleep.
    public struct Nap: PoolTask {
        public static func run(_ input: Int) -> Int {
            Sleep.full(microseconds: 3_000)
            return input
        }
    }

    /// The computing stage, all of it under the mutex.
    public struct LockedChurn: PoolTask {
        private static let lock = PThreadMutex()

        public static func run(_ input: Int) -> UInt64 {
            lock.withLock { churn(UInt64(input &* 31), iterations: 600_000) }
        }
    }
}

/// A plain pthread mutex: a waiter sleeps in the kernel (after, at most, a short spin).
final class PThreadMutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }

    func withLock<Value>(_ body: () -> Value) -> Value {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}

/// Builds its state on its first call in each process (60 ms of CPU, once), then answers at
/// once: a model or table loaded per process, as the profiler sees it. For one test only
/// (`WarmUpTests.autoSeesTheFirstCall`): a second caller in the test process finds it built.
public struct SlowFirstCall: PoolTask {
    private static let state: Int = {
        computeAtLeast(seconds: 0.06)
        return 1
    }()

    public static func run(_ input: Int) -> Int { input + state }
}

/// Waits 60 ms on its first call in each process (a file loaded or a connection made once),
/// then computes 0.2 ms a call. For one test only (`WarmUpTests.autoSeesAWaitingFirstCall`): a
/// second caller in the test process finds it ready.
public struct NapFirstCall: PoolTask {
    private static let ready: Int = {
        Sleep.full(microseconds: 60_000)
        return 1
    }()

    public static func run(_ input: Int) -> Int {
        computeAtLeast(seconds: 0.0002)
        return input + ready
    }
}

/// A row of a table every call shares.
public struct SharedRow: Codable, Sendable {
    public var table: Shared<[Double]>
    public var row: Int

    public init(table: Shared<[Double]>, row: Int) {
        self.table = table
        self.row = row
    }
}

/// Sums row `row` (100 values) of the shared table.
public struct SumsSharedRow: PoolTask {
    public static func run(_ input: SharedRow) -> Double {
        input.table.value[(input.row * 100)..<(input.row * 100 + 100)].reduce(0, +)
    }
}

/// Every task above, for `WorkerEntry.runIfWorker(tasks:)`.
public let testTasks: [any PoolTask.Type] = [
    SumsSharedRow.self,
    AppendCall.self, CrashingCall.self, NoNegatives.self, DriftingTask.self, SleepyLockTask.self,
    NapThenLockedChurn.self, NapThenLockedChurn.Nap.self, NapThenLockedChurn.LockedChurn.self, SlowFirstCall.self,
    NapFirstCall.self,
]

/// Computes for `seconds` of this thread's CPU time at least: a table built once per process.
/// Spent CPU is a floor for every reading of a call's time (wall, wall less the wait for a core,
/// CPU), so a test of a warm-up built this way holds however the call is read.
public func computeAtLeast(seconds: Double) {
    guard seconds.isFinite, seconds > 0 else { return }
    func threadCPU() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
    let end = threadCPU() + min(seconds, 3600)
    var state: UInt64 = 1
    while threadCPU() < end {
        for _ in 0..<10_000 { state = state &* 6_364_136_223_846_793_005 &+ 1 }
    }
    if state == 0 { print("") }  // keeps the loop from being optimised away
}
