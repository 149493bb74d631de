import Foundation
import PoolExecutors
import Synchronization
import Testing

/// Counters the stage tasks below bump, to watch the pipeline from outside.
let fetchedCount = Atomic<Int>(0)
let fetchStartedCount = Atomic<Int>(0)

/// Stage one: doubles, after a short sleep; throws for negative inputs.
struct SlowDouble: PoolTask {
    struct Negative: Error {}
    static func run(_ input: Int) throws -> Int {
        fetchStartedCount.add(1, ordering: .relaxed)
        usleep(UInt32(200 + (abs(input) % 7) * 150))
        if input < 0 { throw Negative() }
        fetchedCount.add(1, ordering: .relaxed)
        return input * 2
    }
}

/// Stage two on threads: adds one, slowly (stage two is the bottleneck).
struct SlowIncrement: PoolTask {
    static func run(_ input: Int) -> Int {
        usleep(2_000)
        return input + 1
    }
}

/// Stage two on threads: adds one at once.
struct Increment: PoolTask {
    static func run(_ input: Int) -> Int { input + 1 }
}

final class ReadCounter: Sendable {
    let value = Atomic<Int>(0)
}

/// A sequence that counts how many elements were read from it.
struct CountingInputs: Sequence {
    let count: Int
    let read: ReadCounter

    func makeIterator() -> AnyIterator<Int> {
        var next = 0
        let read = self.read
        let count = self.count
        return AnyIterator {
            guard next < count else { return nil }
            read.value.add(1, ordering: .relaxed)
            defer { next += 1 }
            return next
        }
    }
}

@Suite("Pipeline", .serialized, .timeLimit(.minutes(10)))
struct PipelineTests {
    @Test("results come in input order, on a thread stage two and on a process stage two")
    func order() throws {
        let threads = try Pipeline(
            fetch: SlowDouble.self, compute: Increment.self,
            configuration: .init(fetchWorkers: 4, compute: .threads(workers: 2)))
        defer { threads.shutdown() }
        #expect(try threads.map(0..<200) == (0..<200).map { $0 * 2 + 1 })

        var configuration = ProcessPool.Configuration(workers: 2)
        configuration.executable = .path(fixturePath)
        configuration.environment["SWIFT_BACKTRACE"] = "enable=no"
        let processes = try Pipeline(
            fetch: SlowDouble.self, compute: Square.self,
            configuration: .init(fetchWorkers: 4, compute: .processes(configuration)))
        defer { processes.shutdown() }
        #expect(try processes.map(0..<100) == (0..<100).map { ($0 * 2) * ($0 * 2) })
    }

    @Test("streaming: the first result arrives after reading only a window of inputs, never the whole input")
    func streaming() throws {
        let pipeline = try Pipeline(
            fetch: SlowDouble.self, compute: Increment.self,
            configuration: .init(fetchWorkers: 2, compute: .threads(workers: 2), capacity: 8))
        defer { pipeline.shutdown() }
        let read = ReadCounter()
        let results = pipeline.results(CountingInputs(count: 10_000, read: read))
        let first = results.next()
        #expect(try first?.get() == 1)
        #expect(read.value.load(ordering: .relaxed) <= 9)
        results.cancel()
        #expect(results.next() == nil)
        #expect(read.value.load(ordering: .relaxed) <= 9)
    }

    @Test("backpressure: with a slow stage two, items fetched but not yet delivered never exceed the capacity")
    func backpressure() throws {
        let capacity = 6
        let pipeline = try Pipeline(
            fetch: SlowDouble.self, compute: SlowIncrement.self,
            configuration: .init(fetchWorkers: 4, compute: .threads(workers: 1), capacity: capacity))
        defer { pipeline.shutdown() }
        fetchedCount.store(0, ordering: .relaxed)
        let results = pipeline.results(0..<60)
        var delivered = 0
        var largest = 0
        while let result = results.next() {
            #expect(try result.get() == delivered * 2 + 1)
            delivered += 1
            #expect(results.inFlight <= capacity)
            largest = max(largest, fetchedCount.load(ordering: .relaxed) - delivered)
        }
        #expect(delivered == 60)
        #expect(largest <= capacity)
        #expect(largest >= 2)  // the fetch stage did run ahead of the slow stage two
    }

