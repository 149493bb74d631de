/// How a ``ProcessPool`` starts a worker: on this machine, or through a command that yields a
/// byte stream to a worker on another host.
///
/// The worker protocol is framed bytes over one stream in each direction, so any engine that
/// forwards a command's standard input and output untouched can carry it: OpenSSH
/// (`ssh -T host CMD`), Slurm (`srun --nodes=1 --ntasks=1 --unbuffered CMD`), `kubectl exec -i
/// POD --`, `docker exec -i CTR`. pool-advisor builds no transport of its own.
///
/// A worker started through a launcher has no shared memory with the pool: every argument and
/// result travels through the stream, and it reports each finished item at once (there is no
/// progress page to recover unsent results from). On the far side it runs under `sh -c`,
/// which reports its exit status to the pool after its last frame, so a crash there is told
/// apart from a dropped connection.
public struct WorkerLauncher: Sendable, Hashable, CustomStringConvertible {
    init(
        transport: Transport, host: String, executable: String? = nil, program: [String]? = nil,
        runsInOrder: Bool = false
    ) {
        self.transport = transport
        self.host = host
        self.executable = executable
        self.program = program
        self.runsInOrder = runsInOrder
    }

    enum Transport: Sendable, Hashable {
        case local
        /// `prefix` then the remote command; `joinsCommand` when the prefix hands its last
        /// argument to a shell on the far side as one string (ssh), instead of as argv.
        case command(prefix: [String], joinsCommand: Bool)
    }

    let transport: Transport
    /// The host as errors, warnings and reports name it (`user@node7`, `slurm`, `:` for here).
    public var host: String
    /// The worker executable's path on the far side. Nil (the default) uses the pool's
    /// executable path, as on a cluster whose nodes share a file system with this one.
    public var executable: String?
    /// Variables set for the launcher itself, on this machine (`SLURM_CONF`, `KUBECONFIG`,
    /// `SSH_AUTH_SOCK`); the workers' own come from ``ProcessPool/Configuration/environment``.
    public var environment: [String: String] = [:]
    /// The argv of a worker that is a program of its own (``program(_:name:runsInOrder:)``), run instead of
    /// `executable --pool-advisor-worker`; nil for this program's own workers.
    package let program: [String]?
    /// A program worker on this machine that runs each batch's items one after another and
    /// answers each at once (``program(_:name:runsInOrder:)``): when it ends, everything it
    /// wrote has arrived, so the items after the first unanswered one never started.
    package let runsInOrder: Bool

    /// Workers on this machine, spawned directly (the default).
    public static let local = WorkerLauncher(transport: .local, host: ":")

    /// Workers on `destination` (`host`, `user@host`, an alias from `~/.ssh/config`) through
    /// OpenSSH, with `-T -o BatchMode=yes` (no terminal, never a password prompt), and, unless
    /// `options` set them (ssh keeps the first value it reads), `ConnectTimeout=30` and
    /// `ServerAliveInterval=15` with `ServerAliveCountMax=3`: a host that stops answering ends
    /// its connection within a minute instead of waiting on TCP for hours.
    ///
    /// - Parameters:
    ///   - options: extra `ssh` arguments placed before the destination (`["-p", "2222"]`,
    ///     `["-i", "key"]`, `["-o", "ControlMaster=auto"]`).
    ///   - executable: the worker's path on that host; nil uses this executable's path.
    ///   - command: the ssh client to run; `"ssh"` looks it up in `PATH`.
    public static func ssh(
        _ destination: String, options: [String] = [], executable: String? = nil, command: String = "ssh"
    ) -> WorkerLauncher {
        WorkerLauncher(
            transport: .command(
                prefix: [command, "-T", "-o", "BatchMode=yes"] + options + sshLiveness + ["--", destination],
                joinsCommand: true),
            host: destination, executable: executable)
    }

    /// Keep-alive and connect limits for ssh, after the caller's options so theirs win.
    static let sshLiveness = [
        "-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3",
    ]

    /// Workers placed by Slurm: each is one `srun --nodes=1 --ntasks=1 --unbuffered` job step
    /// (run inside an allocation, `salloc` or `sbatch`, or one is requested per worker).
    ///
    /// - Parameters:
    ///   - options: extra `srun` arguments (`["--partition=debug"]`, `["--cpus-per-task=4"]`).
    ///   - executable: the worker's path on the nodes; nil uses this executable's path.
    public static func slurm(options: [String] = [], executable: String? = nil) -> WorkerLauncher {
        WorkerLauncher(
            transport: .command(
                prefix: ["srun", "--nodes=1", "--ntasks=1", "--unbuffered", "--quiet"] + options,
                joinsCommand: false),
            host: "slurm", executable: executable)
    }

    /// Workers started by any command that runs its trailing arguments elsewhere with standard
    /// input and output forwarded: `["kubectl", "exec", "-i", "pod-1", "--"]`,
    /// `["docker", "exec", "-i", "worker"]`.
    ///
    /// - Parameters:
    ///   - prefix: the command; the worker command follows as `sh -c SCRIPT`.
    ///   - host: the name errors and reports use for where it runs.
    ///   - joinsCommand: whether the command passes its arguments to a shell on the far side as
    ///     one string, as ssh does (the script is then quoted as one word).
    ///   - executable: the worker's path on the far side; nil uses this executable's path.
    public static func command(
        _ prefix: [String], host: String, joinsCommand: Bool = false, executable: String? = nil
    ) -> WorkerLauncher {
        WorkerLauncher(
            transport: .command(prefix: prefix, joinsCommand: joinsCommand), host: host, executable: executable)
    }

