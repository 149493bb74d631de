import Foundation
import PoolSystem
import PoolTestFixtures
import Testing

@testable import PoolExecutors

/// Large values through shared memory: they arrive intact both ways, a worker that dies with
/// them mapped costs only its own item, exhaustion is an error for the item that met it, a full
/// arena falls back to the pipe, and nothing is left open after hundreds of cycles.
@Suite(.timeLimit(.minutes(5)))
struct SharedMemoryTests {
    /// A pool whose frames are too small for the test's values: an item that succeeds with one
    /// can only have travelled through shared memory.
    private func smallFramePool(
        workers: Int = 2, log: CallLog? = nil, _ adjust: (inout ProcessPool.Configuration) -> Void = { _ in }
    ) throws -> ProcessPool {
        try fixturePool(workers: workers) {
            $0.maximumFrameBytes = 16 << 10
            $0.sharedMemoryThreshold = 4 << 10
            if let log { $0.environment["FAULT_LOG"] = log.path }
            adjust(&$0)
        }
    }

    private func outcomes(
        _ pool: ProcessPool, _ inputs: [LargeEchoInput], chunkSize: Int? = nil
    ) throws -> [Int: Result<[UInt8], any Error>] {
        var outcomes: [Int: Result<[UInt8], any Error>] = [:]
        for item in try pool.mapUnordered(LargeEcho.self, inputs, chunkSize: chunkSize).blocking {
            #expect(outcomes[item.index] == nil, "input \(item.index) was delivered twice")
            outcomes[item.index] = item.result
        }
        return outcomes
    }

    @Test func largeArgumentsAndResultsArriveIntactBothWays() throws {
        let pool = try smallFramePool()
        defer { pool.shutdown() }
        // Around the threshold, past the frame, and small ones among them, in batches.
        let sizes = [10, 4 << 10 - 20, 4 << 10 + 20, 20_000, 300_000, 5, 1 << 20, 70_000]
        let inputs = sizes.enumerated().map {
            LargeEchoInput(index: $0, payload: $1, reply: sizes[sizes.count - 1 - $0])
        }
        for chunkSize in [1, 3] {
            let outputs = try pool.map(LargeEcho.self, inputs, chunkSize: chunkSize)
            #expect(outputs.count == inputs.count)
            for (index, output) in outputs.enumerated() {
                #expect(output == LargeEcho.pattern(index + 1, count: sizes[sizes.count - 1 - index]), "input \(index)")
            }
        }
    }

    @Test func aFullArenaSendsTheRestThroughThePipe() throws {
        // An arena of 64 KiB holds one 40,000-byte value at a time; the others take the pipe (the
        // frame is large enough for them here), in both directions, and all arrive.
        let pool = try fixturePool(workers: 1) {
            $0.sharedMemoryThreshold = 1 << 10
            $0.sharedMemoryBytesPerWorker = 64 << 10
            $0.maximumFrameBytes = 1 << 20
        }
        defer { pool.shutdown() }
        let inputs = (0..<40).map { LargeEchoInput(index: $0, payload: 40_000, reply: 30_000 + $0) }
        let outputs = try pool.map(LargeEcho.self, inputs, chunkSize: 4)
        for (index, output) in outputs.enumerated() {
            #expect(output == LargeEcho.pattern(index + 1, count: 30_000 + index), "input \(index)")
        }
    }

