public import Foundation
public import PoolExecutors

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway OpenSSH server on 127.0.0.1 for the tests: its host key, the client's key,
/// config, pid and log all live in a temporary directory; it accepts root's key only and
/// listens on the loopback address alone.
///
/// Started once per test process, on first use. A watchdog shell kills it by its pid when the
/// test process ends, however it ends; ``stop()`` does so at once.
public final class SSHServer: Sendable {
    /// The directory holding everything the server uses.
    public let directory: String
    public let port: Int
    /// The pid of the `sshd -D` process.
    public let pid: Int32
    private let watchdog: Int32

    /// `ssh` options that reach this server with its throwaway key, trusting its host key
    /// without a known-hosts file.
    public var clientOptions: [String] {
        Self.options(directory: directory, port: port) + ["-o", "ConnectTimeout=20"]
    }

    /// The launcher that starts workers on this server (as `127.0.0.1`).
    public func launcher(executable: String? = nil) -> WorkerLauncher {
        .ssh("127.0.0.1", options: clientOptions, executable: executable)
    }

    /// The server of this test process, started on first use; nil (and the reason) when
    /// `sshd` is not installed and ``TestEngines/required`` is off.
    public static func shared() throws -> SSHServer? {
        try sharedServer.get()
    }

    private static let sharedServer: Result<SSHServer?, any Error> = Result {
        guard TestEngines.installed("/usr/sbin/sshd"), TestEngines.installed("/usr/bin/ssh-keygen") else {
            if TestEngines.required {
                throw TestEngines.Missing(
                    "sshd or ssh-keygen is not installed, and POOL_ADVISOR_TEST_ENGINES=require: apt-get install openssh-server openssh-client"
                )
            }
            return nil
        }
        return try SSHServer()
    }

    private init() throws {
        directory = try TestEngines.makeDirectory(prefix: "pool-advisor-sshd")
        TestEngines.removeWhenDone(directory)
        for key in ["host_key", "client_key"] {
            try TestEngines.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", "\(directory)/\(key)"])
        }
        try FileManager.default.copyItem(atPath: "\(directory)/client_key.pub", toPath: "\(directory)/authorized_keys")
        // Privilege separation needs this directory; apt does not create it without systemd.
        try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = try TestEngines.freeLoopbackPort()
            let config = """
                ListenAddress 127.0.0.1
                Port \(port)
                HostKey \(directory)/host_key
                AuthorizedKeysFile \(directory)/authorized_keys
                PidFile none
                StrictModes no
                UsePAM no
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PermitRootLogin prohibit-password
                MaxStartups 100:30:200
                MaxSessions 100
                LogLevel ERROR

                """
            try config.write(toFile: "\(directory)/sshd_config", atomically: true, encoding: .utf8)
            let started = try TestEngines.startWatched(
                ["/usr/sbin/sshd", "-D", "-f", "\(directory)/sshd_config", "-E", "\(directory)/sshd.log"],
                in: directory, name: "sshd")
            // Ready once it accepts a login and runs a command.
            var ready = false
            for _ in 0..<100 {
                let probe = try? TestEngines.run(
                    "/usr/bin/ssh",
                    ["-T", "-o", "BatchMode=yes"] + Self.options(directory: directory, port: port) + [
                        "127.0.0.1", "true",
                    ])
                if probe != nil {
                    ready = true
                    break
                }
                if kill(started.pid, 0) != 0 { break }
                usleep(50_000)
            }
            if ready {
                self.port = port
                pid = started.pid
                watchdog = started.watchdog
                return
            }
            TestEngines.stop(started)
            lastError = TestEngines.Missing(
                "sshd on port \(port) did not accept a login: \((try? String(contentsOfFile: "\(directory)/sshd.log", encoding: .utf8)) ?? "")"
            )
        }
        throw lastError ?? TestEngines.Missing("sshd did not start")
    }

    private static func options(directory: String, port: Int) -> [String] {
        [
            "-p", "\(port)", "-i", "\(directory)/client_key", "-o", "StrictHostKeyChecking=no", "-o",
            "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        ]
    }

    /// Kills the server and its watchdog by pid.
    public func stop() {
        TestEngines.stop((pid, watchdog))
    }
}
