import PoolExecutors
import Synchronization

/// Runs a task's calls for the profiler, picking inputs round-robin from the sample.
///
/// The serial phase goes through ``callNext()``, which keeps the first output of each input
/// (so a caller never computes it twice) and records the calls that threw. The scaling threads
/// go through ``makeWorker(offset:stride:)``: each has its own cursor, so no shared counter
/// is touched per call — one would be a contended atomic of the profiler's own making and
/// would make tiny tasks look as if they did not scale.
final class CallRunner<Task: PoolTask>: @unchecked Sendable {
    let sample: [Task.Input]
    /// Serial-phase state: touched by the profiling thread only.
    private var serialCalls = 0
    private var outputs: [Result<Task.Output, any Error>?]
    private var failures: [ProfiledFailure] = []
    private var serialFailed = 0
    private let concurrentCalls = Atomic<Int>(0)
    private let concurrentFailed = Atomic<Int>(0)

    init(sample: [Task.Input]) {
        self.sample = sample
        outputs = Array(repeating: nil, count: sample.count)
    }

    /// Calls made so far, and how many threw.
    var calls: Int { serialCalls + concurrentCalls.load(ordering: .acquiring) }
    var failedCalls: Int { serialFailed + concurrentFailed.load(ordering: .acquiring) }

    /// Runs `count` calls on the next inputs, on the profiling thread. The loop lives here,
    /// specialised for the task, so a group of tiny calls pays for no indirect call per call.
    func callGroup(_ count: Int) {
        var index = serialCalls % sample.count
        for _ in 0..<count {
            let firstPass = serialCalls < sample.count
            serialCalls += 1
            do {
                let output = try Task.run(sample[index])
                if firstPass { outputs[index] = .success(output) }
            } catch {
                record(error, at: index, firstPass: firstPass)
            }
            index += 1
            if index == sample.count { index = 0 }
        }
    }

    private func record(_ error: any Error, at index: Int, firstPass: Bool) {
        serialFailed += 1
        if firstPass { outputs[index] = .failure(error) }
        if failures.count < 16 {
            failures.append(
                ProfiledFailure(
                    inputIndex: index, errorType: String(reflecting: type(of: error)),
                    message: String(describing: error)))
        }
    }

    /// A call function for one scaling thread: inputs `offset`, `offset + stride`, … of the
    /// sample. Its counts are added when ``finish(calls:failed:)`` is called.
    func makeWorker(offset: Int) -> ConcurrentCaller<Task> {
        ConcurrentCaller(sample: sample, offset: offset)
    }

    func finish(_ caller: ConcurrentCaller<Task>) {
        concurrentCalls.wrappingAdd(caller.calls, ordering: .relaxed)
        concurrentFailed.wrappingAdd(caller.failed, ordering: .relaxed)
    }

    /// The outputs by input index (nil where the input was never reached).
    var keptOutputs: [Result<Task.Output, any Error>?] { outputs }

    /// The first failures (at most 16).
    var recordedFailures: [ProfiledFailure] { failures }
}

/// One scaling thread's caller: a private cursor and private counts.
struct ConcurrentCaller<Task: PoolTask> {
    let sample: [Task.Input]
    var cursor: Int
    var calls = 0
    var failed = 0

    init(sample: [Task.Input], offset: Int) {
        // A private copy of the array: sharing one buffer would make unoptimised builds bump its
        // reference count from every thread on every call, a contended cache line the task does
        // not have.
        self.sample = sample.map { $0 }
        cursor = offset % sample.count
    }

    @inline(__always)
    mutating func callNext() {
        calls += 1
        if (try? Task.run(sample[cursor])) == nil { failed += 1 }
        cursor += 1
        if cursor == sample.count { cursor = 0 }
    }
}
