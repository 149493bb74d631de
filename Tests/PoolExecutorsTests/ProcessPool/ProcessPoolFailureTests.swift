import Foundation
import PoolExecutors
import Testing

@Suite(.serialized, .timeLimit(.minutes(10)))
struct ProcessPoolFailureTests {
    @Test(arguments: [13, -1, -2])
    func aCrashingTaskFailsAloneAndAReplacementRuns(poison: Int) throws {
        let pool = try fixturePool()
        defer { pool.shutdown() }
        let inputs = [1, 2, 3, poison, 5, 6, 7, 8]
        let futures = try inputs.map { try pool.submit(Crashy.self, $0) }
        for (input, future) in zip(inputs, futures) where input != poison {
            #expect(try future.result() == input)
        }
        let error = try #require(throws: PoolError.self) { try futures[3].result() }
        #expect(error.code == .workerCrashed)
        #expect(error.inputIndexes == [0])
        #expect(error.processID != nil)
        switch poison {
        case 13: #expect(error.processExit == .signaled(SIGKILL))
        case -2: #expect(error.processExit == .exited(7))
        default: #expect(error.processExit != nil)
        }
        #expect(error.message.contains("Crashy"))
        // The pool recovered: later work runs on a replacement worker.
        #expect(try pool.map(Square.self, Array(0..<50)) == (0..<50).map { $0 * $0 })
    }

    @Test func aCrashInsideAChunkFailsOnlyThatItem() throws {
        let pool = try fixturePool(workers: 1)
        defer { pool.shutdown() }
        let inputs = Array(0..<40)  // 13 is in the middle of the second chunk of 10
        var outcomes: [Int: Result<Int, any Error>] = [:]
        for item in try pool.mapUnordered(Crashy.self, inputs, chunkSize: 10).blocking {
            outcomes[item.index] = item.result
        }
        #expect(outcomes.count == 40)
        for (index, outcome) in outcomes {
            if index == 13 {
                guard case .failure(let error as PoolError) = outcome else {
                    Issue.record("item 13 should fail with a PoolError")
                    continue
                }
                #expect(error.code == .workerCrashed)
                #expect(error.inputIndexes == [13])
            } else if case .success(let value) = outcome {
                // Items 10...12 finished before the crash: delivered from the worker's log.
                #expect(value == index)
            } else {
                Issue.record("item \(index) failed unexpectedly: \(outcome)")
            }
        }
    }

    @Test func aHangingTaskTimesOutAndItsWorkerIsReplaced() throws {
        let pool = try fixturePool(workers: 1) { $0.taskTimeout = .milliseconds(300) }
        defer { pool.shutdown() }
        let hung = try pool.submit(Nap.self, 60_000)
        let after = try pool.submit(Echo.self, 5)
        let error = try #require(throws: PoolError.self) { try hung.result() }
        #expect(error.code == .taskTimedOut)
        #expect(error.processExit == .signaled(SIGKILL))
        #expect(try after.result() == 5)
    }

    @Test func idempotentTasksAreRetriedAfterACrash() throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("crash-once-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let pool = try fixturePool(workers: 1) { $0.retries = 1 }
        defer { pool.shutdown() }
        #expect(try pool.submit(CrashOnce.self, marker).result() == marker)
        // Without retries the same crash is reported.
        let strict = try fixturePool(workers: 1)
        defer { strict.shutdown() }
        let second = marker + "-strict"
        defer { try? FileManager.default.removeItem(atPath: second) }
        #expect(throws: PoolError.self) { try strict.submit(CrashOnce.self, second).result() }
    }

    @Test func recyclingReplacesWorkersAfterMaxTasks() throws {
        let pool = try fixturePool(workers: 1) { $0.maxTasksPerWorker = 5 }
        defer { pool.shutdown() }
        let pids = try (0..<15).map { try pool.submit(WhoAmI.self, $0).result() }
        #expect(Set(pids).count == 3)
        #expect(Set(pids.prefix(5)).count == 1)
    }

    @Test func terminateKillsWorkersAndFailsPendingWork() throws {
        let pool = try fixturePool(workers: 1)
        let running = try pool.submit(Nap.self, 60_000)
        let queued = try pool.submit(Echo.self, 1)
        #expect(eventually { running.isRunning })
        let pids = pool.workerProcessIDs
        #expect(pids.count == 1)
        pool.terminate()
        #expect(throws: PoolError.self) { try running.result() }
        #expect(throws: PoolError.self) { try queued.result() }
        #expect(pids.allSatisfy(processIsGone))
    }

    @Test func missingEntryGuardIsDiagnosed() throws {
        for mode in ["no-guard-pool", "no-guard-exit"] {
            let pool = try fixturePool(workers: 1, mode: mode)
            defer { pool.shutdown() }
            let error = try #require(throws: PoolError.self, "mode \(mode)") { try pool.submit(Echo.self, 1).result() }
            #expect(error.code == .workerStartFailed, "mode \(mode)")
            #expect(error.message.contains("WorkerEntry.runIfWorker"), "mode \(mode): \(error.message)")
        }
    }

    @Test func aSilentWorkerHitsTheStartTimeout() throws {
        let pool = try fixturePool(workers: 1, mode: "no-guard-hang") { $0.startTimeout = .milliseconds(500) }
        defer { pool.shutdown() }
        let error = try #require(throws: PoolError.self) { try pool.submit(Echo.self, 1).result() }
        #expect(error.code == .workerStartFailed)
        #expect(error.message.contains("did not answer"))
    }

    @Test func aDifferentBuildIsRefused() throws {
        // The fixture is a different binary from this test bundle.
        let pool = try fixturePool(workers: 1) { $0.executable = .path(fixturePath, requireSameBuild: true) }
        defer { pool.shutdown() }
        let error = try #require(throws: PoolError.self) { try pool.submit(Echo.self, 1).result() }
        #expect(error.code == .workerStartFailed)
        #expect(error.message.contains("different build"))
    }

    @Test func aWorkerCannotStartAPoolOfItsOwn() throws {
        let pool = try fixturePool(workers: 1)
        defer { pool.shutdown() }
        let error = try #require(throws: RemoteTaskError.self) { try pool.submit(Nested.self, 1).result() }
        #expect(error.message.contains("cannot be created inside a worker"))
    }
}

@Suite(.serialized, .timeLimit(.minutes(10)))
struct ProcessHygieneTests {
    @Test func killingTheParentLeavesNoWorkers() throws {
        let (parent, pids, line) = try startFixtureParent(["parent"])
        #expect(pids.count == 2, "fixture said: \(line)")
        kill(parent.processIdentifier, SIGKILL)
        parent.waitUntilExit()
        #expect(eventually(seconds: 60) { pids.allSatisfy(processIsGone) }, "workers \(pids) outlived their parent")
    }

    /// Run in a fixture process of its own: this test process's descriptors and children are
    /// shared with every suite running alongside.
    @Test func twoHundredPoolsLeaveNoZombieAndNoDescriptor() throws {
        let fields = try fixtureParentReport(["cycles", "200"])
        #expect(fields.count == 5 && fields[0] == "descriptors" && fields[3] == "zombies", "\(fields)")
        guard fields.count == 5, let before = Int(fields[1]), let after = Int(fields[2]) else { return }
        #expect(before > 0 && after == before, "descriptors before \(before), after \(after)")
        #expect(fields[4] == "0", "unreaped children: \(fields)")
    }
}
