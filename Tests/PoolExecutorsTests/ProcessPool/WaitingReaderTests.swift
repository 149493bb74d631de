import Dispatch
import Foundation
import Testing

@testable import PoolExecutors

/// A thread blocked on a process-pool result reads arrived replies itself (`ArrivedReplies.swift`)
/// while the slot's conductor may read them too: every result still arrives exactly once and
/// intact, and a worker's end is still the conductor's to account for.
@Suite(.timeLimit(.minutes(5)))
struct WaitingReaderTests {
    @Test func manyThreadsWaitingAtOnceEachGetTheirOwnResultOnce() throws {
        let pool = try fixturePool(workers: 2)
        defer { pool.shutdown() }
        let wrong = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { thread in
            for call in 0..<150 {
                let input = thread * 10_000 + call
                do {
                    let output = try pool.submit(Square.self, input).result()
                    if output != input * input { wrong.withLock { $0.append("\(input) → \(output)") } }
                } catch {
                    wrong.withLock { $0.append("\(input) threw \(error)") }
                }
            }
        }
        #expect(wrong.withLock { $0 }.isEmpty, "\(wrong.withLock { $0.prefix(5) })")
    }

    @Test func aWorkerThatDiesWhileOthersWaitFailsOnlyItsItem() throws {
        let pool = try fixturePool(workers: 2)
        defer { pool.shutdown() }
        for round in 0..<5 {
            let inputs = (0..<20).map { $0 == 7 ? 13 : round * 100 + $0 }  // 13 kills its worker
            let futures = try inputs.map { try pool.submit(Crashy.self, $0) }
            for (position, future) in futures.enumerated() {
                if inputs[position] == 13 {
                    let error = try #require(throws: PoolError.self) { try future.result() }
                    #expect(error.code == .workerCrashed, "round \(round): \(error)")
                } else {
                    #expect(try future.result() == inputs[position], "round \(round), input \(position)")
                }
            }
        }
    }

    @Test func sequentialWaitsInterleavedWithAMapDeliverEverything() throws {
        let pool = try fixturePool(workers: 2)
        defer { pool.shutdown() }
        let group = DispatchGroup()
        let mapResult = Locked<[Int]?>(nil)
        DispatchQueue.global().async(group: group) {
            mapResult.withLock { $0 = try? pool.map(Square.self, Array(0..<3_000), chunkSize: 3) }
        }
        for input in 0..<500 {
            #expect(try pool.submit(Echo.self, input).result() == input)
        }
        #expect(group.wait(timeout: .now() + 120) == .success)
        #expect(mapResult.withLock { $0 } == (0..<3_000).map { $0 * $0 })
    }
}
