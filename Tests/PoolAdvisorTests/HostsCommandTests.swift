import Foundation
import PoolAdvisor
import PoolTestFixtures
import Testing

/// `run`, `calibrate`: `--ssh`, `--hosts` and `--remote-executable` against a real sshd and a
/// one-node Slurm cluster on 127.0.0.1.
@Suite("pool-advisor with --ssh and --hosts", .serialized, .timeLimit(.minutes(10)))
struct HostsCommandTests {
    static let inputs = (0..<40).map { "{\"iterations\": 20000, \"seed\": \($0)}" }.joined(separator: "\n") + "\n"

    /// The ssh login of the test server: `N/ssh OPTIONS 127.0.0.1`.
    private func login(_ server: SSHServer, workers: Int) -> String {
        "\(workers)/ssh \(server.clientOptions.joined(separator: " ")) 127.0.0.1"
    }

    @Test(
        "run --ssh spreads a job over ssh workers and this machine, outputs in input order",
        .enabled(if: TestEngines.sshUsable))
    func runOverSSH() throws {
        let server = try #require(try SSHServer.shared())
        let file = try temporaryFile("hosts-cpu.jsonl", Self.inputs)
        let local = try runCommand(["run", "cpu", "--inputs", file, "--mode", "serial", "--quiet"])
        #expect(local.status == 0, "\(local.error)")
        let remote = try runCommand([
            "run", "cpu", "--inputs", file, "--mode", "processes", "--ssh", login(server, workers: 2), "--ssh", "1/:",
        ])
        #expect(remote.status == 0, "\(remote.error)")
        #expect(remote.output == local.output)
        #expect(remote.error.contains("processes"), "\(remote.error)")
        // Auto mode measures the host, weighs it against this machine, and runs the job.
        let auto = try runCommand(["run", "cpu", "--inputs", file, "--ssh", login(server, workers: 2)])
        #expect(auto.status == 0, "\(auto.error)")
        #expect(auto.output == local.output)
        #expect(auto.error.contains("ran 40 inputs"), "\(auto.error)")
    }

    @Test("run --hosts reads logins from a file, Slurm's among them", .enabled(if: TestEngines.slurmUsable))
    func runFromHostsFile() throws {
        let cluster = try #require(try SlurmCluster.shared())
        let file = try temporaryFile("hosts-file-cpu.jsonl", Self.inputs)
        let hosts = try temporaryFile("hosts.txt", "# the test cluster\n\n2/srun\n1/:\n")
        let local = try runCommand(["run", "cpu", "--inputs", file, "--mode", "serial", "--quiet"])
        let result = try runCommand(
            ["run", "cpu", "--inputs", file, "--hosts", hosts], environment: ["SLURM_CONF": cluster.configPath])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output == local.output)
    }

    @Test("calibrate --ssh measures the host through its launcher and caches it", .enabled(if: TestEngines.sshUsable))
    func calibrateOverSSH() throws {
        let server = try #require(try SSHServer.shared())
        let first = try runCommand(["calibrate", "--ssh", login(server, workers: 1), "--json", "--refresh"])
        #expect(first.status == 0, "\(first.error)")
        let profiles = try JSONDecoder().decode([HostProfile].self, from: Data(first.output.utf8))
        let profile = try #require(profiles.first)
        #expect(profiles.count == 1 && profile.host == "127.0.0.1")
        #expect(profile.usableCores == Machine.usableCores)  // the same machine, through ssh
        #expect(profile.implausibility == nil, "\(profile)")
        #expect(first.error.contains("measuring host 127.0.0.1"))
        // The second time it is the cache's, measured at the same moment.
        let again = try runCommand(["calibrate", "--ssh", login(server, workers: 1), "--json"])
        #expect(!again.error.contains("measuring host"), "\(again.error)")
        let cached = try JSONDecoder().decode([HostProfile].self, from: Data(again.output.utf8))
        #expect(cached == profiles)
        let text = try runCommand(["calibrate", "--ssh", login(server, workers: 1)])
        #expect(text.output.contains("round trip") && text.output.contains("cached in"), "\(text.output)")
    }

    @Test("hosts on the command line: mistakes are usage errors that say what a login looks like")
    func hostMistakes() throws {
        let file = try temporaryFile("hosts-mistakes.jsonl", "1\n")
        for (arguments, needle) in [
            (["--ssh", "0/node1"], "asks for 0 workers"),
            (["--ssh", "x/y"], "a host name has no '/'"),
            (["--ssh", "2/ssh -p 22"], "the value of ssh's -p") as ([String], String),
            (["--ssh", "2/:", "--workers", "3"], "give each host its count"),
            (["--ssh", "2/:", "--mode", "threads"], "run worker processes on those hosts"),
            (["--hosts", "/nonexistent/hosts.txt"], "cannot be read"),
            (["--ssh", "2/node1", "--remote-executable", "relative/path"], "absolute path"),
        ] {
            let result = try runCommand(["run", "sleep", "--inputs", file] + arguments)
            #expect(result.status == 2, "\(arguments): \(result.error)")
            #expect(result.error.contains(needle), "\(arguments): \(result.error)")
        }
        // A FIFO nobody writes to is refused at once, not waited on.
        let fifo = commandCache + "/hosts-fifo-\(getpid())"
        unlink(fifo)
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        let fromFIFO = try runCommand(["run", "sleep", "--inputs", file, "--hosts", fifo])
        #expect(fromFIFO.status == 2 && fromFIFO.error.contains("is not a regular file"), "\(fromFIFO.error)")
        let badFile = try temporaryFile("bad-hosts.txt", "2/:\n\n3/cmd:\n")
        let bad = try runCommand(["run", "sleep", "--inputs", file, "--hosts", badFile])
        #expect(bad.status == 2 && bad.error.contains("bad-hosts.txt:3:"), "\(bad.error)")
    }
}
