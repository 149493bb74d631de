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
        // 190..<271 queued behind it, cut when the judged one ends.
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
        // The batch queued behind the judged one is cut at what its threads had begun (all of
        // it, when they had claimed every item before the cut); nothing later starts.
        #expect(batches == 3, "the trial ended after \(batches) batches")
        #expect(next > 180 && next < 290, "\(next)")
        #expect(delivered == Array(0..<next))
        let calls = LoggedCalls.calls.withLock { $0 }
        #expect(calls.count == next && Set(calls) == Set(0..<next), "an input ran twice, or past the stop")
    }

    @Test(
        "threads standing in for processes are judged once, on the wall clock, at their first judged window",
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
            // The first batch (a tenth of the job) is the first window; the one queued behind
            // it is cut at what its threads had begun, which may be nothing yet.
            #expect(next >= 100 && next < 1000, "\(next)")
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

    @Test("a serial batch cut before it is waited for runs nothing, and delivers no failure")
    func truncatedBatches() throws {
        LoggedCalls.calls.withLock { $0 = [] }
        let serial = Executor(plan: ExecutionPlan(mode: .serial, workers: 1))
        defer { serial.shutdown() }
        let cut = serial.startBatch(LoggedCalls.self, Array(0..<10), 2..<6, progress: nil)
        cut.truncate()
        let (none, noFailure) = cut.wait()
        #expect(none.isEmpty && noFailure == nil)
        #expect(LoggedCalls.calls.withLock { $0 }.isEmpty, "a cut serial batch ran")
        // The same inputs, not cut, run as usual on the same executor.
        let whole = serial.startBatch(LoggedCalls.self, Array(0..<10), 2..<6, progress: nil)
        let (outputs, failure) = whole.wait()
        #expect(outputs == [2, 3, 4, 5] && failure == nil)
        #expect(LoggedCalls.calls.withLock { $0 } == [2, 3, 4, 5])
    }

    @Test(
        "a thread batch still running is judged for idle cores while the next batch has work no thread took, and only then",
        .enabled(if: Machine.usableCores >= 2, "one thread has no copy to queue behind")
    )
    func idleCoresWhileABatchRuns() {
        // A window that began 100 s ago, in which the pool's threads used 50 s of CPU: a
        // quarter of two cores, however long the test is held up before it is judged.
        let started = AutoExecutor.WindowStart(time: ContinuousClock.now - .seconds(100), cpu: 10.0, host: nil)
        var polls = 0
        let running = RunningBatch<Int>(
            wait: { ([], nil) }, cancel: {},
            waitsBriefly: { _ in
                polls += 1
                return polls > 3
            })
        var unclaimed = true
        let next = RunningBatch<Int>(wait: { ([], nil) }, cancel: {}, hasUnclaimedItems: { unclaimed })
        func judge(_ batch: RunningBatch<Int>, _ next: RunningBatch<Int>?, cpuRatio: Double = 1) -> Double? {
            polls = 0
            return AutoExecutor.idleWhileWaiting(
                for: batch, next, since: started, floor: 0.05, threads: 2, cpuRatio: cpuRatio, workersCPU: { 60 }
            )?.utilisation
        }
        let idle = judge(running, next)
        #expect(idle.map { abs($0 - 0.25) < 0.01 } == true, "\(String(describing: idle))")
        #expect(polls == 1, "judged at the first step past the window's floor")
        // Nothing left to take: threads idle at a job's end prove nothing; the batch is waited for.
        unclaimed = false
        #expect(judge(running, next) == nil)
        #expect(polls == 4)
        unclaimed = true
        // A task that mostly waits is not expected to keep the cores busy.
        #expect(judge(running, next, cpuRatio: 0.2) == nil)
        // No batch behind, or a pool that cannot wait briefly: nothing to judge.
        #expect(judge(running, nil) == nil)
        #expect(judge(RunningBatch<Int>(wait: { ([], nil) }, cancel: {}), next) == nil)
    }
}
