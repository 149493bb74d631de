import Glibc
import PoolSystem
import Synchronization
import Testing

@testable import PoolExecutors

/// The progress page's sequence lock: what the parent reads while a worker writes.
@Suite struct ProgressPageTests {
    /// The item position the writer pairs with `batch`: a read mixing two updates would pair a
    /// batch with another batch's position.
    private static func position(of batch: UInt64) -> Int { Int(batch % 1_000_003) &* 3 &+ 1 }

    @Test func readsNeverMixTwoUpdates() throws {
        let page = try #require(ProgressPage())
        let readerRunning = Atomic<Bool>(false)
        let itemsSeenRunning = Atomic<Int>(0)
        let writerDone = Atomic<Bool>(false)
        let mismatches = Locked<[String]>([])
        // The writer runs "items" of about a microsecond until the reader has seen 500 of them
        // running (or a cap, should the reader not be scheduled): the outcome does not depend on
        // how the two threads interleave, only how often they meet does.
        let writer = try PlatformThread.start(name: "page-writer") {
            while !readerRunning.load(ordering: .acquiring) { sched_yield() }
            var batch: UInt64 = 1
            while itemsSeenRunning.load(ordering: .relaxed) < 500 && batch <= 30_000 {
                page.markStarted(batch: batch, index: Self.position(of: batch))
                let end = MonotonicClock.nanoseconds() + 1_000
                while MonotonicClock.nanoseconds() < end {}
                page.markFinished()
                batch += 1
            }
            writerDone.store(true, ordering: .releasing)
        }
        let reader = try PlatformThread.start(name: "page-reader") {
            readerRunning.store(true, ordering: .releasing)
            var lastBatch: UInt64 = 0
            while !writerDone.load(ordering: .acquiring) {
                let progress = page.read()
                guard progress.startedAt != 0 else { continue }
                if progress.batch != lastBatch {
                    lastBatch = progress.batch
                    itemsSeenRunning.add(1, ordering: .relaxed)
                }
                if progress.index != Self.position(of: progress.batch) {
                    mismatches.withLock { $0.append("batch \(progress.batch) with index \(progress.index)") }
                }
            }
        }
        writer.join()
        reader.join()
        #expect(mismatches.withLock { $0 } == [])
    }

    @Test func aWriterKilledMidUpdateDoesNotHoldTheReader() throws {
        let page = try #require(ProgressPage())
        page.markStarted(batch: 4, index: 2)
        page.markFinished()
        // What a worker killed inside an update leaves: an odd sequence that never changes.
        _ = page.beginUpdate()
        let progress = page.read()
        #expect(progress.startedAt == 0)
        #expect(progress.batch == 4)
        #expect(progress.index == 2)
    }
}
