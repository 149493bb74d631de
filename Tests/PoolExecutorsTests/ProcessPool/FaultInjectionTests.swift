import Foundation
import PoolExecutors
import PoolTestFixtures
import Testing

/// The fault-injection suite: every way a worker can die, through every process-pool API, at
/// item lengths from about a microsecond to a few milliseconds. Each case asserts exactly what
/// was delivered, what failed, which input each failure names and how often each input ran.
@Suite(.timeLimit(.minutes(10)))
struct FaultInjectionTests {
    static let itemNanoseconds = FaultPlan.itemNanoseconds
    static let faults = FaultPlan.faults

    /// One job (a ``FaultPlan``, read through) with the checks the pool APIs share.
    @dynamicMemberLookup struct Job {
        let plan: FaultPlan

        init(fault: Fault, spin: Int) { plan = FaultPlan(fault: fault, spin: spin) }

        subscript<Value>(dynamicMember path: KeyPath<FaultPlan, Value>) -> Value { plan[keyPath: path] }

        func configuration(workers: Int = 2) -> ProcessPool.Configuration {
            fixtureConfiguration(workers: workers) {
                $0.environment["FAULT_LOG"] = plan.log.path
                // Long enough that no innocent item on a loaded machine comes near it.
                if plan.fault == .hang { $0.taskTimeout = .seconds(2) }
            }
        }

        /// Checks one failure: the right code, the input index, the worker's end.
        func expectFault(_ error: any Error, index: Int, sourceLocation: SourceLocation = #_sourceLocation) {
            guard let error = error as? PoolError else {
                Issue.record("input \(index) failed with \(error), not a PoolError", sourceLocation: sourceLocation)
                return
            }
            #expect(error.inputIndexes == [index], sourceLocation: sourceLocation)
            #expect(error.message.contains("Faulty"), sourceLocation: sourceLocation)
            switch plan.fault {
            case .hang:
                #expect(error.code == .taskTimedOut, sourceLocation: sourceLocation)
            case .sigkill:
                #expect(error.code == .workerCrashed, sourceLocation: sourceLocation)
                #expect(error.processExit == .signaled(SIGKILL), sourceLocation: sourceLocation)
            case .segfault:
                #expect(error.code == .workerCrashed, sourceLocation: sourceLocation)
                // Under ThreadSanitizer the worker's runtime catches the fault and exits 66.
                let sanitized = underThreadSanitizer && error.processExit == .exited(66)
                #expect(error.processExit == .signaled(SIGSEGV) || sanitized, sourceLocation: sourceLocation)
            case .exit:
                #expect(error.code == .workerCrashed, sourceLocation: sourceLocation)
                #expect(error.processExit == .exited(0), sourceLocation: sourceLocation)
            case .fatalError, .memoryLimit, .none:
                #expect(error.code == .workerCrashed, sourceLocation: sourceLocation)
                if case .signaled = error.processExit {
                } else if underThreadSanitizer && error.processExit == .exited(66) {
                    // ThreadSanitizer's runtime reports the failed allocation and exits 66.
                } else {
                    Issue.record(
                        "expected a signal, got \(String(describing: error.processExit))",
                        sourceLocation: sourceLocation)
                }
            }
        }

        /// Every input ran exactly once.
        func expectEachRanOnce(sourceLocation: SourceLocation = #_sourceLocation) {
            let calls = plan.log.calls()
            #expect(
                calls.count == plan.count, "\(calls.count) calls for \(plan.count) inputs",
                sourceLocation: sourceLocation)
            #expect(Set(calls) == Set(0..<plan.count), sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: faults, itemNanoseconds)
    func submitFailsExactlyTheFaultyItems(fault: Fault, spin: Int) throws {
        try withMachineLoad {
            let job = Job(fault: fault, spin: spin)
            defer { job.log.remove() }
            let pool = try ProcessPool(configuration: job.configuration())
            let futures = try job.inputs.map { try pool.submit(Faulty.self, $0) }
            for (index, future) in futures.enumerated() {
                if job.faulty.contains(index) {
                    let error = #expect(throws: (any Error).self) { try future.result() }
                    if let error {
                        // A single submission is input 0 of its own source.
                        job.expectFault(error, index: 0)
                    }
                } else {
                    #expect(try future.result() == index * 2)
                }
            }
            pool.shutdown()
            job.expectEachRanOnce()
        }
    }

    @Test(arguments: faults, itemNanoseconds)
    func mapUnorderedDeliversEveryFinishedItem(fault: Fault, spin: Int) throws {
        try withMachineLoad {
            let job = Job(fault: fault, spin: spin)
            defer { job.log.remove() }
            let pool = try ProcessPool(configuration: job.configuration())
            var delivered: [Int: Int] = [:]
            var failed: [Int: any Error] = [:]
            for item in try pool.mapUnordered(Faulty.self, job.inputs).blocking {
                #expect(delivered[item.index] == nil && failed[item.index] == nil, "input \(item.index) came twice")
                switch item.result {
                case .success(let value): delivered[item.index] = value
                case .failure(let error): failed[item.index] = error
                }
            }
            pool.shutdown()
            #expect(Set(failed.keys) == Set(job.faulty))
            #expect(delivered.count == job.count - job.faulty.count)
            for (index, value) in delivered { #expect(value == index * 2) }
            for (index, error) in failed { job.expectFault(error, index: index) }
            job.expectEachRanOnce()
        }
    }

    @Test(arguments: faults, itemNanoseconds)
    func mapReportsTheLowestFailingInput(fault: Fault, spin: Int) throws {
        try withMachineLoad {
            let job = Job(fault: fault, spin: spin)
            defer { job.log.remove() }
            let pool = try ProcessPool(configuration: job.configuration())
            let error = #expect(throws: MapError.self) { try pool.map(Faulty.self, job.inputs) }
            pool.shutdown()
            let first = job.faulty.min()!
            #expect(error?.index == first)
            if let error { job.expectFault(error.error, index: first) }
            // Every input up to the failing one ran once; none ran twice.
            let calls = job.log.calls()
            #expect(calls.count == Set(calls).count, "an input ran twice")
            #expect(Set(0...first).isSubset(of: Set(calls)))
        }
    }

    @Test(arguments: faults, itemNanoseconds)
    func pipelineFailsExactlyTheFaultyItems(fault: Fault, spin: Int) throws {
        try withMachineLoad {
            let job = Job(fault: fault, spin: spin)
            defer { job.log.remove() }
            let pipeline = try Pipeline(
                fetch: PassInput.self, compute: Faulty.self,
                configuration: .init(fetchWorkers: 2, compute: .processes(job.configuration())))
            var index = 0
            for result in pipeline.results(job.inputs) {
                switch result {
                case .success(let value):
                    #expect(!job.faulty.contains(index) && value == index * 2)
                case .failure(let error):
                    #expect(job.faulty.contains(index) && error.index == index && error.stage == .compute)
                    job.expectFault(error.error, index: index)
                }
                index += 1
            }
            pipeline.shutdown()
            #expect(index == job.count)
            job.expectEachRanOnce()
        }
    }
}

/// The pipeline's fetch stage: hands its input on (runs on threads, never in a worker).
struct PassInput: PoolTask {
    static func run(_ input: [Int]) -> [Int] { input }
}
