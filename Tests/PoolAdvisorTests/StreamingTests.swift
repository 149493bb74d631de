import Foundation
import PoolAdvisor
import Testing

/// Fails for negative inputs: -1 after a 100 ms wait, any other negative at once.
struct SlowAndFastFailures: PoolTask {
    struct Failed: Error, Equatable { let input: Int }
    static func run(_ input: Int) throws -> Int {
        if input == -1 { usleep(100_000) }
        if input < 0 { throw Failed(input: input) }
        return input * 2
    }
}

/// What a delivery callback saw, collected from one thread.
private final class Seen {
    var indices: [Int] = []
    var outputs: [UInt64] = []
}

@Suite("Outputs streamed in input order", .serialized, .timeLimit(.minutes(10)))
struct StreamingTests {
    @Test("Executor.forEachOutput hands over every output once, in input order, in every mode")
    func forEachOutputInOrder() throws {
        let inputs = TinyTask.inputs(count: 400)
        let expected = inputs.map(TinyTask.run)
        for plan in everyModePlan {
            let executor = Executor(plan: plan, processes: advisorWorkers)
            defer { executor.shutdown() }
            let seen = Seen()
            let progress = ProgressCounter()
            try executor.forEachOutput(of: TinyTask.self, inputs, progress: progress) { index, output in
                seen.indices.append(index)
                seen.outputs.append(output)
            }
            #expect(seen.indices == Array(0..<400), "\(plan.summary)")
            #expect(seen.outputs == expected, "\(plan.summary)")
            #expect(progress.completed == 400, "\(plan.summary)")
        }
        let mixed = (0..<10).map {
            FetchThenCompute(waitMicroseconds: 300, work: ComputeWork(seed: UInt64($0), iterations: 10_000))
        }
        let executor = Executor(
            plan: ExecutionPlan(mode: .pipeline, workers: 2, fetchWorkers: 3), processes: advisorWorkers)
        defer { executor.shutdown() }
        let seen = Seen()
        try executor.forEachOutput(of: WaitThenCompute.self, mixed) { index, output in
            seen.indices.append(index)
            seen.outputs.append(output)
        }
        #expect(seen.indices == Array(0..<10))
        #expect(seen.outputs == (try mixed.map(WaitThenCompute.run)))
    }

    @Test("A failure is reported at the lowest failing index, after every output before it, whatever finished first")
    func lowestFailureWins() throws {
        // Index 3 fails after 100 ms; index 6 fails at once, while index 3 still sleeps.
        let inputs = [0, 1, 2, -1, 4, 5, -2, 7, 8, 9]
        for plan in [ExecutionPlan(mode: .threads, workers: 2, chunkSize: 1), ExecutionPlan(mode: .serial)] {
            let executor = Executor(plan: plan)
            defer { executor.shutdown() }
            var delivered: [Int] = []
            let error = try #require(throws: MapError.self, "\(plan.summary)") {
                try executor.forEachOutput(of: SlowAndFastFailures.self, inputs) { index, _ in delivered.append(index) }
            }
            #expect(error.index == 3, "\(plan.summary)")
            #expect((error.error as? SlowAndFastFailures.Failed) == .init(input: -1), "\(plan.summary)")
            #expect(delivered == [0, 1, 2], "\(plan.summary)")
            // The array form on threads stops at the first failure it sees, which may be either.
            let again = try #require(throws: MapError.self) {
                try executor.map(SlowAndFastFailures.self, inputs)
            }
            #expect(plan.mode == .serial ? again.index == 3 : [3, 6].contains(again.index), "\(plan.summary)")
        }
    }

    @Test("An error thrown while handling an output stops the job and comes back as it is")
    func handlerErrorStops() throws {
        struct Full: Error {}
        let executor = Executor(plan: ExecutionPlan(mode: .threads, workers: 2))
        defer { executor.shutdown() }
        var handled = 0
        #expect(throws: Full.self) {
            try executor.forEachOutput(of: TinyTask.self, TinyTask.inputs(count: 5_000)) { index, _ in
                handled += 1
                if index == 9 { throw Full() }
            }
        }
        #expect(handled == 10)
        // The pool is still usable afterwards.
        #expect(
            try executor.map(TinyTask.self, TinyTask.inputs(count: 20)) == TinyTask.inputs(count: 20).map(TinyTask.run))
    }

    @Test(
        "AutoExecutor's streaming form hands over the serial outputs in order, profiled ones first; tiny calls keep a long sample"
    )
    func autoStreams() throws {
        let inputs = TinyTask.inputs(count: 3_000)
        var options = quickAuto
        options.maximumSampleSize = 100_000
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: options)
        let seen = Seen()
        let report = try auto.run(TinyTask.self, inputs) { index, output in
            seen.indices.append(index)
            seen.outputs.append(output)
        }
        #expect(seen.indices == Array(0..<3_000))
        #expect(seen.outputs == inputs.map(TinyTask.run))
        #expect(report.recommendation != nil)
        // Calls this short get a sample as long as the profiler's serial phase reaches, and
        // every output it computed is kept: far more than the 8 + 16 a fixed sample would give.
        #expect(report.profiledItems > 16 + 8, "\(report.profiledItems)")

        struct Enough: Error {}
        var count = 0
        #expect(throws: Enough.self) {
            _ = try auto.run(TinyTask.self, inputs) { index, _ in
                count += 1
                if index == 1_500 { throw Enough() }
            }
        }
        #expect(count == 1_501)
    }
}
