import Foundation
import Testing

@testable import PoolExecutors

/// Workers started through a launcher command (``WorkerLauncher/command(_:host:joinsCommand:executable:)``)
/// on this machine: the remote path (standard streams, no shared memory, no progress page, the
/// shell's exit report) without a remote engine.
@Suite struct LaunchedWorkerTests {
    /// `env` runs `sh -c SCRIPT` here, as ssh or srun would there.
    static let here = WorkerLauncher.command(["env"], host: "here")

    private func launchedPool(
        workers: Int = 2, launcher: WorkerLauncher = here,
        _ adjust: (inout ProcessPool.Configuration) -> Void = { _ in }
    ) throws -> ProcessPool {
        try fixturePool { configuration in
            configuration.hosts = [WorkerHost(launcher, workers: workers)]
            adjust(&configuration)
        }
    }

    @Test func aMapThroughALauncherReturnsEveryResultInOrder() throws {
        let pool = try launchedPool()
        defer { pool.shutdown() }
        let inputs = Array(0..<500)
        #expect(try pool.map(Square.self, inputs) == inputs.map { $0 * $0 })
        #expect(try pool.submit(Square.self, 12).result() == 144)
    }

    @Test func largeValuesTravelThroughTheStream() throws {
        let pool = try launchedPool(workers: 1)
        defer { pool.shutdown() }
        let payloads = [1 << 20, 3 << 20, 100].map { [UInt8](repeating: 7, count: $0) }
        #expect(try pool.map(Measure.self, payloads) == payloads.map(\.count))
    }

    @Test func whatATaskPrintsDoesNotCorruptTheStream() throws {
        let pool = try launchedPool(workers: 1)
        defer { pool.shutdown() }
        #expect(try pool.map(Chatty.self, ["a", "b", "c"]) == ["A", "B", "C"])
    }

    @Test func aCrashFailsOnlyItsItemAndNamesTheHost() throws {
        let pool = try launchedPool(workers: 1)
        defer { pool.shutdown() }
        let inputs = [1, 2, 13, 4, 5]
        var results: [Int: Result<Int, any Error>] = [:]
        for item in try pool.mapUnordered(Crashy.self, inputs, chunkSize: 1).blocking {
            results[item.index] = item.result
        }
        #expect(results.count == inputs.count)
        for index in [0, 1, 3, 4] { #expect((try? results[index]?.get()) == inputs[index]) }
        guard case .failure(let error as PoolError)? = results[2] else {
            Issue.record("input 13 should have failed with a PoolError, got \(String(describing: results[2]))")
            return
        }
        #expect(error.code == .workerCrashed)
        #expect(error.inputIndexes == [2])
        #expect(error.message.contains("on host here"))
        // The shell reported the worker's own death, not a lost connection.
        #expect(error.processExit == .signaled(9))
        #expect(!error.message.contains("lost its connection"))
    }

    @Test func aMissingExecutableNamesTheHostThePathAndTheFix() throws {
        let launcher = WorkerLauncher.command(["env"], host: "here", executable: "/nonexistent/pool-worker")
        let pool = try launchedPool(workers: 1, launcher: launcher)
        defer { pool.shutdown() }
        #expect {
            try pool.submit(Square.self, 3).result()
        } throws: { error in
            guard let error = error as? PoolError else { return false }
            return error.code == .workerStartFailed && error.message.contains("host here")
                && error.message.contains("/nonexistent/pool-worker") && error.message.contains("was not found")
                && error.message.contains("copy this build there")
        }
    }

    /// Without a progress page the pool times an item from its worker's last reply: the
    /// hanging item fails alone and a new worker takes the rest.
    @Test func theTaskTimeoutHoldsForALaunchedWorker() throws {
        let pool = try launchedPool(workers: 1) { $0.taskTimeout = .seconds(1) }
        defer { pool.shutdown() }
        var outcomes: [Int: Result<Int, any Error>] = [:]
        for item in try pool.mapUnordered(Nap.self, [5, 120_000, 5, 5], chunkSize: 1).blocking {
            outcomes[item.index] = item.result
        }
        #expect(outcomes.count == 4)
        guard case .failure(let error as PoolError)? = outcomes[1] else {
            Issue.record("the hanging item should time out: \(String(describing: outcomes[1]))")
            return
        }
        #expect(error.code == .taskTimedOut && error.inputIndexes == [1])
        #expect((try? outcomes[0]?.get()) == 5)
        // Sent behind the hanging item, the last two may only fail as possibly run, never twice.
        for index in [2, 3] {
            if case .failure(let error as PoolError)? = outcomes[index] {
                #expect(error.code == .resultLost, "\(error)")
            } else {
                #expect((try? outcomes[index]?.get()) == 5)
            }
        }
    }

    /// Items go to whichever worker has room: a host fifty times slower drains far fewer (the
    /// margin is wide: per-item overheads of tens of milliseconds on a loaded machine keep it).
    @Test func aFasterHostDrainsMoreItems() throws {
        let fast = WorkerLauncher.command(["env", "FIXTURE_HOST_TAG=fast"], host: "fast")
        let slow = WorkerLauncher.command(["env", "FIXTURE_HOST_TAG=slow", "FIXTURE_SLOWDOWN=50"], host: "slow")
        let pool = try fixturePool { $0.hosts = [WorkerHost(fast, workers: 1), WorkerHost(slow, workers: 1)] }
        defer { pool.shutdown() }
        let tags = try pool.map(TaggedNap.self, Array(repeating: 2, count: 400))
        let onFast = tags.filter { $0 == "fast" }.count
        let onSlow = tags.filter { $0 == "slow" }.count
        #expect(onFast + onSlow == 400, "\(Set(tags))")
        #expect(onFast > 3 * onSlow, "fast host ran \(onFast), slow host \(onSlow)")
    }

    @Test func aVariableNameAShellCannotSetIsRefused() throws {
        #expect(throws: PoolError.self) {
            try ProcessPool(
                configuration: fixtureConfiguration {
                    $0.hosts = [WorkerHost(Self.here, workers: 1)]
                    $0.environment["X;touch /tmp/pwned"] = "1"
                })
        }
    }

    @Test func hostsAddUpToTheWorkers() throws {
        var configuration = ProcessPool.Configuration(hosts: [.local(workers: 1), WorkerHost(Self.here, workers: 2)])
        #expect(configuration.workers == 3)
        #expect(configuration.slotHosts == [0, 1, 1])
        configuration.workers = 5
        #expect(throws: PoolError.self) { try configuration.validate() }
    }
}