    @Test func aWorkerKilledWithValuesMappedFailsItsItemAloneAndEachInputRunsOnce() throws {
        let log = CallLog()
        defer { log.remove() }
        let pool = try smallFramePool(log: log)
        defer { pool.shutdown() }
        let crashing: Set<Int> = [3, 11]
        let inputs = (0..<16).map {
            LargeEchoInput(index: $0, payload: 20_000 + $0, reply: 24_000 + $0, crash: crashing.contains($0))
        }
        for chunkSize in [1, 4] {
            let outcomes = try outcomes(pool, inputs, chunkSize: chunkSize)
            #expect(outcomes.count == inputs.count)
            for (index, outcome) in outcomes {
                switch outcome {
                case .success(let bytes):
                    #expect(!crashing.contains(index) && bytes == LargeEcho.pattern(index + 1, count: 24_000 + index))
                case .failure(let error as PoolError):
                    #expect(
                        crashing.contains(index) && error.code == .workerCrashed && error.inputIndexes == [index],
                        "\(error)")
                case .failure(let error):
                    Issue.record("input \(index) failed with \(error)")
                }
            }
        }
        // Not idempotent: every input ran exactly once per job, the crashing ones included.
        let calls = Dictionary(grouping: log.calls(), by: { $0 }).mapValues(\.count)
        #expect(calls == Dictionary(uniqueKeysWithValues: (0..<16).map { ($0, 2) }), "\(calls)")
    }

    @Test func aLargeResultLoggedBeforeACrashIsStillDelivered() throws {
        // One batch: a large result, then a crash before the batch's reply is due. The result
        // lies in the results arena, named only in the progress page's log: the pool reads it
        // from there after the worker is gone.
        let log = CallLog()
        defer { log.remove() }
        let pool = try smallFramePool(workers: 1, log: log)
        defer { pool.shutdown() }
        for round in 0..<5 {
            let inputs = [
                LargeEchoInput(index: 10 * round, payload: 8_000, reply: 100_000),
                LargeEchoInput(index: 10 * round + 1, payload: 8_000, reply: 10, crash: true),
            ]
            let outcomes = try outcomes(pool, inputs, chunkSize: 2)
            guard case .success(let bytes)? = outcomes[0] else {
                Issue.record("round \(round): the finished item was lost: \(String(describing: outcomes[0]))")
                continue
            }
            #expect(bytes == LargeEcho.pattern(10 * round + 1, count: 100_000))
            #expect((outcomes[1].map { if case .failure = $0 { true } else { false } }) == true)
        }
        #expect(log.calls().count == 10)
    }

    @Test func exhaustedSharedMemoryFailsOnlyTheItemsThatNeededIt() throws {
        let pool = try smallFramePool(workers: 1) { $0.failsSharedMemoryReservations = true }
        defer { pool.shutdown() }
        // Large argument (the pool finds no memory), large result (the worker finds none), and
        // small values both ways, which never need it.
        let inputs = [
            LargeEchoInput(index: 0, payload: 100, reply: 100),
            LargeEchoInput(index: 1, payload: 50_000, reply: 100),
            LargeEchoInput(index: 2, payload: 100, reply: 50_000),
            LargeEchoInput(index: 3, payload: 200, reply: 300),
        ]
        let outcomes = try outcomes(pool, inputs, chunkSize: 4)
        for index in [0, 3] {
            #expect((try? outcomes[index]?.get()) == LargeEcho.pattern(index + 1, count: inputs[index].reply))
        }
        for index in [1, 2] {
            guard case .failure(let error as RemoteTaskError)? = outcomes[index] else {
                Issue.record("input \(index): \(String(describing: outcomes[index]))")
                continue
            }
            #expect(error.inputIndex == index)
            #expect(error.message.contains("found no shared memory") && error.message.contains("maximumFrameBytes"))
            #expect(error.message.contains(index == 1 ? "the input" : "the output"))
        }
    }

    @Test func exhaustedSharedMemoryFallsBackToThePipeWhenAFrameCanCarryTheValue() throws {
        let pool = try fixturePool(workers: 1) {
            $0.sharedMemoryThreshold = 1 << 10
            $0.failsSharedMemoryReservations = true
        }
        defer { pool.shutdown() }
        let inputs = (0..<6).map { LargeEchoInput(index: $0, payload: 30_000, reply: 40_000) }
        let outputs = try pool.map(LargeEcho.self, inputs, chunkSize: 2)
        #expect(outputs.enumerated().allSatisfy { $1 == LargeEcho.pattern($0 + 1, count: 40_000) })
        #expect(pool.sharedMemoryBytesInUse == 0, "no reservation succeeded")
    }

    @Test func aCorruptResultReferenceFailsItsItemAloneAndTheWorkerGoesOn() throws {
        // The worker sends every second large result with a reference far outside its arena.
        let log = CallLog()
        defer { log.remove() }
        let pool = try smallFramePool(workers: 1, log: log) { $0.corruptsSharedResults = true }
        defer { pool.shutdown() }
        let before = try pool.submit(LargeEcho.self, LargeEchoInput(index: 100, payload: 10, reply: 10)).result()
        #expect(before == LargeEcho.pattern(101, count: 10))
        let inputs = (0..<8).map { LargeEchoInput(index: $0, payload: 10, reply: 20_000 + $0) }
        let outcomes = try outcomes(pool, inputs, chunkSize: 4)
        #expect(outcomes.count == 8)
        for (index, outcome) in outcomes {
            switch outcome {
            case .success(let bytes):
                #expect(index % 2 == 0 && bytes == LargeEcho.pattern(index + 1, count: 20_000 + index))
            case .failure(let error as PoolError):
                #expect(index % 2 == 1 && error.code == .resultLost && error.inputIndexes == [index], "\(error)")
                #expect(error.message.contains("shared-memory reference is corrupt"))
            case .failure(let error):
                Issue.record("input \(index): \(error)")
            }
        }
        // One worker served it all (none was killed) and each input ran once.
        #expect(Dictionary(grouping: log.calls(), by: { $0 }).values.allSatisfy { $0.count == 1 })
        #expect(log.calls().count == 9)
        #expect(pool.workerProcessIDs.count == 1)
    }

    /// Waits (up to 12 s: the arenas' grace is a second) until `pool`'s arenas hold no more
    /// than their warm pages, and expects that they do.
    private func expectGivenBack(by pool: ProcessPool) {
        let bound = SharedArena.warmBytes + (1 << 20)
        var held = pool.sharedMemoryBytesInUse
        for _ in 0..<600 where held > bound {
            usleep(20_000)
            held = pool.sharedMemoryBytesInUse
        }
        #expect(held <= bound, "\(held) bytes still held")
    }

    @Test func anIdleWorkerGivesBackTheMemoryOfLargeResults() throws {
        let pool = try fixturePool(workers: 1)
        defer { pool.shutdown() }
        // Five 30 MB results: the last one's span alone (37.5 MB claimed) is more than the
        // 32 MiB an emptied arena keeps warm, and it stays live until the worker learns that
        // the pool has read it.
        let outputs = try pool.map(Bulky.self, Array(repeating: 30_000_000, count: 5), chunkSize: 1)
        #expect(outputs.allSatisfy { $0.count == 30_000_000 })
        // The worker, idle now, sees that the pool read them all and gives the pages back.
        expectGivenBack(by: pool)
    }

    @Test func anIdlePoolGivesBackTheMemoryOfLargeArguments() throws {
        let pool = try fixturePool(workers: 1)
        defer { pool.shutdown() }
        // Two 40 MB arguments: each span is more than the 32 MiB an emptied arena keeps warm.
        let inputs = (0..<2).map { LargeEchoInput(index: $0, payload: 40_000_000, reply: 10) }
        let replies = try pool.map(LargeEcho.self, inputs, chunkSize: 1)
        #expect(replies.count == 2)
        // The conductor, with no reply to wait for, looks again once the grace is over.
        expectGivenBack(by: pool)
    }

    @Test func anEmptiedArenaKeepsItsPagesForItsGraceThenGivesThemBack() throws {
        let arena = try SharedArena(capacity: 128 << 20, name: "pool-advisor-test-grace", writable: true)
        let large = 48 << 20
        let first = try #require(try arena.claim(large, key: 1))
        #expect(arena.allocatedBytes >= large && !arena.awaitsTrim)
        arena.releaseAll(keys: [1])
        // Empty, and the pages stay for the next value.
        #expect(arena.awaitsTrim && arena.allocatedBytes >= large)
        let emptied = MonotonicClock.nanoseconds()
        arena.trimIfIdle(now: emptied)
        #expect(arena.awaitsTrim && arena.allocatedBytes >= large)
        // A value stored within the grace finds them warm, and the clock starts again when it goes.
        let second = try #require(try arena.claim(large, key: 2))
        #expect(second.offset == first.offset && !arena.awaitsTrim)
        arena.trimIfIdle(now: emptied + 2 * SharedArena.idleGraceNanoseconds)
        #expect(arena.allocatedBytes >= large, "a live span's pages are never given back")
        arena.releaseAll(keys: [2])
        #expect(arena.awaitsTrim)
        // The grace over: all but the warm pages go back, once.
        arena.trimIfIdle(now: MonotonicClock.nanoseconds() + SharedArena.idleGraceNanoseconds)
        #expect(!arena.awaitsTrim)
        #expect(arena.allocatedBytes <= SharedArena.warmBytes, "\(arena.allocatedBytes) bytes still held")
    }

    @Test func aPipeOnlyPoolMakesNoSharedMemory() throws {
        let pool = try fixturePool(workers: 1) { $0.sharedMemoryThreshold = nil }
        defer { pool.shutdown() }
        #expect(try pool.map(Bulky.self, [100_000, 10]).map(\.count) == [100_000, 10])
        let worker = try #require(pool.workerProcessIDs.first)
        let links = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(worker)/fd")) ?? []).compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(worker)/fd/\($0)")
        }
        #expect(!links.isEmpty && !links.contains { $0.contains("pool-advisor-arguments") || $0.contains("results") })
        #expect(pool.sharedMemoryBytesInUse == 0)
    }

    @Test func withoutAThresholdEveryValueTakesThePipe() throws {
        // The frame limit applies again: proof that nothing went through shared memory.
        let pool = try smallFramePool(workers: 1) { $0.sharedMemoryThreshold = nil }
        defer { pool.shutdown() }
        let outcomes = try outcomes(
            pool,
            [LargeEchoInput(index: 0, payload: 10, reply: 40_000), LargeEchoInput(index: 1, payload: 10, reply: 10)])
        guard case .failure(let error as RemoteTaskError)? = outcomes[0] else {
            Issue.record("\(String(describing: outcomes[0]))")
            return
        }
        #expect(error.message.contains("maximumFrameBytes"))
        #expect((try? outcomes[1]?.get()) == LargeEcho.pattern(2, count: 10))
    }

    @Test func twoHundredCyclesWithCrashesLeaveNoSegmentNoDescriptorAndNoZombie() throws {
        let fields = try fixtureParentReport(["shared-cycles", "200"])
        guard fields.count == 7, let before = Int(fields[1]), let after = Int(fields[2]) else {
            Issue.record("unexpected report: \(fields)")
            return
        }
        #expect(before > 0 && after == before, "descriptors before \(before), after \(after)")
        #expect(fields[4] == "0", "unreaped children: \(fields)")
        #expect(fields[6] == "0", "shared-memory files still open: \(fields)")
    }

    @Test func configurationRefusesNonsense() {
        var configuration = ProcessPool.Configuration(workers: 1)
        configuration.sharedMemoryThreshold = 0
        #expect(throws: PoolError.self) { try ProcessPool(configuration: configuration) }
        configuration.sharedMemoryThreshold = 1 << 20
        configuration.sharedMemoryBytesPerWorker = 100
        #expect(throws: PoolError.self) { try ProcessPool(configuration: configuration) }
    }
}

