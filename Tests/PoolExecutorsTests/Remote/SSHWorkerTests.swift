import Foundation
import PoolTestFixtures
import Testing

@testable import PoolExecutors

/// Workers on a real OpenSSH server on 127.0.0.1 (``SSHServer``): results, crashes, lost
/// connections, a dead parent, a missing binary, an unreachable host.
@Suite(.serialized, .timeLimit(.minutes(10)), .enabled(if: TestEngines.sshUsable))
struct SSHWorkerTests {
    private func server() throws -> SSHServer {
        try #require(try SSHServer.shared(), "sshd is not installed")
    }

    private func sshPool(
        workers: Int = 2, executable: String? = nil, _ adjust: (inout ProcessPool.Configuration) -> Void = { _ in }
    ) throws -> ProcessPool {
        let launcher = try server().launcher(executable: executable)
        return try fixturePool { configuration in
            configuration.hosts = [WorkerHost(launcher, workers: workers)]
            adjust(&configuration)
        }
    }

    @Test func aMapThroughSSHReturnsEveryResult() throws {
        let pool = try sshPool()
        defer { pool.shutdown() }
        let inputs = Array(0..<2_000)
        #expect(try pool.map(Square.self, inputs) == inputs.map { $0 * $0 })
        let payload = [UInt8](repeating: 3, count: 4 << 20)
        #expect(try pool.submit(Measure.self, payload).result() == payload.count)
    }

