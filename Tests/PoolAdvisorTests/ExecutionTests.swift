import Foundation
import PoolAdvisor
import PoolAdvisorTestTasks
import PoolTestFixtures
import Testing

/// Process pools in these tests run the `pool-advisor-test-tool` executable, which registers
/// every reference workload, the mixed workload's stages and the tests' own tasks.
var advisorWorkers: ProcessPool.Configuration {
    var configuration = ProcessPool.Configuration(workers: 2)
    configuration.executable = .path(testToolPath)
    configuration.environment["SWIFT_BACKTRACE"] = "enable=no"
    return configuration
}

/// Short profiling, so the suite stays quick in a debug build.
var quickAuto: AutoExecutor.Options {
    var options = AutoExecutor.Options()
    options.sampleSize = 8
    options.maximumSampleSize = 8
    options.profiler.minimumCalls = 5
    options.profiler.minimumSeconds = 0.05
    options.profiler.maximumSeconds = 0.4
    options.processes = advisorWorkers
    return options
}

/// One plan per mode, with fixed and automatic chunks, for tests that run every mode.
let everyModePlan = [
    ExecutionPlan(mode: .serial), ExecutionPlan(mode: .threads, workers: 3, chunkSize: 7),
    ExecutionPlan(mode: .threads, workers: 2), ExecutionPlan(mode: .processes, workers: 2, chunkSize: 5),
    ExecutionPlan(mode: .pipeline, workers: 2, fetchWorkers: 3),
]

/// JSON with sorted keys: a struct's keys otherwise come out in an order that may differ between two encodings.
func encoded<Output: Encodable>(_ outputs: [Output]) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return try encoder.encode(outputs)
}

@Suite("Executor and AutoExecutor", .serialized, .timeLimit(.minutes(10)))
struct ExecutionTests {
    @Test("a Shared value in the inputs gives the serial outputs in every mode, the pipeline's included")
    func sharedValueInEveryMode() throws {
        let table = Shared((0..<50_000).map { Double($0 % 97) })
        let inputs = (0..<500).map { SharedRow(table: table, row: $0) }
        let expected = inputs.map(SumsSharedRow.run)
        for plan in everyModePlan {
            let executor = Executor(plan: plan, processes: advisorWorkers)
            #expect(try executor.map(SumsSharedRow.self, inputs) == expected, "\(plan.summary)")
            executor.shutdown()
        }
    }

    @Test("Executor runs every mode and gives the serial outputs, in order")
    func everyMode() throws {
        let inputs = TinyTask.inputs(count: 500)
        let expected = inputs.map(TinyTask.run)
        for plan in everyModePlan {
            let executor = Executor(plan: plan, processes: advisorWorkers)
            #expect(try executor.map(TinyTask.self, inputs) == expected, "\(plan.summary)")
            #expect(try executor.map(TinyTask.self, inputs.prefix(10)) == Array(expected.prefix(10)), "reused pools")
            executor.shutdown()
        }
        let mixed = WaitThenCompute.inputs(count: 12).map {
            FetchThenCompute(waitMicroseconds: 500, work: ComputeWork(seed: $0.work.seed, iterations: 20_000))
        }
        let serial = try mixed.map(WaitThenCompute.run)
        for stage in [DecisionMode.processes, .threads] {
            let executor = Executor(
                plan: ExecutionPlan(mode: .pipeline, workers: 2, fetchWorkers: 4, computeStage: stage),
                processes: advisorWorkers)
            #expect(try executor.map(WaitThenCompute.self, mixed) == serial, "pipeline computing on \(stage)")
            executor.shutdown()
        }
    }

