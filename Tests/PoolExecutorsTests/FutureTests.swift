import Testing

@testable import PoolExecutors

@Suite struct FutureTests {
    @Test func thrownErrorComesBackUnchanged() throws {
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        let future = try pool.submit { () throws -> Int in throw TestFailure(code: 42) }
        #expect(throws: TestFailure(code: 42)) { try future.result() }
        #expect(future.isDone)
        #expect(!future.isCancelled)
    }

    @Test func asyncValueMatchesBlockingResult() async throws {
        let pool = ThreadPool(workers: 2)
        let future = try await pool.submit { 6 * 7 }
        #expect(try await future.value == 42)
        #expect(try future.result() == 42)
        let failing = try await pool.submit { () throws -> Int in throw TestFailure(code: 7) }
        await #expect(throws: TestFailure(code: 7)) { try await failing.value }
        await pool.shutdown()
        #expect(pool.state.description == "terminated")
    }

    @Test func cancelBeforeStartNeverRunsTheWork() throws {
        let pool = ThreadPool(workers: 1)
        defer { pool.shutdown() }
        let gate = Gate()
        let ran = Counter()
        let blocker = try pool.submit { gate.wait() }
        let queued = try pool.submit { ran.increment() }
        #expect(queued.cancel())
        #expect(queued.isCancelled && queued.isDone)
        gate.open()
        #expect(try blocker.result())
        #expect(throws: CancellationError.self) { try queued.result() }
        pool.shutdown()
        #expect(ran.count == 0)
    }

    @Test func cancelOfRunningWorkIsRefusedAndTheWorkCompletes() throws {
        let pool = ThreadPool(workers: 1)
        defer { pool.shutdown() }
        let gate = Gate()
        let started = Gate()
        let running = try pool.submit { () -> Int in
            started.open()
            gate.wait()
            return 5
        }
        #expect(started.wait())
        #expect(running.isRunning)
        #expect(!running.cancel())
        gate.open()
        #expect(try running.result() == 5)
        #expect(!running.isCancelled)
    }

    @Test func getWithTimeoutReportsTimedOutAndLeavesTheWorkRunning() throws {
        let pool = ThreadPool(workers: 1)
        defer { pool.shutdown() }
        let gate = Gate()
        let future = try pool.submit { () -> Int in
            gate.wait()
            return 1
        }
        do {
            _ = try future.get(timeout: .milliseconds(20))
            Issue.record("get(timeout:) returned before the gate opened")
        } catch let error as PoolError {
            #expect(error.code == .timedOut)
        }
        gate.open()
        #expect(try future.get(timeout: .seconds(30)) == 1)
    }

    @Test func completionCallbacksRunOnceBeforeAndAfterCompletion() throws {
        let pool = ThreadPool(workers: 1)
        defer { pool.shutdown() }
        let gate = Gate()
        let seen = Locked<[Int]>([])
        let future = try pool.submit { () -> Int in
            gate.wait()
            return 9
        }
        future.whenComplete { result in seen.withLock { $0.append((try? result.get()) ?? -1) } }
        gate.open()
        _ = try future.result()
        future.whenComplete { result in seen.withLock { $0.append(((try? result.get()) ?? -1) * 10) } }
        #expect(seen.withLock { $0 } == [9, 90])
    }

    @Test func readyMadeFutures() async throws {
        #expect(try Future.succeeded(3).result() == 3)
        await #expect(throws: TestFailure(code: 1)) { try await Future<Int>.failed(TestFailure(code: 1)).value }
    }

    @Test func completionsOfFuturesDeliverEveryIndexOnce() throws {
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        let futures = try (0..<50).map { i in try pool.submit { i * i } }
        var seen = [Int: Int]()
        for item in Completions(of: futures).blocking {
            seen[item.index] = try item.get()
        }
        #expect(seen.count == 50)
        #expect(seen.allSatisfy { $0.value == $0.key * $0.key })
    }
}