/// The arena's bookkeeping alone.
struct ArenaSpansTests {
    @Test func spansGoToTheLowestGapAndComeBackInAnyOrder() {
        var space = ArenaSpans(capacity: 100)
        let a = space.allocate(40, key: 1)
        let b = space.allocate(40, key: 2)
        #expect(a?.offset == 0 && b?.offset == 40)
        #expect(space.allocate(30, key: 3) == nil, "only 20 bytes are left")
        space.release(key: 1)
        // The first gap large enough, lowest first: a's room.
        let c = space.allocate(30, key: 3)
        #expect(c?.offset == 0)
        let d = space.allocate(10, key: 4)
        #expect(d?.offset == 30, "the rest of a's room, before b")
        let e = space.allocate(20, key: 5)
        #expect(e?.offset == 80)
        #expect(space.used == 100 && space.allocate(1, key: 6) == nil)
        space.release(key: 2)
        #expect(space.allocate(40, key: 6)?.offset == 40)
        #expect([a, b, c, d, e].compactMap { $0?.sequence } == [1, 2, 3, 4, 5])
    }

    @Test func aReaderReleasesEverythingUpToASequenceNumber() {
        var space = ArenaSpans(capacity: 64)
        let spans = (0..<4).compactMap { _ in space.allocate(16, key: 0) }
        #expect(spans.count == 4 && space.allocate(1, key: 0) == nil)
        space.release(through: spans[1].sequence)
        #expect(space.used == 32)
        let again = space.allocate(20, key: 0)
        #expect(again?.offset == 0)
        space.release(through: spans[3].sequence)
        #expect(!space.isEmpty && space.used == 20, "the newer span stays")
        space.release(through: again!.sequence)
        #expect(space.isEmpty)
    }

