internal import PoolAdvisor
internal import PoolSystem

/// `--ssh`, `--hosts` and `--remote-executable`: workers on other hosts, as `run` and
/// `calibrate` take them (GNU parallel's `--sshlogin` and `--sshloginfile`).
enum HostOptions {
    static let ssh = CommandOption.text(
        "--ssh", "LOGINS",
        help:
            "Run workers on these hosts: [N/][user@]host, ':' for this machine, comma-separated or repeated (GNU parallel's --sshlogin; without N/, the host's cores)."
    )
    static let hosts = CommandOption.text(
        "--hosts", "FILE",
        help: "Run workers on the hosts in FILE, one login per line; also 'N/srun OPTIONS…' and 'N/cmd: COMMAND…'.")
    static let remoteExecutable = CommandOption.text(
        "--remote-executable", "PATH",
        help: "The worker executable's path on the other hosts (default: this executable's own path).")

    /// The largest hosts file read.
    static let maximumFileBytes = 1 << 20

    /// The logins the command line names, in order: `--ssh` values, then `--hosts` lines.
    static func logins(_ parsed: ParsedArguments) throws -> [HostLogin] {
        var logins: [HostLogin] = []
        do {
            for value in try parsed.values(ssh) {
                for login in value.split(separator: ",", omittingEmptySubsequences: true) {
                    logins.append(try HostLogin(parsing: String(login)))
                }
            }
            if let path = try parsed.value(hosts) {
                logins += try HostLogin.list(parsing: try readHostsFile(path, parsed.spec), source: path)
            }
        } catch let error as PoolError {
            throw UsageError(message: error.message, command: parsed.spec)
        }
        guard logins.count <= HostLogin.maximumWorkers else {
            throw UsageError(
                message: "\(logins.count) hosts given; one job takes at most \(HostLogin.maximumWorkers)",
                command: parsed.spec)
        }
        if let path = try parsed.value(remoteExecutable) {
            guard path.hasPrefix("/") else {
                throw UsageError(
                    message: "--remote-executable must be an absolute path on the other hosts, not '\(path)'",
                    command: parsed.spec)
            }
            for index in logins.indices where !logins[index].launcher.isLocal {
                logins[index].launcher.executable = path
            }
        }
        return logins
    }

    /// The hosts to run on, every count known: a login without `N/` gets the host's cores
    /// (this machine's, or measured through its launcher and cached). Empty when none is given.
    static func resolve(_ parsed: ParsedArguments, _ context: CommandContext, quiet: Bool = false) throws
        -> [WorkerHost]
    {
        let calibration = HostCalibration()
        return try logins(parsed).map { login in
            if let workers = login.workers { return WorkerHost(login.launcher, workers: workers) }
            if login.launcher.isLocal { return .local(workers: Machine.usableCores) }
            if calibration.cachedProfile(for: login.launcher) == nil, !quiet {
                context.note("measuring host \(login.launcher.host) (cores, worker start, round trip, bandwidth)…\n")
            }
            do {
                return WorkerHost(login.launcher, workers: try calibration.profile(for: login.launcher).usableCores)
            } catch {
                throw CommandFailure(message: "host \(login.launcher.host): \(error)")
            }
        }
    }

    /// The other hosts the command line names, each measured through its launcher (cached),
    /// and the workers a multi-host plan runs on this machine (its count when `:` is listed).
    static func remoteHosts(_ parsed: ParsedArguments, _ context: CommandContext) throws -> ([RemoteHost], Int) {
        try measured(try resolve(parsed, context), context)
    }

    /// `hosts`' remote ones with their measured costs (cached), and this machine's workers
    /// among them.
    static func measured(_ hosts: [WorkerHost], _ context: CommandContext, quiet: Bool = false) throws
        -> ([RemoteHost], Int)
    {
        let calibration = HostCalibration()
        var remote: [RemoteHost] = []
        var local = 0
        for host in hosts {
            if host.launcher.isLocal {
                local += host.workers
                continue
            }
            if calibration.cachedProfile(for: host.launcher) == nil, !quiet {
                context.note("measuring host \(host.launcher.host) (cores, worker start, round trip, bandwidth)…\n")
            }
            do {
                remote.append(RemoteHost(try calibration.profile(for: host.launcher), workers: host.workers))
            } catch {
                throw CommandFailure(message: "host \(host.launcher.host): \(error)")
            }
        }
        return (remote, local)
    }

    /// A hosts file's text: a regular file of at most ``maximumFileBytes``, UTF-8. Opened
    /// without blocking and checked once open, so a FIFO swapped in for it cannot make the
    /// read wait for ever, nor a file grown since be read whole.
    private static func readHostsFile(_ path: String, _ spec: CommandSpec) throws -> String {
        func invalid(_ why: String) -> UsageError {
            UsageError(message: "the hosts file \(path) \(why)", command: spec)
        }
        let descriptor: Int32
        do throws(SystemCallError) {
            descriptor = try Files.openForReading(path, nonBlocking: true)
        } catch {
            throw invalid("cannot be read (\(error.reason))")
        }
        defer { Descriptor.close(descriptor) }
        guard let status = try? Files.status(of: descriptor), status.kind == .regular else {
            throw invalid("is not a regular file")
        }
        let bytes: [UInt8]
        do throws(SystemCallError) {
            bytes = try Descriptor.readAll(descriptor, limit: maximumFileBytes + 1)
        } catch {
            throw invalid("cannot be read (\(error.reason))")
        }
        guard bytes.count <= maximumFileBytes else { throw invalid("is larger than \(maximumFileBytes) bytes") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw invalid("is not UTF-8 text") }
        return text
    }
}