    /// Workers that are another program speaking the worker protocol on its standard input and
    /// output, started on this machine under `sh -c` (pool-advisor's Python worker is one). The
    /// program is not this build, so its hello's build id is not checked; it must serve the
    /// tasks the pool runs, with the same signatures.
    ///
    /// - Parameters:
    ///   - arguments: the program and its arguments (`["python3", "/path/worker.py"]`).
    ///   - name: how errors and reports name these workers (`python3`).
    ///   - runsInOrder: whether the program runs a batch's items one at a time, in order,
    ///     reading no further batch until it has answered each: when it ends, the items after
    ///     the one it was running are known not to have started, and go to another worker.
    ///     False (several at once, on threads): they may have run, and fail as possibly run.
    public static func program(_ arguments: [String], name: String, runsInOrder: Bool = false) -> WorkerLauncher {
        WorkerLauncher(
            transport: .command(prefix: [], joinsCommand: false), host: name, program: arguments,
            runsInOrder: runsInOrder)
    }

    /// Whether the workers are another program (``program(_:name:runsInOrder:)``) rather than this build.
    public var runsOtherProgram: Bool { program != nil }

    /// Whether workers run on this machine with shared memory and a progress page.
    public var isLocal: Bool { transport == .local }

    public var description: String {
        switch transport {
        case .local: return ":"
        case .command(let prefix, _): return (prefix.isEmpty ? program ?? [] : prefix).joined(separator: " ")
        }
    }

    /// The argv that runs `script` with `sh -c` where this launcher's workers run (nil for
    /// ``local``): for peers that time the bare launcher (`cat` at the far end).
    package func commandLine(runningShell script: String) -> [String]? {
        guard case .command(let prefix, let joinsCommand) = transport else { return nil }
        return joinsCommand ? prefix + ["sh -c \(ShellWords.quote(script))"] : prefix + ["sh", "-c", script]
    }

    /// The engine's name, as the first word of its command (`ssh`, `srun`, `kubectl`), or `:`.
    public var engine: String {
        guard case .command(let prefix, _) = transport, let first = prefix.first ?? program?.first else { return ":" }
        return String(first.split(separator: "/").last ?? Substring(first))
    }

    /// The argv that starts a worker: the prefix, then `sh -c` running `executable` with the
    /// worker variable and `environment` set, then reporting its exit status in an
    /// ``FrameKind/exited`` frame (three decimal digits).
    func arguments(executable: String, setting: String, environment: [(String, String)]) -> [String] {
        var assignments = environment.map { "\($0.0)=\(ShellWords.quote($0.1))" }
        assignments.append("\(WorkerProtocol.environmentKey)=\(ShellWords.quote(setting))")
        let command = program ?? [executable, WorkerProtocol.workerArgument]
        let run = (assignments + command.map(ShellWords.quote)).joined(separator: " ")
        return commandLine(runningShell: "\(run); s=$?; printf '\(ExitTrailer.printfHeader)%03d' \"$s\"") ?? []
    }
}

/// One host of a pool: how its workers start, and how many run there at once.
public struct WorkerHost: Sendable, Hashable, CustomStringConvertible {
    /// How its workers start.
    public var launcher: WorkerLauncher
    /// Workers on it at once (at least 1).
    public var workers: Int

    /// `workers` workers started by `launcher`.
    public init(_ launcher: WorkerLauncher, workers: Int) {
        self.launcher = launcher
        self.workers = workers
    }

    /// `workers` workers on this machine.
    public static func local(workers: Int) -> WorkerHost { WorkerHost(.local, workers: workers) }

    /// GNU parallel's `--sshlogin` form, the `N/` count included.
    public var description: String { "\(workers)/\(launcher.isLocal ? ":" : launcher.host)" }
}

/// POSIX shell quoting: a word that every POSIX shell (and csh) reads back unchanged.
enum ShellWords {
    /// `word` in single quotes, each `'` written as `'\''`; bare when it holds only characters
    /// no shell treats specially.
    static func quote(_ word: String) -> String {
        let plain =
            !word.isEmpty
            && word.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII
                    && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                        || "/._-+:,=@%".unicodeScalars.contains(scalar))
            }
        if plain { return word }
        return "'" + word.replacingAll("'", with: "'\\''") + "'"
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        result.reserveCapacity(count)
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}

/// The frame `sh` writes after a remote worker exits: header, then its status as three
/// ASCII digits. Its arrival tells the pool that everything the worker wrote came before it.
enum ExitTrailer {
    /// The frame header for a 3-byte ``FrameKind/exited`` payload in `printf`'s octal escapes:
    /// magic "PW", kind, a reserved zero, length 3 (little-endian).
    static var printfHeader: String {
        let bytes: [UInt8] = [0x50, 0x57, FrameKind.exited.rawValue, 0, 3, 0, 0, 0]
        return bytes.map { "\\" + String($0, radix: 8).leftPadded(to: 3) }.joined()
    }

    /// The exit status in a trailer's payload, or nil when it is not three digits.
    static func status(in payload: UnsafeRawBufferPointer) -> Int32? {
        guard payload.count == 3, payload.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return payload.reduce(Int32(0)) { $0 * 10 + Int32($1 - 0x30) }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
