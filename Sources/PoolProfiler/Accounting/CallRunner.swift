import PoolExecutors
import Synchronization

/// Runs a task's calls for the profiler and keeps what they computed.
///
/// Two ways to pick inputs:
/// - **once each** (a task that is not idempotent, or ``ProfilerOptions/repeatsIdempotentInputs``
///   off): every call takes the next unused input, its output or error is kept by input index,
///   and the runner is exhausted when the sample is. No input is ever called twice.
/// - **cycling** (an idempotent task): calls go round-robin over the sample; the first output of
///   each input is kept.
///
/// The serial phase goes through ``callGroup(_:)``. The scaling threads go through
/// ``makeWorker(offset:)``: each has its own cursor (cycling) or its own reserved range of
/// inputs (once each), so no shared counter is touched per call — one would be a contended
/// atomic of the profiler's own making and would make tiny tasks look as if they did not scale.
// @unchecked: its vars are the profiling thread's; scaling threads use atomics and merge after they are joined.
final class CallRunner<Task: PoolTask>: @unchecked Sendable {
    let sample: [Task.Input]
    /// Whether every input is called at most once.
    let callsEachInputOnce: Bool
    /// Whether the first failure ends the calls.
    let stopsAtFirstFailure: Bool
    /// Serial-phase state: touched by the profiling thread only (scaling callers are merged
    /// there after their threads were joined).
    private var serialCalls = 0
    /// Once each: the first input no call has taken yet.
    private var nextFresh = 0
    private var outputs: [Result<Task.Output, any Error>?]
    private var failures: [ProfiledFailure] = []
    private var serialFailed = 0
    private let concurrentCalls = Atomic<Int>(0)
    private let concurrentFailed = Atomic<Int>(0)
    /// Set when a call failed and ``stopsAtFirstFailure``: read by the scaling threads every
    /// few calls, never written per call.
    private let stopped = Atomic<Bool>(false)

    init(sample: [Task.Input], options: ProfilerOptions) {
        self.sample = sample
        callsEachInputOnce = !Task.isIdempotent || !options.repeatsIdempotentInputs
        stopsAtFirstFailure = options.stopsAtFirstFailure
        outputs = Array(repeating: nil, count: sample.count)
    }

    /// Calls made so far, and how many threw.
    var calls: Int { serialCalls + concurrentCalls.load(ordering: .acquiring) }
    var failedCalls: Int { serialFailed + concurrentFailed.load(ordering: .acquiring) }

    /// Inputs no call has taken yet (unbounded when cycling).
    var remaining: Int { callsEachInputOnce ? sample.count - nextFresh : .max }
    /// A call failed and the runner stops at the first failure.
    var isStopped: Bool { stopped.load(ordering: .relaxed) }
    /// No more calls can be made: the sample is used up, or a failure stopped the calls.
    var isExhausted: Bool { remaining == 0 || isStopped }

    /// Runs up to `count` calls on the next inputs, on the profiling thread, and returns how
    /// many it made (fewer when the sample runs out or a failure stops it). The loop lives
    /// here, specialised for the task, so a group of tiny calls pays for no indirect call.
    func callGroup(_ count: Int) -> Int {
        if callsEachInputOnce { return callFresh(count) }
        if isStopped { return 0 }
        var index = serialCalls % sample.count
        for made in 0..<count {
            let firstPass = serialCalls < sample.count
            serialCalls += 1
            do {
                let output = try Task.run(sample[index])
                if firstPass { outputs[index] = .success(output) }
            } catch {
                record(error, at: index, firstPass: firstPass)
                if stopsAtFirstFailure { return made + 1 }
            }
            index += 1
            if index == sample.count { index = 0 }
        }
        return count
    }

    private func callFresh(_ count: Int) -> Int {
        guard !isStopped else { return 0 }
        let start = nextFresh
        let end = start + min(count, sample.count - start)
        var index = start
        while index < end {
            serialCalls += 1
            do {
                outputs[index] = .success(try Task.run(sample[index]))
            } catch {
                record(error, at: index, firstPass: true)
                if stopsAtFirstFailure {
                    index += 1
                    break
                }
            }
            index += 1
        }
        nextFresh = index
        return index - start
    }

