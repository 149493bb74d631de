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
                "/bin/sh", "-c", #"echo "${1}" | tr a-z A-Z"#, "sh", "it's",
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

    /// Capture files are named after the thread that waits for the command. While this test's
    /// thread runs this check it runs no command, so any file carrying its id is a leak, whatever
    /// other suites have open at the same moment.
    @Test("commands leave no capture files open")
    func noLeaks() throws {
        let thread = try #require(currentThreadID())
        let marker = ".tid-\(thread) "  // as /proc shows it: "/memfd:NAME (deleted)"
        // The name really is what the check looks for: the command sees its parent's files.
        let seen = try ExternalCommand.run(CommandCall(arguments: ["sh", "-c", "ls -l /proc/$PPID/fd"]))
        #expect(seen.stdout?.contains("pool-advisor-command-out" + marker) == true, "\(seen)")
        for _ in 0..<20 { _ = try ExternalCommand.run(CommandCall(arguments: ["true"])) }
        _ = try ExternalCommand.run(CommandCall(arguments: ["no-such-command-here"]))
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")
        }
        #expect(!open.contains { $0.contains("pool-advisor-command") && $0.contains(marker) }, "\(open)")
    }

    @Test("--shell: each {} becomes a quoted reference to $1, whatever quotes surround it")
    func shellScripts() throws {
        let scripts = [
            "echo {}": #"echo "${1}""#,
            "echo '{}'": #"echo ''"${1}"''"#,
            #"echo "{}""#: #"echo "${1}""#,
            #"echo "$(basename {} .txt)" `cat {}`"#: #"echo "$(basename "${1}" .txt)" `cat "${1}"`"#,
            #"echo "a\"{}" 'b{}c' \{}"#: #"echo "a\"${1}" 'b'"${1}"'c' \{}"#,
            "wc -c": #"wc -c "${1}""#,
        ]
        for (template, script) in scripts {
            #expect(try CommandTemplate(template, shell: true).script == script, "\(template)")
        }
        #expect(try CommandTemplate("echo {}").script == nil)
    }

    /// The input is data: payloads that would break out of any quoting never run, and arrive
    /// intact as the command's argument.
    @Test("--shell: hostile inputs are never run, and reach the script unchanged")
    func shellInjection() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("commands-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let marker = directory.appendingPathComponent("MARKER").path
        let payloads = [
            "$(touch \(marker))", "`touch \(marker)`", "'; touch \(marker); '", #""; touch \#(marker); ""#,
            #"\$(touch \#(marker))"#, #"'"$(touch \#(marker))"'"#, "x; touch \(marker)", "*  two  spaces  *",
        ]
        for template in ["echo {}", "echo '{}'", #"echo "{}""#] {
            let command = try CommandTemplate(template, shell: true)
            for payload in payloads {
                let outcome = try ExternalCommand.run(command.call(for: payload))
                #expect(outcome.stdout == payload + "\n", "\(template) with \(payload)")
                #expect(!FileManager.default.fileExists(atPath: marker), "\(template) ran \(payload)")
                try? FileManager.default.removeItem(atPath: marker)
            }
        }
    }

    /// Without a shell an input is one argv word: `--` (or a `./` prefix) keeps one that starts
    /// with `-` from being read as an option, as docs/cli.md says.
    @Test("without --shell, -- before {} makes an input starting with - an operand")
    func leadingDash() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dash-\(UUID().uuidString)").path
        try "a-v\nb\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        // grep -c PATTERN FILE counts the lines holding PATTERN; without --, "-v" is an option.
        let guarded = try ExternalCommand.run(try CommandTemplate("grep -c -- {} \(file)").call(for: "-v"))
        #expect(guarded.stdout == "1\n")
        let unguarded = try ExternalCommand.run(try CommandTemplate("grep -c {} \(file)").call(for: "-v"))
        #expect(unguarded.stdout != "1\n")
    }
}

/// The kernel id of the calling thread, from /proc/thread-self ("PID/task/TID").
func currentThreadID() -> Int? {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"))
        .flatMap { $0.split(separator: "/").last }.flatMap { Int($0) }
}