    @Test("an error in stage one is reported for its item with index and stage; the others are delivered")
    func fetchError() throws {
        let pipeline = try Pipeline(
            fetch: SlowDouble.self, compute: Increment.self,
            configuration: .init(fetchWorkers: 3, compute: .threads(workers: 2)))
        defer { pipeline.shutdown() }
        let inputs = [1, 2, -3, 4, -5, 6]
        let results = Array(pipeline.results(inputs))
        #expect(results.count == 6)
        for (index, result) in results.enumerated() {
            switch result {
            case .success(let value): #expect(value == inputs[index] * 2 + 1)
            case .failure(let error):
                #expect([2, 4].contains(index))
                #expect(error.index == index)
                #expect(error.stage == .fetch)
                #expect(error.error is SlowDouble.Negative)
            }
        }
        #expect(throws: PipelineError.self) { try pipeline.map(inputs) }
        do {
            _ = try pipeline.map(inputs)
        } catch let error as PipelineError {
            #expect(error.index == 2)  // the first failure in input order
        }
    }

    @Test("an error in the process stage, and a crashed worker, are reported for their items")
    func computeErrors() throws {
        var configuration = ProcessPool.Configuration(workers: 2)
        configuration.executable = .path(fixturePath)
        configuration.environment["SWIFT_BACKTRACE"] = "enable=no"
        let picky = try Pipeline(
            fetch: Increment.self, compute: PickyTask.self,
            configuration: .init(fetchWorkers: 2, compute: .processes(configuration)))
        defer { picky.shutdown() }
        let results = Array(picky.results(0..<9))  // stage two sees 1…9 and throws on 3, 6, 9
        let failed = results.compactMap { result -> PipelineError? in
            if case .failure(let error) = result { return error }
            return nil
        }
        #expect(failed.map(\.index) == [2, 5, 8])
        #expect(failed.allSatisfy { $0.stage == .compute && $0.error is RemoteTaskError })
        #expect(results.count == 9)

        let crashy = try Pipeline(
            fetch: Increment.self, compute: Crashy.self,
            configuration: .init(fetchWorkers: 2, compute: .processes(configuration)))
        defer { crashy.shutdown() }
        let crashed = Array(crashy.results([1, 12, 3]))  // stage two sees 2, 13 (SIGKILL), 4
        #expect((try? crashed[0].get()) == 2)
        #expect((try? crashed[2].get()) == 4)
        if case .failure(let error) = crashed[1] {
            #expect(error.index == 1 && error.stage == .compute && error.error is PoolError)
        } else {
            Issue.record("the crashed item was delivered as a success")
        }
    }

    @Test("cancelling stops reading inputs and stops the items not started")
    func cancellation() throws {
        let pipeline = try Pipeline(
            fetch: SlowDouble.self, compute: SlowIncrement.self,
            configuration: .init(fetchWorkers: 2, compute: .threads(workers: 1), capacity: 4))
        defer { pipeline.shutdown() }
        fetchStartedCount.store(0, ordering: .relaxed)
        let results = pipeline.results(0..<1_000)
        _ = results.next()
        _ = results.next()
        results.cancel()
        #expect(results.next() == nil)
        pipeline.shutdown()
        #expect(fetchStartedCount.load(ordering: .relaxed) <= 8)
    }

    @Test("a shut-down pipeline fails each item with the pool's error instead of hanging")
    func afterShutdown() throws {
        let pipeline = try Pipeline(
            fetch: SlowDouble.self, compute: Increment.self,
            configuration: .init(fetchWorkers: 1, compute: .threads(workers: 1)))
        pipeline.shutdown()
        do {
            _ = try pipeline.map([1, 2])
            Issue.record("map on a shut-down pipeline succeeded")
        } catch let error as PipelineError {
            #expect(error.index == 0)
            #expect(error.error is PoolError)
        }
    }

    @Test("the async map suspends and gives the same results")
    func asyncMap() async throws {
        let pipeline = try Pipeline(
            fetch: SlowDouble.self, compute: Increment.self,
            configuration: .init(fetchWorkers: 2, compute: .threads(workers: 2)))
        defer { pipeline.shutdown() }
        let outputs = try await pipeline.map(Array(0..<50))
        #expect(outputs == (0..<50).map { $0 * 2 + 1 })
    }
}