    private func record(_ error: any Error, at index: Int, firstPass: Bool) {
        serialFailed += 1
        if firstPass { outputs[index] = .failure(error) }
        remember(error, at: index)
    }

    private func remember(_ error: any Error, at index: Int) {
        if stopsAtFirstFailure { stopped.store(true, ordering: .relaxed) }
        if failures.count < 16 {
            failures.append(
                ProfiledFailure(
                    inputIndex: index, errorType: String(reflecting: type(of: error)),
                    message: String(describing: error)))
        }
    }

    /// Takes `count` unused inputs for one scaling thread (once each): nil when fewer remain.
    /// Called on the profiling thread before the scaling threads start.
    func reserve(_ count: Int) -> Range<Int>? {
        guard callsEachInputOnce, count <= remaining else { return nil }
        defer { nextFresh += count }
        return nextFresh..<(nextFresh + count)
    }

    /// A caller for one scaling thread: cycling from `offset`, or over `range` (once each,
    /// from ``reserve(_:)``). Its counts and outputs are added by ``finish(_:)``.
    func makeWorker(offset: Int, range: Range<Int>?) -> ConcurrentCaller<Task> {
        ConcurrentCaller(sample: sample, offset: offset, range: range, stopsAtFirstFailure: stopsAtFirstFailure)
    }

    /// Adds a scaling thread's counts and keeps its outputs. Called on the profiling thread
    /// after the scaling threads were joined.
    func finish(_ caller: ConcurrentCaller<Task>) {
        concurrentCalls.wrappingAdd(caller.calls, ordering: .relaxed)
        concurrentFailed.wrappingAdd(caller.failed, ordering: .relaxed)
        guard let range = caller.range else { return }
        for (offset, result) in caller.kept.enumerated() {
            outputs[range.lowerBound + offset] = result
            if case .failure(let error) = result { remember(error, at: range.lowerBound + offset) }
        }
    }

    /// Tells the scaling threads to stop (a thread saw a failure and the runner stops at one).
    func stop() { stopped.store(true, ordering: .relaxed) }

    /// The outputs by input index (nil where the input was never reached).
    var keptOutputs: [Result<Task.Output, any Error>?] { outputs }

    /// The first failures (at most 16).
    var recordedFailures: [ProfiledFailure] { failures }
}

/// One scaling thread's caller: a private cursor and private counts, and (once each) the
/// outputs of its reserved inputs.
struct ConcurrentCaller<Task: PoolTask>: Sendable {
    let sample: [Task.Input]
    /// Once each: the sample indices this caller owns; nil when cycling.
    let range: Range<Int>?
    let stopsAtFirstFailure: Bool
    var cursor: Int
    var calls = 0
    var failed = 0
    /// Once each: the results, in the order of `range`.
    var kept: [Result<Task.Output, any Error>] = []

    init(sample: [Task.Input], offset: Int, range: Range<Int>?, stopsAtFirstFailure: Bool) {
        // A private copy of the inputs: sharing one buffer would make unoptimised builds bump its
        // reference count from every thread on every call, a contended cache line the task does
        // not have.
        if let range {
            self.sample = Array(sample[range])
            kept.reserveCapacity(range.count)
            cursor = 0
        } else {
            self.sample = sample.map { $0 }
            cursor = offset % sample.count
        }
        self.range = range
        self.stopsAtFirstFailure = stopsAtFirstFailure
    }

    /// Makes one call; false when this caller has nothing left to call (its range is done, or
    /// a call failed and the runner stops at the first failure).
    @inline(__always)
    mutating func callNext() -> Bool {
        guard range != nil else {
            calls += 1
            if (try? Task.run(sample[cursor])) == nil { failed += 1 }
            cursor += 1
            if cursor == sample.count { cursor = 0 }
            return true
        }
        guard cursor < sample.count else { return false }
        calls += 1
        let result = Result { try Task.run(sample[cursor]) }
        cursor += 1
        kept.append(result)
        if case .failure = result {
            failed += 1
            if stopsAtFirstFailure { return false }
        }
        return true
    }
}
