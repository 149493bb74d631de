import Foundation
import PoolAdvisor
import PoolAdvisorTestTasks
import Testing

/// Inputs whose first call returns only after five others were called, so they finish behind it,
/// and whose second fails: a job that stops at that failure has finished work to keep.
private func slowFirstFailingSecond(_ count: Int, log: String) -> [LoggedCall] {
    var inputs = LoggedCall.series(count, log: log, failAt: 1, work: 300_000)
    inputs[0].waitsForCalls = 6
    return inputs
}

/// A job stopped early (at a failure, on a signal) delivers every input that started, once,
/// and starts no more: nothing finished is lost, so a resumed job never runs it twice.
@Suite("JobStop: a stopped job keeps what it ran", .serialized, .timeLimit(.minutes(10)))
struct JobStopTests {
    @Test(
        "Executor: a stop at a failure starts no more inputs and delivers every one that started, in order",
        arguments: [ExecutionPlan.threads(workers: 3, chunk: 1), .processes(workers: 3, chunk: 1), .serial])
    func executorKeepsWhatStarted(_ plan: ExecutionPlan) throws {
        let count = 2000
        let log = newLog()
        let executor = Executor(plan: plan, processes: advisorWorkers)
        defer { executor.shutdown() }
        let stop = JobStop()
        var delivered: [Int] = []
        var failed: [Int] = []
        // Serially nothing runs beside the first call: it must not wait for others.
        let inputs =
            plan.mode == .serial
            ? LoggedCall.series(count, log: log, failAt: 1, work: 300_000) : slowFirstFailingSecond(count, log: log)
        try executor.forEachResult(of: AppendCall.self, inputs, stopping: stop) {
            index, result in
            delivered.append(index)
            if case .failure = result {
                failed.append(index)
                stop.stop()
            }
        }
        let counts = calls(in: log)
        #expect(stop.isStopped)
        #expect(failed == [1])
        #expect(delivered == delivered.sorted(), "in input order")
        #expect(Set(delivered) == Set(counts.keys), "every input that started was delivered, and no other")
        #expect(delivered.count == Set(delivered).count, "each once")
        #expect(counts.values.allSatisfy { $0 == 1 }, "each input ran once")
        #expect(delivered.count < count, "the stop took effect: \(delivered.count) of \(count) ran")
        if plan.mode != .serial {
            #expect(delivered.count >= 6, "the inputs that finished behind the first were kept")
        }
    }

    @Test("Executor.forEachOutput: a stop from another thread ends the job with a prefix of outputs, each once")
    func forEachOutputStopsFromOutside() throws {
        let log = newLog()
        let executor = Executor(plan: .threads(workers: 2, chunk: 1), processes: advisorWorkers)
        defer { executor.shutdown() }
        let stop = JobStop()
        var delivered: [Int] = []
        try executor.forEachOutput(
            of: AppendCall.self, LoggedCall.series(5000, log: log, work: 300_000), stopping: stop
        ) { index, output in
            #expect(index == output)
            delivered.append(index)
            if delivered.count == 20 {
                // Another thread, as a signal watcher would.
                let thread = Thread { stop.stop() }
                thread.start()
            }
        }
        let counts = calls(in: log)
        #expect(delivered == Array(0..<delivered.count), "a prefix, in order")
        #expect(Set(counts.keys) == Set(delivered))
        #expect(counts.values.allSatisfy { $0 == 1 })
        #expect(delivered.count >= 20 && delivered.count < 5000)
    }

    @Test("AutoExecutor: a stop from the output callback ends the run at a prefix holding every input that ran")
    func autoKeepsWhatStarted() throws {
        let log = newLog()
        let count = 3000
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: quickAuto)
        let stop = JobStop()
        var delivered: [Int] = []
        _ = try auto.run(
            Recorded<AppendCall>.self, LoggedCall.series(count, log: log, failAt: 400, work: 200_000),
            stopping: stop
        ) { index, call in
            delivered.append(index)
            if call.failure != nil { stop.stop() }
        }
        let counts = calls(in: log)
        #expect(delivered == Array(0..<delivered.count), "a prefix, in order")
        #expect(delivered.count > 400, "the failing input was delivered")
        #expect(Set(counts.keys) == Set(delivered), "every input that ran was delivered")
        #expect(counts.values.allSatisfy { $0 == 1 })
    }

    @Test(
        "A recorded task's crash fails its input alone, in auto mode (profile or batches) and on a fixed process plan",
        arguments: [3, 150])
    func crashIsTheItemsAlone(_ failing: Int) throws {
        let count = 200
        let log = newLog()
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: quickAuto)
        let run = try auto.run(Recorded<CrashingCall>.self, LoggedCall.series(count, log: log, failAt: failing))
        #expect(run.outputs.count == count)
        for (index, call) in run.outputs.enumerated() {
            if index == failing {
                #expect(call.output == nil)
                #expect(call.failure?.contains("worker") == true, "\(call.failure ?? "no failure")")
                #expect(call.started == nil && call.worker == nil, "the call's record died with its worker")
            } else {
                #expect(call.output == index && call.failure == nil, "\(index): \(call.failure ?? "")")
            }
        }
        #expect(calls(in: log) == Dictionary(uniqueKeysWithValues: (0..<count).map { ($0, 1) }))

        let fixed = newLog()
        let executor = Executor(plan: .processes(workers: 2, chunk: 4), processes: advisorWorkers)
        defer { executor.shutdown() }
        var results: [Int: String?] = [:]
        try executor.forEachResult(of: Recorded<CrashingCall>.self, LoggedCall.series(40, log: fixed, failAt: 7)) {
            index, result in
            results[index] = try result.get().failure
        }
        #expect(results.count == 40)
        #expect(results.filter { $0.value != nil }.map(\.key) == [7])
        #expect(calls(in: fixed).values.allSatisfy { $0 == 1 })
    }
}

extension JobStopTests {
    @Test("A worker that dies after the stop hands back its unstarted items as not started: the job ends")
    func deathAfterStopEnds() throws {
        let log = newLog()
        // Inputs 5 and 9 crash, in different batches of 4: the first crash stops the job; the
        // second may come after the stop, with unstarted items behind it in its batch.
        let inputs = (0..<400).map { LoggedCall(log: log, index: $0, failAt: [5, 9].contains($0) ? $0 : nil) }
        let executor = Executor(plan: .processes(workers: 2, chunk: 4), processes: advisorWorkers)
        defer { executor.shutdown() }
        let stop = JobStop()
        var delivered: [Int] = []
        try executor.forEachResult(of: Recorded<CrashingCall>.self, inputs, stopping: stop) { index, result in
            delivered.append(index)
            if (try? result.get())?.failure != nil { stop.stop() }
        }
        let counts = calls(in: log)
        #expect(stop.isStopped)
        #expect(
            Set(delivered) == Set(counts.keys),
            "every input that ran was delivered: \(delivered.count) delivered, \(counts.count) ran, missing \(Set(counts.keys).subtracting(delivered).sorted()), extra \(Set(delivered).subtracting(counts.keys).sorted())"
        )
        #expect(counts.values.allSatisfy { $0 == 1 })
    }
}
