import Foundation
import PoolExecutors
import Testing

@Suite(.serialized, .timeLimit(.minutes(10)))
struct ProcessPoolBasicsTests {
    @Test func submitRoundTripsThroughAWorker() throws {
        let pool = try fixturePool()
        defer { pool.shutdown() }
        #expect(try pool.submit(Square.self, 12).result() == 144)
        #expect(try pool.submit(Echo.self, -5).result() == -5)
    }

    @Test(arguments: [nil, 1, 7, 1000] as [Int?])
    func mapKeepsInputOrder(chunkSize: Int?) throws {
        let pool = try fixturePool()
        defer { pool.shutdown() }
        let inputs = Array(0..<2_000)
        #expect(try pool.map(Square.self, inputs, chunkSize: chunkSize) == inputs.map { $0 * $0 })
        #expect(try pool.map(Square.self, [Int](), chunkSize: chunkSize) == [])
    }

    @Test func asyncMapAndUnorderedResults() async throws {
        let pool = try fixturePool()
        let inputs = Array(0..<300)
        #expect(try await pool.map(Echo.self, inputs) == inputs)
        var seen = Set<Int>()
        for await item in try pool.mapUnordered(Square.self, inputs) {
            #expect(try item.get() == item.index * item.index)
            seen.insert(item.index)
        }
        #expect(seen == Set(inputs))
        await pool.shutdown()
    }

    @Test func largePayloadsCrossWhole() throws {
        let pool = try fixturePool()
        defer { pool.shutdown() }
        let payloads = [0, 1, 4_095, 4_096, 70_000, 3_000_000].map { [UInt8](repeating: 7, count: $0) }
        #expect(try pool.map(Measure.self, payloads, chunkSize: 1) == payloads.map(\.count))
    }

    @Test func taskOutputOnStdoutDoesNotDisturbTheProtocol() throws {
        let pool = try fixturePool()
        defer { pool.shutdown() }
        #expect(try pool.map(Chatty.self, ["a", "b", "c"]) == ["A", "B", "C"])
    }

    @Test func thrownErrorsComeBackWithTypeMessageAndIndex() throws {
        let pool = try fixturePool()
        defer { pool.shutdown() }
        let future = try pool.submit(PickyTask.self, 9)
        let error = try #require(throws: RemoteTaskError.self) { try future.result() }
        #expect(error.typeName == "pool_test_worker.Oops")
        #expect(error.message == "no multiples of three, got 9")
        #expect(error.taskName == PickyTask.name)
        // The failing map names the input index; the pool stays healthy afterwards.
        let mapError = try #require(throws: MapError.self) {
            try pool.map(PickyTask.self, [1, 2, 4, 6, 7], chunkSize: 1)
        }
        #expect(mapError.index == 3)
        #expect((mapError.error as? RemoteTaskError)?.inputIndex == 3)
        #expect(try pool.map(Square.self, [1, 2, 3]) == [1, 4, 9])
    }

    @Test func unknownTaskNameIsAClearError() throws {
        let pool = try fixturePool(mode: "without-echo")
        defer { pool.shutdown() }
        let error = try #require(throws: PoolError.self) { try pool.submit(Echo.self, 1).result() }
        #expect(error.code == .unknownTask)
        #expect(error.message.contains("pool_test_worker.Echo"))
        #expect(error.message.contains("WorkerEntry.runIfWorker"))
        #expect(try pool.submit(Square.self, 3).result() == 9)
    }

    @Test func submitAfterShutdownIsRefused() throws {
        let pool = try fixturePool(workers: 1)
        pool.shutdown()
        let error = try #require(throws: PoolError.self) { try pool.submit(Echo.self, 1) }
        #expect(error.code == .shutDown)
    }

    @Test func shutdownFinishesQueuedWorkFirst() throws {
        let pool = try fixturePool(workers: 1)
        let futures = try (0..<20).map { try pool.submit(Nap.self, $0 % 3) }
        pool.shutdown(wait: true)
        #expect(try futures.map { try $0.result() } == (0..<20).map { $0 % 3 })
        #expect(pool.workerProcessIDs.isEmpty)
    }

    @Test func shutdownReturnsWhenTheOnlyQueuedItemWasCancelled() throws {
        // The cancelled item looked like work still to send when the running one finished, so
        // the idle worker was never told to exit and shutdown(wait: true) waited for ever.
        let pool = try fixturePool(workers: 1) { $0.batchesInFlightPerWorker = 1 }
        let first = try pool.submit(Nap.self, 300)
        let queued = try pool.submit(Echo.self, 7)
        #expect(eventually { first.isRunning })
        #expect(queued.cancel())
        pool.shutdown(wait: true)
        #expect(try first.result() == 300)
        #expect(throws: CancellationError.self) { try queued.result() }
        #expect(pool.workerProcessIDs.isEmpty)
    }

    @Test func cancelPendingFailsQueuedItemsOnly() throws {
        let pool = try fixturePool(workers: 1) { $0.batchesInFlightPerWorker = 1 }
        let first = try pool.submit(Nap.self, 300)
        let queued = try (0..<5).map { try pool.submit(Echo.self, $0) }
        // One batch in flight per worker: `first` runs, the rest wait in the queue.
        #expect(eventually { first.isRunning })
        #expect(!first.cancel(), "work already in a worker cannot be cancelled")
        #expect(queued[0].cancel(), "queued work can")
        pool.shutdown(wait: true, cancelPending: true)
        #expect(try first.result() == 300)
        for future in queued {
            #expect(throws: CancellationError.self) { try future.result() }
        }
    }
}
