import Foundation
import PoolProfiler
import Synchronization
import Testing

@testable import PoolAdvisor
@testable import PoolExecutors

/// Logs its calls in this process; from index 200 on, a call waits until the test opens the gate.
struct HeldFromTwoHundred: PoolTask {
    static let name = "tests.held-from-two-hundred"
    static let calls = Mutex<[Int]>([])
    static let gate = Mutex<Bool>(false)

    static func run(_ input: Int) -> Int {
        calls.withLock { $0.append(input) }
        if input >= 200 {
            // Bounded: a bug fails the test instead of hanging the suite.
            for _ in 0..<30_000 where !gate.withLock({ $0 }) { usleep(1000) }
        }
        return input
    }
}

/// Logs every call in this process and returns its input.
struct LoggedCalls: PoolTask {
    static let name = "tests.logged-calls"
    static let calls = Mutex<[Int]>([])

    static func run(_ input: Int) -> Int {
        calls.withLock { $0.append(input) }
        return input
    }
}

/// A two-stage task whose fetch logs its input; input 0's fetch waits (bounded) until input 4
/// has been fetched, which only a batch started before the first is read can do.
struct WaitsForTheNextBatch: StagedTask {
    static let name = "tests.waits-for-the-next-batch"
    typealias Fetch = LoggedFetch
    typealias Compute = Doubled

    struct LoggedFetch: PoolTask {
        static let name = "tests.logged-fetch"
        static let fetched = Mutex<Set<Int>>([])

        static func run(_ input: Int) -> Int {
            if input == 0 {
                for _ in 0..<30_000 where !fetched.withLock({ $0.contains(4) }) { usleep(1000) }
            }
            fetched.withLock { _ = $0.insert(input) }
            return input
        }
    }

    struct Doubled: PoolTask {
        static let name = "tests.doubled"
        static func run(_ input: Int) -> Int { 2 * input }
    }
}

