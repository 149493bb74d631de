import Foundation
import PoolExecutors
import Testing

@Suite("External commands")
struct ExternalCommandTests {
    @Test("templates split like a shell would, without running one")
    func splitting() throws {
        #expect(
            try CommandTemplate("gzip -9 -c {}").call(for: "my file.txt").arguments == [
                "gzip", "-9", "-c", "my file.txt",
            ])
        #expect(try CommandTemplate("sh -c 'sleep 0.05'").call(for: "x").arguments == ["sh", "-c", "sleep 0.05", "x"])
        #expect(
            try CommandTemplate(#"printf "%s\n" "a b" c\ d --{}--"#).call(for: "$HOME").arguments == [
                "printf", "%s\\n", "a b", "c d", "--$HOME--",
            ])
        #expect(
            try CommandTemplate("echo {} | tr a-z A-Z", shell: true).call(for: "it's").arguments == [
                "/bin/sh", "-c", #"echo 'it'\''s' | tr a-z A-Z"#,
            ])
        #expect(throws: CommandTemplateError.self) { try CommandTemplate("echo 'open") }
        #expect(throws: CommandTemplateError.self) { try CommandTemplate("echo \\") }
        #expect(throws: CommandTemplateError.self) { try CommandTemplate("   ") }
    }

    @Test("a command's status, signal, output and errors come back; failures are outcomes, not errors")
    func outcomes() throws {
        let echo = try ExternalCommand.run(CommandCall(arguments: ["sh", "-c", "echo out; echo err >&2"]))
        #expect(echo == CommandOutcome(status: 0, signal: nil, stdout: "out\n", stdoutBase64: nil, stderr: "err\n"))
        #expect(try ExternalCommand.run(CommandCall(arguments: ["sh", "-c", "exit 3"])).status == 3)
        let killed = try ExternalCommand.run(CommandCall(arguments: ["sh", "-c", "kill -9 $$"]))
        #expect(killed.signal == 9 && killed.status == nil && !killed.succeeded)
        let missing = try ExternalCommand.run(CommandCall(arguments: ["no-such-command-here"]))
        #expect(missing.status == 127)
        #expect(missing.stderr.contains("no-such-command-here"))
        let binary = try ExternalCommand.run(CommandCall(arguments: ["printf", "\\200\\001"]))
        #expect(binary.stdout == nil && binary.stdoutBase64 == "gAE=")
        // Much more output than a pipe holds, on both streams at once: no deadlock.
        let loud = try ExternalCommand.run(
            CommandCall(arguments: ["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a; head -c 300000 /dev/zero >&2"]))
        #expect(loud.stdout?.count == 300_000)
        #expect(loud.stderr.utf8.count <= 4096)
    }

    /// The capture files are the only descriptors a command opens here, and they are named:
    /// none may stay open (other suites' descriptors come and go, so a count would be unreliable).
    @Test("commands leave no capture files open")
    func noLeaks() throws {
        for _ in 0..<20 { _ = try ExternalCommand.run(CommandCall(arguments: ["true"])) }
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")
        }
        #expect(!open.contains { $0.contains("pool-advisor-command") })
    }
}