    /// The ssh client dies while its worker runs an item: that item fails with the host and
    /// "lost its connection", every other result arrives, each input runs once, and the
    /// remote worker exits although it was in the middle of a task.
    @Test func aLostConnectionFailsOnlyTheItemsInFlightThere() throws {
        let log = CallLog()
        defer { log.remove() }
        let pool = try sshPool(workers: 1) { $0.environment["FAULT_LOG"] = log.path }
        defer { pool.shutdown() }
        let remotePID = try pool.submit(WhoAmI.self, 0).result()
        let launcher = try #require(pool.workerProcessIDs.first)
        // Item 0 holds the worker (spinning 30 s) while the launcher is killed.
        let inputs = [Faulty.input(0, spin: 30_000_000_000)] + (1..<20).map { Faulty.input($0) }
        let stream = try pool.mapUnordered(Faulty.self, inputs, chunkSize: 1)
        #expect(eventually { log.calls().contains(0) }, "item 0 never started")
        kill(launcher, SIGKILL)
        var outcomes: [Int: Result<Int, any Error>] = [:]
        for item in stream.blocking { outcomes[item.index] = item.result }
        #expect(outcomes.count == 20)
        guard case .failure(let error as PoolError)? = outcomes[0] else {
            Issue.record("item 0 should fail with a PoolError: \(String(describing: outcomes[0]))")
            return
        }
        #expect(error.code == .workerCrashed && error.inputIndexes == [0])
        #expect(error.message.contains("on host 127.0.0.1") && error.message.contains("lost its connection"))
        // Items 1...19 either ran on the next worker, or (sent behind item 0 over the lost
        // connection) failed as possibly run; none ran twice, none is missing.
        for index in 1..<20 {
            switch outcomes[index] {
            case .success(let value)?: #expect(value == index * 2)
            case .failure(let error as PoolError)?: #expect(error.code == .resultLost, "\(error)")
            default: Issue.record("item \(index): \(String(describing: outcomes[index]))")
            }
        }
        let counts = Dictionary(grouping: log.calls(), by: { $0 }).mapValues(\.count)
        #expect(counts.values.allSatisfy { $0 == 1 }, "some input ran twice: \(counts)")
        #expect(
            eventually(seconds: 30) { processIsGone(remotePID) }, "remote worker \(remotePID) outlived its connection")
    }

    @Test func aKilledParentLeavesNoRemoteWorker() throws {
        let server = try server()
        let parent = Process()
        parent.executableURL = URL(fileURLWithPath: fixturePath)
        parent.arguments = ["ssh-parent"]
        var environment = ProcessInfo.processInfo.environment
        environment["FIXTURE_SSH_PORT"] = "\(server.port)"
        environment["FIXTURE_SSH_DIRECTORY"] = server.directory
        environment["SWIFT_BACKTRACE"] = "enable=no"
        parent.environment = environment
        let output = Pipe()
        parent.standardOutput = output
        try parent.run()
        var line = ""
        let reader = output.fileHandleForReading
        while !line.contains("\n") {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            line += String(decoding: chunk, as: UTF8.self)
        }
        let pids = line.split(separator: " ").dropFirst().compactMap {
            Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(pids.count == 2, "fixture said: \(line)")
        #expect(pids.allSatisfy { !processIsGone($0) })
        kill(parent.processIdentifier, SIGKILL)
        parent.waitUntilExit()
        #expect(
            eventually(seconds: 60) { pids.allSatisfy(processIsGone) }, "remote workers \(pids) outlived their parent")
    }

    @Test func aMissingExecutableOnTheHostIsAClearError() throws {
        let pool = try sshPool(workers: 1, executable: "/nonexistent/pool-test-worker")
        defer { pool.shutdown() }
        let error = try #require(throws: PoolError.self) { try pool.submit(Square.self, 2).result() }
        #expect(error.code == .workerStartFailed)
        #expect(error.message.contains("host 127.0.0.1") && error.message.contains("/nonexistent/pool-test-worker"))
        #expect(error.message.contains("was not found") && error.message.contains("scp"))
    }

    @Test func aDifferentBuildOnTheHostIsAClearError() throws {
        // This test bundle's own build id differs from the fixture worker's.
        let pool = try sshPool(workers: 1) { $0.executable = .path(fixturePath, requireSameBuild: true) }
        defer { pool.shutdown() }
        let error = try #require(throws: PoolError.self) { try pool.submit(Square.self, 2).result() }
        #expect(error.code == .workerStartFailed)
        #expect(error.message.contains("host 127.0.0.1") && error.message.contains("different build"))
        #expect(error.message.contains(fixturePath))
    }

    /// A host nobody answers on is retried with a back-off, then dropped with a warning; the
    /// job goes on with the other host.
    @Test func anUnreachableHostIsDroppedAndTheJobGoesOn() throws {
        let server = try server()
        let deadPort = try TestEngines.freeLoopbackPort()
        var options = server.clientOptions
        options[1] = "\(deadPort)"
        let unreachable = WorkerLauncher.ssh("127.0.0.1", options: options)
        let warnings = Locked<[String]>([])
        let pool = try fixturePool { configuration in
            configuration.hosts = [WorkerHost(unreachable, workers: 1), WorkerHost(server.launcher(), workers: 1)]
            configuration.hostFailureLimit = 2
            configuration.onWarning = { line in warnings.withLock { $0.append(line) } }
        }
        defer { pool.shutdown() }
        let inputs = Array(0..<300)
        #expect(try pool.map(Square.self, inputs) == inputs.map { $0 * $0 })
        #expect(eventually { warnings.withLock { $0.contains { $0.contains("dropped after 2 failures") } } })
        let said = warnings.withLock { $0 }
        #expect(said.contains { $0.contains("host 127.0.0.1 failed") && $0.contains("again in 0.1 s") }, "\(said)")
    }

    @Test func withEveryHostUnreachableThePoolBreaksNamingEach() throws {
        let deadPort = try TestEngines.freeLoopbackPort()
        var options = try server().clientOptions
        options[1] = "\(deadPort)"
        let pool = try fixturePool { configuration in
            configuration.hosts = [WorkerHost(.ssh("127.0.0.1", options: options), workers: 1)]
            configuration.hostFailureLimit = 2
            configuration.onWarning = { _ in }
        }
        defer { pool.shutdown() }
        let error = try #require(throws: PoolError.self) { try pool.submit(Square.self, 2).result() }
        #expect(error.code == .workerStartFailed)
        #expect(error.message.contains("no host left") && error.message.contains("could not reach host 127.0.0.1"))
    }
}