    @Test("a fixed plan reads as English at the call site and is the plan its parts make")
    func fixedPlansReadAsEnglish() throws {
        #expect(ExecutionPlan.processes(workers: 2) == ExecutionPlan(mode: .processes, workers: 2))
        #expect(
            ExecutionPlan.threads(workers: 8, chunk: 16) == ExecutionPlan(mode: .threads, workers: 8, chunkSize: 16))
        #expect(ExecutionPlan.threads() == ExecutionPlan(mode: .threads))
        #expect(ExecutionPlan.serial == ExecutionPlan(mode: .serial, workers: 5), "a size serial does not take")
        let pipeline = ExecutionPlan.pipeline(fetchWorkers: 4, compute: .threads(workers: 2))
        #expect(pipeline == ExecutionPlan(mode: .pipeline, workers: 2, fetchWorkers: 4, computeStage: .threads))
        #expect(pipeline.summary == "pipeline 4 → threads × 2")
        #expect(
            (pipeline.mode, pipeline.workers, pipeline.fetchWorkers, pipeline.computeStage, pipeline.chunkSize)
                == (.pipeline, 2, 4, .threads, nil))
        // The flat form reports are written in, both ways.
        for plan in [ExecutionPlan.serial, .threads(workers: 3, chunk: 7), .processes(workers: 2), pipeline] {
            let data = try JSONEncoder().encode(plan)
            #expect(try JSONDecoder().decode(ExecutionPlan.self, from: data) == plan)
        }
        // A plan read from a file is input: sizes out of 1…1,000,000 and unknown modes are errors.
        for hostile in [
            #"{"mode":"threads","workers":2,"chunkSize":0}"#, #"{"mode":"threads","workers":-3}"#,
            #"{"mode":"processes","workers":99999999999}"#, #"{"mode":"pipeline","fetchWorkers":0}"#,
            #"{"mode":"fast","workers":2}"#,
        ] {
            #expect(throws: DecodingError.self, "\(hostile)") {
                try JSONDecoder().decode(ExecutionPlan.self, from: Data(hostile.utf8))
            }
        }
        let flat = #"{"mode":"processes","workers":2,"chunkSize":4,"fetchWorkers":1,"computeStage":"processes"}"#
        #expect(try JSONDecoder().decode(ExecutionPlan.self, from: Data(flat.utf8)) == .processes(workers: 2, chunk: 4))
        let executor = Executor(.processes(workers: 2), processes: advisorWorkers)
        defer { executor.shutdown() }
        #expect(executor.plan.summary == "processes × 2")
        let inputs = TinyTask.inputs(count: 40)
        #expect(try executor.map(TinyTask.self, inputs) == inputs.map(TinyTask.run))
        #expect(Executor(.serial).plan.summary == "serial")
    }

    @Test("Executor reports a failing input's index in every mode")
    func failures() throws {
        let inputs = [1, 2, -1, 4, -5, 6]
        let plans = [
            ExecutionPlan(mode: .serial), ExecutionPlan(mode: .threads, workers: 2),
            ExecutionPlan(mode: .pipeline, workers: 2, fetchWorkers: 2),
        ]
        for plan in plans {
            let executor = Executor(plan: plan)
            do {
                _ = try executor.map(NoNegatives.self, inputs)
                Issue.record("\(plan.summary): no error")
            } catch let error as MapError {
                #expect(error.index == 2, "\(plan.summary)")
            }
            executor.shutdown()
        }
    }

    static let sizes: [String: Int] = [
        "cpu": 24, "sleep": 40, "pipe-read": 40, "disk-fsync": 16, "blocking-lock": 24, "spinning-mutex": 24,
        "atomic-counter": 24, "allocation": 24, "mixed": 20, "large-payload": 10, "shared-table": 12,
        "tiny": 3_000,
    ]

    @Test(
        "AutoExecutor returns exactly the serial outputs in order, profiled ones included",
        arguments: ReferenceWorkloads.all.map { $0.workloadName })
    func autoMatchesSerial(_ name: String) throws {
        let workload = try #require(ReferenceWorkloads.named(name))
        if contendedWorkloadNames.contains(name) {
            // Their lock or atomic is process-wide: not while the profiler suite measures it.
            try withContendedWorkloads { try check(workload, count: Self.sizes[name] ?? 20) }
        } else {
            try check(workload, count: Self.sizes[name] ?? 20)
        }
    }

    private func check<Workload: ReferenceWorkload>(_ workload: Workload.Type, count: Int) throws {
        let inputs = Workload.inputs(count: count)
        let expected = try inputs.map { try Workload.run($0) }
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: quickAuto)
        let run = try auto.run(Workload.self, inputs)
        #expect(try encoded(run.outputs) == encoded(expected), "\(run.recommendation?.summary ?? "serial")")
        // Up to 16 calls timed alone, then the sample of 8; calls of a microsecond are also timed
        // as a group of about 2 ms, whose outputs are kept as well.
        let bound = Workload.self == TinyTask.self ? count : 16 + 8
        #expect(run.profiledItems > 0 && run.profiledItems <= bound, "\(run.profiledItems)")
        #expect(run.recommendation != nil)
        #expect(run.profile?.task == Workload.name)
    }

    @Test("AutoExecutor stops at a failure among the profiled inputs and names its index")
    func autoFailure() throws {
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: quickAuto)
        do {
            _ = try auto.run(NoNegatives.self, [5, 5, -1, 5, 5, 5])
            Issue.record("no error")
        } catch let error as MapError {
            #expect(error.index == 2)
        }
        #expect(try auto.map(NoNegatives.self, [7]) == [7])
        #expect(try auto.map(NoNegatives.self, [Int]()) == [])
    }

    @Test("AutoExecutor switches mode when the workload drifts from its profile, and says so")
    func drift() throws {
        var options = quickAuto
        options.watchSeconds = 0.001  // the smallest batches: two chunks per worker
        options.minimumBatchSeconds = 0.001
        // Every batch is its own window: with longer windows, the sleeping batches and the first
        // computing one can fall into one window on a loaded host, and the reference already
        // holds the drift.
        options.driftMinimumSeconds = 0.000_001
        // Two plain rules keep the test about switching, not about how this build scales.
        let rules = try RuleSet(
            source: """
                rule waits priority 1 when cpu_ratio < 0.3 then threads workers = 64
                rule computes when true then threads workers = 2
                """, schema: AdvisorFacts.schema, actions: DecisionMode.actions)
        let auto = AutoExecutor(advisor: Advisor(rules: rules, machine: testMachine), options: options)
        let inputs = Array(0..<600)
        let run = try auto.run(DriftingTask.self, inputs)
        #expect(run.outputs == inputs.map(DriftingTask.run))
        #expect(run.switches.count >= 1)
        let first = try #require(run.switches.first)
        #expect(first.from.mode == .threads && first.from.workers == 64)
        #expect(first.to.mode == .threads && first.to.workers == 2)
        #expect(first.reason.contains("the best so far"))
        #expect(first.atIndex > 300)
    }
}