    @Test func aSteadyStreamStaysInTheFirstPages() {
        // Two values in flight at a time in a large arena: they take turns at the start
        // instead of walking across the whole memory.
        var space = ArenaSpans(capacity: 1 << 20)
        var inFlight: [ArenaSpans.Span] = []
        for key in 0..<100 {
            guard let span = space.allocate(100, key: UInt64(key)) else {
                Issue.record("no room for value \(key)")
                return
            }
            #expect(span.offset + span.count <= 200, "value \(key) at \(span.offset)")
            inFlight.append(span)
            if inFlight.count == 2 { space.release(sequence: inFlight.removeFirst().sequence) }
        }
    }

    @Test func shrinkingAndAbandoningGiveRoomBack() {
        var space = ArenaSpans(capacity: 32)
        let wide = space.allocate(32, key: 1)!
        #expect(space.allocate(1, key: 2) == nil)
        let narrow = space.shrink(wide, to: 10)
        #expect(narrow.offset == 0 && narrow.count == 10 && narrow.sequence == wide.sequence)
        let next = space.allocate(22, key: 2)
        #expect(next?.offset == 10)
        #expect(space.release(sequence: next!.sequence) && !space.release(sequence: next!.sequence))
        #expect(space.used == 10)
        #expect(space.allocate(0, key: 4) == nil && space.allocate(33, key: 4) == nil)
    }
}
