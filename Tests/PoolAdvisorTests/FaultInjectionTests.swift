import Foundation
import PoolAdvisor
import PoolTestFixtures
import Testing

/// The fixture worker built beside this bundle: it serves the fault tasks, and with `cli` as
/// its first argument it is the pool-advisor command line with those tasks registered.
let fixtureWorkerPath: String = {
    let bundle =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("pool-test-worker").path
}()

/// The fault-injection suite for the executors and the command line: a worker that dies fails
/// exactly its item, every output before the lowest failing input is delivered in order, and
/// each input runs once.
@Suite(.timeLimit(.minutes(10)))
struct ExecutorFaultInjectionTests {
    static let itemNanoseconds = FaultPlan.itemNanoseconds
    static let faults = FaultPlan.faults

    /// A ``FaultPlan`` (read through) with the checks these APIs share.
    @dynamicMemberLookup struct Job {
        let plan: FaultPlan

        init(fault: Fault, spin: Int) { plan = FaultPlan(fault: fault, spin: spin) }

        subscript<Value>(dynamicMember path: KeyPath<FaultPlan, Value>) -> Value { plan[keyPath: path] }

        /// Runs the fixture CLI's `run` on the job's inputs.
        func run(_ task: String, _ options: [String]) throws -> CommandResult {
            let inputs = try temporaryFile("faults.jsonl", plan.jsonLines)
            return try runCommand(
                ["cli", "run", task, "--inputs", inputs] + options, environment: ["FAULT_LOG": plan.log.path],
                executable: fixtureWorkerPath)
        }

