import Foundation
import PoolExecutors
import PoolTestFixtures
import Testing

/// What a worker's replies promise: an input that cannot be encoded never runs, an output too
/// large for a frame fails alone, a worker the pool kills says why, a fresh pool spreads long
/// tasks over all its workers.
@Suite(.timeLimit(.minutes(10)))
struct ProcessPoolReplyTests {
    @Test func anInputThatCannotBeEncodedFailsAloneAndNeverRuns() throws {
        let pool = try fixturePool()
        defer { pool.shutdown() }
        let lone = try pool.submit(RunsFragile.self, Fragile(value: 5, poisoned: true))
        let error = try #require(throws: RemoteTaskError.self) { try lone.result() }
        #expect(error.message.contains("could not be encoded"))
        #expect(error.message.contains("refuses to be encoded"))

        let inputs = (0..<40).map { Fragile(value: $0, poisoned: $0 == 17) }
        var outcomes: [Int: Result<String, any Error>] = [:]
        for item in try pool.mapUnordered(RunsFragile.self, inputs, chunkSize: 8).blocking {
            outcomes[item.index] = item.result
        }
        #expect(outcomes.count == 40)
        for (index, outcome) in outcomes {
            switch outcome {
            case .success(let text):
                #expect(index != 17 && text == "ran on \(index)")
            case .failure(let error as RemoteTaskError):
                #expect(index == 17 && error.inputIndex == 17 && error.message.contains("could not be encoded"))
            case .failure(let error):
                Issue.record("input \(index) failed with \(error)")
            }
        }
    }

    @Test func anOutputLargerThanAFrameFailsAloneAndTheWorkerStays() throws {
        // Through the pipe only (shared memory would carry the large output: SharedMemoryTests).
        let pool = try fixturePool(workers: 1) {
            $0.maximumFrameBytes = 64 << 10
            $0.sharedMemoryThreshold = nil
        }
        defer { pool.shutdown() }
        let before = try pool.submit(WhoAmI.self, 0).result()
        let sizes = [10, 100, 200_000, 1_000, 60_000, 30_000, 30_000]
        var outcomes: [Int: Result<[UInt8], any Error>] = [:]
        for item in try pool.mapUnordered(Bulky.self, sizes, chunkSize: 7).blocking {
            outcomes[item.index] = item.result
        }
        for (index, size) in sizes.enumerated() {
            switch outcomes[index] {
            case .success(let bytes)?:
                #expect(size < 64 << 10 && bytes.count == size)
            case .failure(let error as RemoteTaskError)?:
                #expect(size > 64 << 10 && error.inputIndex == index)
                #expect(error.message.contains("maximumFrameBytes"))
            default:
                Issue.record("input \(index) (\(size) bytes): \(String(describing: outcomes[index]))")
            }
        }
        // The two 30,000-byte outputs cannot share one 64 KiB reply, yet both arrived (above),
        // and the same worker still serves: no output killed it.
        #expect(try pool.submit(WhoAmI.self, 0).result() == before)
    }

    @Test func aWorkerKilledForWritingOnTheProtocolSaysWhy() throws {
        let pool = try fixturePool(workers: 1)
        defer { pool.shutdown() }
        let outcome = try pool.submit(Scribbler.self, -1)
        do {
            // The garbage may arrive while the task runs (it fails), after it logged its result
            // (delivered from the log) or after its reply went out behind the garbage (lost);
            // whichever, the error says why the pool killed the worker.
            #expect(try outcome.result() == -1)
        } catch let error as PoolError {
            #expect(error.code == .workerCrashed || error.code == .resultLost)
            #expect(error.message.contains("killed because its reply stream is corrupt"))
            #expect(error.message.contains("descriptor 4"))
        }
        #expect(try pool.map(Scribbler.self, Array(0..<20)) == Array(0..<20))
    }

    @Test(arguments: [false, true])
    func longTasksSpreadOverEveryWorker(warm: Bool) throws {
        let workers = 4
        let pool = try fixturePool(workers: workers)
        defer { pool.shutdown() }
        if warm { _ = try pool.map(WhoAmI.self, Array(0..<workers)) }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("pool-advisor-gate-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let futures = try (0..<workers).map { _ in try pool.submit(Gated.self, directory) }
        // Each task waits at the gate: all four start only if no worker holds two.
        var started = 0
        for _ in 0..<30_000 where started < workers {
            started = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).count
            usleep(2_000)
        }
        #expect(started == workers, "only \(started) of \(workers) tasks started: one worker holds several")
        #expect(FileManager.default.createFile(atPath: directory + "/go", contents: nil))
        let pids = try futures.map { try $0.result() }
        #expect(Set(pids).count == workers)
    }
}
