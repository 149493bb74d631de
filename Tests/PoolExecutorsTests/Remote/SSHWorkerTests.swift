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
        try expectLostConnectionFailsOnlyItsItems(pool, count: 20, log: log, host: "127.0.0.1")
    }

    @Test func aKilledParentLeavesNoRemoteWorker() throws {
        let server = try server()
        let log = CallLog()
        defer { log.remove() }
        let (parent, pids, line) = try startFixtureParent(
            ["ssh-parent"],
            environment: [
                "FIXTURE_SSH_PORT": "\(server.port)", "FIXTURE_SSH_DIRECTORY": server.directory,
                "SWIFT_BACKTRACE": "enable=no", "FAULT_LOG": log.path,
            ])
        #expect(pids.count == 2, "fixture said: \(line)")
        // Both workers are in a ten-minute task when the parent dies.
        #expect(eventually(seconds: 60) { Set(log.calls()) == [1, 2] }, "the workers' tasks never started")
        #expect(pids.allSatisfy { !processIsGone($0) })
        kill(parent.processIdentifier, SIGKILL)
        parent.waitUntilExit()
        let gone = eventually(seconds: 60) { pids.allSatisfy(processIsGone) }
        #expect(gone, "remote workers \(pids) outlived their parent")
        if !gone { for pid in pids { kill(pid, SIGKILL) } }
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
