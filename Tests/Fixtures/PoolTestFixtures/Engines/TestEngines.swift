public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What the sshd and Slurm fixtures share: whether the engines are required, temporary
/// directories, free loopback ports, and daemons that die with the test process.
public enum TestEngines {
    /// With `POOL_ADVISOR_TEST_ENGINES=require` (as `.ci/run` sets) a missing engine fails its
    /// tests; otherwise they are skipped where the engine is not installed.
    public static var required: Bool {
        ProcessInfo.processInfo.environment["POOL_ADVISOR_TEST_ENGINES"] == "require"
    }

    /// Whether the ssh tests run: sshd is installed, or required (then its absence fails them).
    public static var sshUsable: Bool { required || installed("/usr/sbin/sshd") }

    /// Whether the Slurm tests run: Slurm and munge are installed, or required.
    public static var slurmUsable: Bool {
        required
            || ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/srun", "/usr/sbin/munged"].allSatisfy(installed)
    }

    /// Why an engine could not be used.
    public struct Missing: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    static func installed(_ path: String) -> Bool { access(path, X_OK) == 0 }

    /// A new private directory under the temporary directory, mode 755 (munged insists its
    /// socket's directory is not writable by others; sshd's files are read by root only).
    static func makeDirectory(prefix: String) throws -> String {
        var template = Array("\(NSTemporaryDirectory())/\(prefix).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Missing("mkdtemp failed: errno \(errno)") }
        let path = String(cString: made)
        chmod(path, 0o755)
        return path
    }

    /// Runs `path` with `arguments` to its end; throws unless it exits 0.
    @discardableResult
    static func run(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Missing(
                "\(path) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): \(text)")
        }
        return text
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick).
    public static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Missing("socket failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw Missing("bind failed: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts `command` in the background under a watchdog shell that kills it by pid once
    /// this test process is gone. Returns the daemon's pid and the watchdog's.
    static func startWatched(
        _ command: [String], in directory: String, name: String, environment: [String: String] = [:]
    ) throws -> (pid: Int32, watchdog: Int32) {
        let pidFile = "\(directory)/\(name).pid"
        try? FileManager.default.removeItem(atPath: pidFile)
        let quoted = command.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let script =
            "\(quoted) </dev/null >>'\(directory)/\(name).out' 2>&1 & d=$!; echo $d > '\(pidFile).tmp'; mv '\(pidFile).tmp' '\(pidFile)'; while kill -0 \(getpid()) 2>/dev/null && kill -0 $d 2>/dev/null; do sleep 0.5; done; kill -9 $d 2>/dev/null"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        var variables = ProcessInfo.processInfo.environment
        for (key, value) in environment { variables[key] = value }
        process.environment = variables
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<2_000 {  // 20 s: a loaded machine may take long to start a shell
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return (pid, process.processIdentifier)
            }
            usleep(10_000)
        }
        kill(process.processIdentifier, SIGKILL)
        throw Missing("\(name) did not start: \(command.joined(separator: " "))")
    }

    /// Removes `directory` (made by ``makeDirectory(prefix:)``) once this test process and the
    /// daemons' watchdogs are gone.
    static func removeWhenDone(_ directory: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c", "while kill -0 \(getpid()) 2>/dev/null; do sleep 0.5; done; sleep 2; rm -rf -- '\(directory)'",
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
    }

    /// Kills a watched daemon and its watchdog by pid.
    static func stop(_ started: (pid: Int32, watchdog: Int32)) {
        kill(started.pid, SIGTERM)
        kill(started.watchdog, SIGKILL)
    }
}
