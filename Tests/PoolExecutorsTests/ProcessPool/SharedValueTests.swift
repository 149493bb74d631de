import Foundation
import PoolTestFixtures
import PoolWire
import Testing

@testable import PoolExecutors

/// `Shared<Value>`: a value every call needs reaches each worker once, is decoded there once,
/// reads as the value on threads and through other coders, and leaves nothing open behind it.
/// Serialized: the leak check counts this process's shared-value files.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct SharedValueTests {
    /// How many of the memory files named `names` this process has open (other suites' shared
    /// values, which run in this process too, are not counted).
    private func openFiles(named names: Set<String>) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.filter { entry in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)")) ?? ""
            return names.contains { target == "/memfd:\($0) (deleted)" }
        }.count
    }

    @Test func eachWorkerMapsTheValueOnceAndEveryCallReadsIt() throws {
        // A table far larger than the pool's frames, with shared memory for arguments off:
        // were it sent with each call, no request could carry it.
        let table = Shared(Array(0..<250_000))
        let pool = try fixturePool(workers: 2) {
            $0.maximumFrameBytes = 16 << 10
            $0.sharedMemoryThreshold = nil
        }
        defer { pool.shutdown() }
        let indexes = Array(stride(from: 0, to: 250_000, by: 997))
        for chunkSize in [1, 7] {
            let results = try pool.map(
                LooksUp.self, indexes.map { TableLookup(table: table, index: $0) }, chunkSize: chunkSize)
            #expect(results.map { $0[0] } == indexes)
            // A worker reports how many shared values it mapped by then: 1, whichever call.
            #expect(results.allSatisfy { $0[1] == 1 }, "\(Set(results.map { $0[1] }))")
        }
    }

    @Test func aSecondValueIsMappedOnceMoreAndTheFirstStaysDecoded() throws {
        let first = Shared(Array(repeating: 1, count: 10_000))
        let second = Shared(Array(repeating: 2, count: 10_000))
        let pool = try fixturePool(workers: 1)
        defer { pool.shutdown() }
        let calls = (0..<20).map { TableLookup(table: $0 % 2 == 0 ? first : second, index: $0) }
        let results = try pool.map(LooksUp.self, calls, chunkSize: 3)
        #expect(results.map { $0[0] } == (0..<20).map { $0 % 2 == 0 ? 1 : 2 })
        #expect(results.last?[1] == 2, "one mapping per value: \(results.map { $0[1] })")
    }

    @Test func onThreadsAndThroughJSONItIsJustTheValue() throws {
        let table = Shared(["a": 1, "b": 2])
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        #expect(try pool.submit { table.value["b"]! }.result() == 2)
        let json = try JSONEncoder().encode(table)
        #expect(String(decoding: json, as: UTF8.self).contains("\"a\":1"))
        #expect(try JSONDecoder().decode(Shared<[String: Int]>.self, from: json).value == ["a": 1, "b": 2])
        // Through the pool's codec in the process that owns it, a reference comes back to the
        // same value.
        let bytes = try WireEncoder().encode(table)
        #expect(bytes.count < 64)
        #expect(try WireDecoder().decode(Shared<[String: Int]>.self, from: bytes).value == ["a": 1, "b": 2])
    }

    @Test func twoHundredValuesLeaveNoFileOpen() throws {
        let pool = try fixturePool(workers: 1)
        var names = Set<String>()
        for round in 0..<200 {
            let table = Shared([round, round + 1])
            names.insert(table.memoryFileName)
            let result = try pool.submit(LooksUp.self, TableLookup(table: table, index: 1)).result()
            #expect(result[0] == round + 1)
            if round == 199 { #expect(openFiles(named: names) == 1, "the last value's file, open while it lives") }
        }
        // Once the pool has let go of the last inputs (a conductor thread may still hold the
        // last batch for a moment after shutdown returns), every file is closed.
        pool.shutdown()
        var open = openFiles(named: names)
        for _ in 0..<250 where open > 0 {
            usleep(20_000)
            open = openFiles(named: names)
        }
        #expect(open == 0, "\(open) of the 200 shared-value files still open")
    }

    @Test func aPoolShutDownAsItsLastReplyArrivesKeepsNoInput() throws {
        // The last job's source once stayed queued after its items left, until a next cut that
        // a shutdown right after the reply never made: its inputs (here a shared value and its
        // memory file) lived as long as the pool.
        for round in 0..<20 {
            let pool = try fixturePool(workers: 1)
            weak var tracked: Shared<[Int]>?
            do {
                let table = Shared([round, round + 1])
                tracked = table
                #expect(try pool.submit(LooksUp.self, TableLookup(table: table, index: 1)).result().first == round + 1)
            }
            pool.shutdown()
            withExtendedLifetime(pool) {
                #expect(tracked == nil, "round \(round): the input outlived its job")
            }
        }
    }

    @Test func aCopyDecodedHereIsSentAsTheSameReference() throws {
        let table = Shared(Array(0..<5_000))
        let copy = try WireDecoder().decode(Shared<[Int]>.self, from: try WireEncoder().encode(table))
        #expect(copy.isCopy && copy.value == table.value)
        let pool = try fixturePool(workers: 1)
        defer { pool.shutdown() }
        let results = try pool.map(
            LooksUp.self, [TableLookup(table: table, index: 7), TableLookup(table: copy, index: 9)])
        // One mapping in the worker: both name the original's memory.
        #expect(results.map { $0[0] } == [7, 9] && results.map { $0[1] } == [1, 1], "\(results)")
    }

    @Test func referencesToOtherProcessesOrWithNegativeSizesAreRefused() {
        let cases: [(SharedReference, String)] = [
            (SharedReference(owner: 1, id: 123_456, descriptor: 3, count: 10), "belongs to another process"),
            (SharedReference(owner: 1, id: 5, descriptor: 3, count: -1), "negative"),
            (SharedReference(owner: getpid(), id: 5, descriptor: -4, count: 10), "negative"),
            (SharedReference(owner: getpid(), id: .max, descriptor: 3, count: 10), "no shared value of that id"),
        ]
        for (reference, reason) in cases {
            #expect {
                _ = try SharedRegistry.resolve(reference, as: [Int].self)
            } throws: { error in
                "\(error)".contains(reason) && "\(error)".contains("pass the value itself")
            }
        }
    }
}