        /// What `run` must have done when it met the first faulty line.
        func expectStoppedAtFirstFault(
            _ result: CommandResult, sourceLocation: Testing.SourceLocation = #_sourceLocation
        ) {
            #expect(result.status == 1, sourceLocation: sourceLocation)
            #expect(
                result.output == (0..<plan.firstFaulty).map { "\($0 * 2)\n" }.joined(), sourceLocation: sourceLocation)
            #expect(
                result.error.contains(":\(plan.firstFaulty + 1): the task failed"), "\(result.error)",
                sourceLocation: sourceLocation)
            #expect(
                result.error.contains("on input \(plan.firstFaulty) "), "\(result.error)",
                sourceLocation: sourceLocation)
            #expect(
                result.error.contains("the \(plan.firstFaulty) outputs before it"), "\(result.error)",
                sourceLocation: sourceLocation)
            expectRanOnceUpToFirstFault(sourceLocation: sourceLocation)
        }

        var workers: ProcessPool.Configuration {
            var configuration = ProcessPool.Configuration(workers: 2)
            configuration.executable = .path(fixtureWorkerPath)
            configuration.environment["SWIFT_BACKTRACE"] = "enable=no"
            configuration.environment["FAULT_LOG"] = plan.log.path
            if plan.fault == .hang { configuration.taskTimeout = .seconds(2) }
            return configuration
        }

        /// The failure names the first faulty input and why it failed.
        func expectFirstFault(_ error: MapError?, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
            #expect(error?.index == plan.firstFaulty, sourceLocation: sourceLocation)
            guard let cause = error?.error as? PoolError else {
                Issue.record("expected a PoolError, got \(String(describing: error))", sourceLocation: sourceLocation)
                return
            }
            #expect(
                cause.code == (plan.fault == .hang ? .taskTimedOut : .workerCrashed), sourceLocation: sourceLocation)
            #expect(cause.inputIndexes == [plan.firstFaulty], sourceLocation: sourceLocation)
        }

        /// No input ran twice, and every input up to the first faulty one ran.
        func expectRanOnceUpToFirstFault(sourceLocation: Testing.SourceLocation = #_sourceLocation) {
            let calls = plan.log.calls()
            #expect(calls.count == Set(calls).count, "an input ran twice", sourceLocation: sourceLocation)
            #expect(Set(0...plan.firstFaulty).isSubset(of: Set(calls)), sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: faults, itemNanoseconds)
    func executorDeliversEveryOutputBeforeTheFirstFault(fault: Fault, spin: Int) throws {
        withMachineLoad {
            let job = Job(fault: fault, spin: spin)
            defer { job.log.remove() }
            let executor = Executor(plan: ExecutionPlan(mode: .processes, workers: 2), processes: job.workers)
            defer { executor.shutdown() }
            var handed: [Int] = []
            let error = #expect(throws: MapError.self) {
                try executor.forEachOutput(of: Faulty.self, job.inputs) { index, output in
                    #expect(output == index * 2)
                    handed.append(index)
                }
            }
            #expect(handed == Array(0..<job.firstFaulty))
            job.expectFirstFault(error)
            // Items already running when the job stopped still finish (their outputs unused):
            // wait for them, so that the second job's log holds its own calls only.
            executor.shutdown()
            job.expectRanOnceUpToFirstFault()
            job.log.remove()
            let mapped = #expect(throws: MapError.self) { try executor.map(Faulty.self, job.inputs) }
            job.expectFirstFault(mapped)
            job.expectRanOnceUpToFirstFault()
        }
    }

    /// A crash-prone task under auto mode: profiled and run in workers, so the host survives
    /// and the error names the first faulty input, with every output before it handed over.
    @Test(arguments: faults, itemNanoseconds)
    func autoExecutorDeliversEveryOutputBeforeTheFirstFault(fault: Fault, spin: Int) throws {
        withMachineLoad {
            let job = Job(fault: fault, spin: spin)
            defer { job.log.remove() }
            var options = AutoExecutor.Options()
            options.sampleSize = 8
            options.profiler.minimumSeconds = 0.05
            options.profiler.maximumSeconds = 0.3
            options.processes = job.workers
            let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: options)
            var handed: [Int] = []
            let error = #expect(throws: MapError.self) {
                try auto.run(CrashProneFaulty.self, job.inputs) { index, output in
                    #expect(output == index * 2)
                    handed.append(index)
                }
            }
            #expect(handed == Array(0..<job.firstFaulty))
            #expect(error?.index == job.firstFaulty)
            job.expectRanOnceUpToFirstFault()
        }
    }

    /// Auto mode keeps every call in workers for a crash-prone task, and for any task once a
    /// timeout is set (only a worker can be stopped).
    @Test(arguments: [Fault.sigkill, .fatalError, .exit, .hang], [0, 3_000_000])
    func autoRunWritesEveryOutputBeforeTheFailingLine(fault: Fault, spin: Int) throws {
        try withMachineLoad {
            let job = Job(fault: fault, spin: spin)
            defer { job.log.remove() }
            let result =
                fault == .hang
                ? try job.run("PoolTestFixtures.Faulty", ["--timeout", "2"])
                : try job.run("PoolTestFixtures.CrashProneFaulty", [])
            job.expectStoppedAtFirstFault(result)
        }
    }

    @Test(arguments: faults, itemNanoseconds)
    func runWritesEveryOutputBeforeTheFailingLine(fault: Fault, spin: Int) throws {
        try withMachineLoad {
            let job = Job(fault: fault, spin: spin)
            defer { job.log.remove() }
            let timeout = fault == .hang ? ["--timeout", "2"] : []
            let result = try job.run("PoolTestFixtures.Faulty", ["--mode", "processes", "--workers", "2"] + timeout)
            job.expectStoppedAtFirstFault(result)
            if fault == .hang { #expect(result.error.contains("exceeded the task timeout"), "\(result.error)") }
        }
    }

    @Test func aTimeoutOnThreadsIsRefusedBeforeAnyWork() throws {
        let job = Job(fault: .hang, spin: 0)
        defer { job.log.remove() }
        let result = try job.run("PoolTestFixtures.Faulty", ["--mode", "threads", "--timeout", "1"])
        #expect(result.status == 2)
        #expect(result.error.contains("--timeout needs worker processes"), "\(result.error)")
        #expect(job.log.calls().isEmpty)
    }
}
