import Testing

@testable import PoolExecutors

/// GNU parallel's `--sshlogin` form and its Slurm and generic cousins.
@Suite struct HostLoginTests {
    @Test func loginsReadAsGNUParallelWritesThem() throws {
        let here = try HostLogin(parsing: ":")
        #expect(here.launcher.isLocal && here.workers == nil)
        let counted = try HostLogin(parsing: " 4/user@node7 ")
        #expect(counted.workers == 4 && counted.launcher.host == "user@node7")
        let liveness = "-o ConnectTimeout=30 -o ServerAliveInterval=15 -o ServerAliveCountMax=3"
        #expect(counted.launcher.description == "ssh -T -o BatchMode=yes \(liveness) -- user@node7")
        let withOptions = try HostLogin(parsing: "2/ssh -p 2222 -i key node7")
        #expect(withOptions.launcher.description == "ssh -T -o BatchMode=yes -p 2222 -i key \(liveness) -- node7")
        let slurm = try HostLogin(parsing: "8/srun --partition=debug")
        #expect(slurm.workers == 8 && slurm.launcher.host == "slurm")
        #expect(slurm.launcher.description.hasPrefix("srun --nodes=1 --ntasks=1 --unbuffered"))
        #expect(slurm.launcher.description.hasSuffix("--partition=debug"))
        #expect(try HostLogin(parsing: "ssh -vp22 -A node7").launcher.host == "node7")
        #expect(try HostLogin(parsing: "ssh -o BatchMode=no -l me node7").launcher.host == "node7")
        let docker = try HostLogin(parsing: "cmd: docker exec -i worker1")
        #expect(docker.launcher.description == "docker exec -i worker1")
    }

    @Test func hostileLoginsAreErrorsNotCrashes() {
        for text in [
            "", "   ", "0/node", "5000/node", "99999999999999999999/node", "x/y", "2/-oProxyCommand=x",
            "cmd:", "2/ssh -p", "2/ssh -p 22", "2/ssh -vp 22", "node\u{7}", "4/",
        ] {
            #expect(throws: PoolError.self, "\(text)") { try HostLogin(parsing: text) }
        }
    }

    @Test func aHostsFileNamesTheLineOfAMistake() throws {
        let logins = try HostLogin.list(parsing: "# cluster\n4/node1\n\n  2/node2\n:\n", source: "hosts")
        #expect(logins.map(\.launcher.host) == ["node1", "node2", ":"])
        let error = try #require(throws: PoolError.self) {
            try HostLogin.list(parsing: "4/node1\n0/node2\n", source: "hosts.txt")
        }
        #expect(error.message.hasPrefix("hosts.txt:2:"))
        // A file written on Windows.
        let crlf = try HostLogin.list(parsing: "4/node1\r\n2/node2\r\n", source: "hosts")
        #expect(crlf.map(\.launcher.host) == ["node1", "node2"])
    }

    @Test func theRemoteCommandQuotesEveryWordForTheFarShell() {
        let launcher = WorkerLauncher.ssh("node")
        let arguments = launcher.arguments(
            executable: "/opt/my app/worker", setting: "5:0:1024:0:0:stdio", environment: [("NAME", "it's $HOME")])
        let script = arguments.last ?? ""
        #expect(script.hasPrefix("sh -c '"))
        #expect(script.contains("/opt/my app/worker"))
        #expect(!script.contains("$HOME'") || script.contains("'\\''"))
        #expect(ShellWords.quote("it's") == "'it'\\''s'")
        #expect(ShellWords.quote("/usr/bin/x") == "/usr/bin/x")
        #expect(ShellWords.quote("") == "''")
    }
}