/// The watched loop of the auto executor, driven directly with a fixed plan and batch sizes.
@Suite("Watched batches", .serialized, .timeLimit(.minutes(10)))
struct WatchedBatchTests {
    @Test("a deliver that throws stops the batch queued behind: its unstarted inputs never run")
    func throwingDeliverCancelsTheQueuedBatch() throws {
        var options = AutoExecutor.Options()
        // Batches of half of what is left, whatever the time per item: 0..<200, then 200..<300.
        options.watchSeconds = 1e9
        options.minimumBatchSeconds = 0
        options.batchRiskShare = 0.5
        options.driftMinimumSeconds = 1e9  // no window is ever judged
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: options)
        let profile = try quickProfile(PureCPU.self)
        let plan = ExecutionPlan(mode: .threads, workers: 2, chunkSize: 1)
        var state = AutoRunState(
            profile: profile, recommendation: auto.advisor.recommend(profile, items: 400), plan: plan,
            profilingSeconds: 0, profiledItems: 0)
        var watch = DriftWatch(factor: 1.6, minimumWindowSeconds: 1e9)
        let executor = Executor(plan: plan)
        struct Stop: Error {}
        var delivered = 0
        #expect(throws: Stop.self) {
            _ = try auto.runWatched(
                HeldFromTwoHundred.self, Array(0..<400), from: 0, executor, &state, &watch, nil
            ) { outputs in
                delivered += outputs.count
                throw Stop()
            }
        }
        HeldFromTwoHundred.gate.withLock { $0 = true }
        executor.shutdown()  // whatever was started finishes
        let calls = HeldFromTwoHundred.calls.withLock { $0 }
        #expect(delivered >= 199 && delivered <= 200, "\(delivered)")
        #expect(Set(calls).count == calls.count, "an input ran twice")
        // At most the item each of the two threads had started when the job stopped.
        let held = calls.filter { $0 >= 200 }
        #expect(held.count <= 2, "\(held.count) inputs past the stop ran")
    }

    @Test("a trial of threads ends at its first steady window, with every input once and in order")
    func trialEndsAtTheFirstWindow() throws {
        var options = AutoExecutor.Options()
        // Batches of about a tenth of what is left (the model's time per item comes from a
        // measured profile, so the rounding may differ by one): about 0..<100 (the first window,
        // not judged: it pays the pool's start and fill), about 100..<190 (judged), and about
        // 190..<271 queued behind it.
        options.watchSeconds = 1e9
        options.minimumBatchSeconds = 0
        options.batchRiskShare = 0.1
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: options)
        let profile = try quickProfile(PureCPU.self)
        let plan = ExecutionPlan(mode: .threads, workers: 2, chunkSize: 1)
        var state = AutoRunState(
            profile: profile, recommendation: auto.advisor.recommend(profile, items: 1000), plan: plan,
            profilingSeconds: 0, profiledItems: 0)
        state.trialReturnsTo = ExecutionPlan(mode: .processes, workers: 2)
        var watch = DriftWatch(factor: 1.6, minimumWindowSeconds: 1e-9)  // every batch is judged
        let executor = Executor(plan: plan)
        defer { executor.shutdown() }
        LoggedCalls.calls.withLock { $0 = [] }
        var delivered: [Int] = []
        var batches = 0
        let (next, event) = try auto.runWatched(
            LoggedCalls.self, Array(0..<1000), from: 0, executor, &state, &watch, nil
        ) {
            delivered += $0
            batches += 1
        }
        guard case .trialMeasured(let perItem) = event else {
            Issue.record("the trial did not end at its second window: \(String(describing: event))")
            return
        }
        #expect(perItem.isFinite && perItem > 0)
        // The batch queued behind the judged one finishes on the trial's plan; nothing later starts.
        #expect(batches == 3, "the trial ended after \(batches) batches")
        #expect(next > 250 && next < 290, "\(next)")
        #expect(delivered == Array(0..<next))
        let calls = LoggedCalls.calls.withLock { $0 }
        #expect(calls.count == next && Set(calls) == Set(0..<next), "an input ran twice, or past the stop")
    }

    @Test(
        "threads standing in for processes are judged once, on the wall clock, at their first window that pays no start-up",
        .enabled(if: Machine.usableCores >= 2, "one core has no speed-up to fall short of"),
        arguments: [(callSeconds: 1e-9, fallsShort: true), (callSeconds: 10, fallsShort: false)])
    func standInJudgedOnTheWallClock(callSeconds: Double, fallsShort: Bool) throws {
        var options = AutoExecutor.Options()
        options.watchSeconds = 1e9
        options.minimumBatchSeconds = 0
        options.batchRiskShare = 0.1
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: options)
        // One call alone took `callSeconds`: the instant calls below look infinitely slow beside
        // a nanosecond, infinitely fast beside ten seconds, whatever the load on this machine.
        let profile = shaped(try quickProfile(PureCPU.self), wall: callSeconds, cpuShare: 0.99, efficiency: 0.97)
        let plan = ExecutionPlan(mode: .threads, workers: 2, chunkSize: 1)
        var state = AutoRunState(
            profile: profile, recommendation: auto.advisor.recommend(profile, items: 1000), plan: plan,
            profilingSeconds: 0, profiledItems: 0)
        state.threadsStandIn = true
        state.scalingChecked = true  // the idle-core check is another test's
        var watch = DriftWatch(factor: 1e9, minimumWindowSeconds: 1e-9)  // every batch judged, none drifts
        let executor = Executor(plan: plan)
        defer { executor.shutdown() }
        LoggedCalls.calls.withLock { $0 = [] }
        var delivered: [Int] = []
        let (next, event) = try auto.runWatched(
            LoggedCalls.self, Array(0..<1000), from: 0, executor, &state, &watch, nil
        ) { delivered += $0 }
        #expect(!state.threadsStandIn, "checked once")
        if fallsShort {
            guard case .slowStandIn(let speedup, _) = event else {
                Issue.record("no stand-in verdict at the first judged window: \(String(describing: event))")
                return
            }
            #expect(speedup < 1)
            #expect(next > 100 && next < 1000, "\(next)")
        } else {
            #expect(event == nil, "\(String(describing: event))")
            #expect(next == 1000)
        }
        #expect(delivered == Array(0..<next))
        let calls = LoggedCalls.calls.withLock { $0 }
        #expect(calls.count == next && Set(calls) == Set(0..<next), "an input ran twice, or past the stop")
    }

    @Test("a pipeline batch starts when it is queued, not when read, and returns its own outputs in order")
    func pipelineBatchesStartAtOnce() throws {
        WaitsForTheNextBatch.LoggedFetch.fetched.withLock { $0 = [] }
        let executor = Executor(
            plan: ExecutionPlan(mode: .pipeline, workers: 2, fetchWorkers: 2, computeStage: .threads))
        defer { executor.shutdown() }
        let inputs = Array(0..<8)
        let first = executor.startBatch(WaitsForTheNextBatch.self, inputs, 0..<4, progress: nil)
        let second = executor.startBatch(WaitsForTheNextBatch.self, inputs, 4..<8, progress: nil)
        let (outputs, failure) = first.wait()
        #expect(failure == nil)
        #expect(outputs == [0, 2, 4, 6])
        // Input 0 finished only because input 4, of the batch not yet read, had been fetched.
        #expect(WaitsForTheNextBatch.LoggedFetch.fetched.withLock { $0.contains(4) })
        let (rest, restFailure) = second.wait()
        #expect(restFailure == nil && rest == [8, 10, 12, 14])
    }
}
