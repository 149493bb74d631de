internal import PoolSystem
import PoolWire

/// Everything needed to start a worker, resolved once when the pool is created.
struct WorkerLaunch: Sendable {
    /// What `posix_spawn` runs (`/proc/self/exe` for this executable).
    let spawnPath: String
    /// The path shown in messages.
    let displayPath: String
    let arguments: [String]
    let environment: [String]
    let requireSameBuild: Bool
    /// Per host (``ProcessPool/Configuration/effectiveHosts``): the launcher's argv for a
    /// remote host, nil for this machine.
    let remoteArguments: [[String]?]
    /// Per host: the launcher's environment (this process's, with its own variables).
    let launcherEnvironments: [[String]]
    /// Per host: its name and the worker's path there, for messages.
    let hostNames: [String]
    let remotePaths: [String?]

    init(configuration: ProcessPool.Configuration) throws {
        switch configuration.executable {
        case .current:
            guard let path = Processes.executablePath() else {
                throw PoolError(
                    .workerStartFailed, "cannot find this executable's path (/proc/self/exe) to start workers")
            }
            #if os(Linux)
                spawnPath = "/proc/self/exe"
            #else
                spawnPath = path
            #endif
            displayPath = path
            requireSameBuild = true
        case .path(let path, let sameBuild):
            spawnPath = path
            displayPath = path
            requireSameBuild = sameBuild
        }
        arguments = [displayPath, WorkerProtocol.workerArgument]
        let marker =
            "\(WorkerProtocol.environmentKey)=\(WorkerProtocol.version):\(Processes.currentPID()):\(configuration.maximumFrameBytes):\(configuration.sharedMemoryThreshold ?? 0):\(configuration.injectedFaults)"
        let prefix = WorkerProtocol.environmentKey + "="
        var entries: [String] = Processes.environment().filter { !$0.hasPrefix(prefix) }
        for (name, value) in configuration.environment.sorted(by: { $0.key < $1.key }) {
            entries.append("\(name)=\(value)")
        }
        entries.append(marker)
        environment = entries
        // A remote worker has no parent to check, no shared memory, and speaks on its standard
        // streams ("stdio").
        let remoteSetting =
            "\(WorkerProtocol.version):0:\(configuration.maximumFrameBytes):0:\(configuration.injectedFaults):stdio"
        let extra = configuration.environment.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let hosts = configuration.effectiveHosts
        hostNames = hosts.map(\.launcher.host)
        let inherited = Processes.environment().filter { !$0.hasPrefix(prefix) }
        launcherEnvironments = hosts.map { host in
            let own = host.launcher.environment
            guard !own.isEmpty else { return inherited }
            return inherited.filter { entry in !own.keys.contains { entry.hasPrefix($0 + "=") } }
                + own.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        }
        // Without a path of its own, a remote worker runs this pool's executable at the same path.
        remotePaths = hosts.map { [displayPath] in
            $0.launcher.isLocal ? nil : $0.launcher.program?.first ?? $0.launcher.executable ?? displayPath
        }
        remoteArguments = zip(hosts, remotePaths).map { host, remotePath in
            remotePath.map { host.launcher.arguments(executable: $0, setting: remoteSetting, environment: extra) }
        }
    }
}

/// Starting one worker: pipes, progress page, spawn and handshake (called by the slot's
/// conductor, `WorkerConductor.swift`), and reaping.
extension ProcessPoolCore {
    /// Spawns a worker and waits for its hello.
    func startWorker(slot: Int) throws -> WorkerConnection {
        let host = slotHosts[slot]
        if let arguments = launch.remoteArguments[host] {
            return try startRemoteWorker(slot: slot, host: host, arguments)
        }
        // Each pipe end is owned until it is handed on: whatever fails below, every end still
        // open is closed exactly once, when its owner goes out of scope.
        let requests = try Processes.makePipe(capacity: 1 << 20)
        let replies = try Processes.makePipe(capacity: 1 << 20)
        let page = ProgressPage()
        // Without the page a crash could be neither attributed nor its finished results
        // recovered: refuse to run a worker with weaker promises than documented.
        guard let page else {
            throw PoolError(
                .workerStartFailed,
                "could not create worker \(slot)'s shared progress page (memfd_create or mmap failed); free memory or descriptors (ulimit -n) and try again"
            )
        }
        // Shared memory for large values, when the pool uses it. Without it (memfd or mmap
        // refused) the worker still serves, everything through the pipe.
        let arenas = makeArenas()
        // The worker gets the arguments arena read-only: it cannot punch holes in pages the
        // pool is about to write (the fault would be the pool's).
        let readOnlyArguments = arenas.flatMap { try? Files.openForReading("/proc/self/fd/\($0.arguments.descriptor)") }
        defer { if let readOnlyArguments { Descriptor.close(readOnlyArguments) } }
        var descriptors = [requests.read.rawValue, replies.write.rawValue, page.descriptor]
        if let arenas { descriptors += [readOnlyArguments ?? arenas.arguments.descriptor, arenas.results.descriptor] }
        let pid: Int32
        do {
            pid = try Processes.spawn(
                path: launch.spawnPath, arguments: launch.arguments, environment: launch.environment,
                childDescriptors: descriptors)
        } catch {
            throw PoolError(.workerStartFailed, "could not start worker \(launch.displayPath)", underlying: error)
        }
        // The child has its own copies of its ends.
        requests.read.close()
        replies.write.close()
        let process = WorkerProcess(pid: pid, command: nil, host: host, hostName: launch.hostNames[host])
        return try connect(
            slot: slot, process, requests: requests.write, replies: replies.read, page: page, arenas: arenas)
    }

    /// Records a spawned worker (or launcher) and waits for its hello; the connection then owns
    /// both pipe ends. A worker that fails the handshake is killed and reaped, unless it had
    /// ended already (its exit is in the error, its pid may belong to another process by now).
    private func connect(
        slot: Int, _ process: WorkerProcess, requests: consuming OwnedDescriptor, replies: consuming OwnedDescriptor,
        page: ProgressPage?, arenas: (arguments: SharedArena, results: SharedArena)?
    ) throws -> WorkerConnection {
        lock.withLock { state.workerSpawned(slot: slot, pid: process.killTarget) }
        let reader = FrameReader(descriptor: replies.rawValue, maximumPayload: configuration.maximumFrameBytes)
        let connection: WorkerConnection
        do {
            let hello = try handshake(process, reader: reader)
            connection = try WorkerConnection(
                process: process, requestDescriptor: requests.rawValue, reader: reader, page: page,
                arenas: hello.mapsSharedMemory ? arenas : nil, hello: hello, name: "\(configuration.name)-w\(slot)")
        } catch {
            if (error as? PoolError)?.processExit == nil {
                process.kill()
                _ = reap(process)
            }
            throw error
        }
        // The connection closes both from here on.
        _ = requests.take()
        _ = replies.take()
        return connection
    }

    /// Starts a worker on another host through its launcher, its standard input and output
    /// the request and reply streams (stderr is this process's), and waits for its hello.
    private func startRemoteWorker(slot: Int, host: Int, _ arguments: [String]) throws -> WorkerConnection {
        let requests = try Processes.makePipe(capacity: 1 << 20)
        let replies = try Processes.makePipe(capacity: 1 << 20)
        let command: Processes.RunningCommand
        do {
            command = try Processes.spawnLauncher(
                arguments, environment: launch.launcherEnvironments[host], standardInput: requests.read.rawValue,
                standardOutput: replies.write.rawValue)
        } catch {
            throw PoolError(
                .workerStartFailed,
                "could not start the launcher for host \(launch.hostNames[host]) (\(arguments.first ?? "")): is it installed and in PATH?",
                underlying: error)
        }
        requests.read.close()
        replies.write.close()
        let process = WorkerProcess(pid: command.pid, command: command, host: host, hostName: launch.hostNames[host])
        return try connect(slot: slot, process, requests: requests.write, replies: replies.read, page: nil, arenas: nil)
    }

    /// A new worker's two arenas, or nil when the pool sends every value through the pipe or
    /// the system refuses the memory.
    private func makeArenas() -> (arguments: SharedArena, results: SharedArena)? {
        guard configuration.sharedMemoryThreshold != nil else { return nil }
        let bytes = configuration.sharedMemoryBytesPerWorker
        guard
            let arguments = try? SharedArena(
                capacity: bytes, name: "pool-advisor-arguments", writable: true,
                failsReservations: configuration.failsSharedMemoryReservations),
            let results = try? SharedArena(capacity: bytes, name: "pool-advisor-results", writable: false)
        else { return nil }
        return (arguments, results)
    }

    private func handshake(_ process: WorkerProcess, reader: FrameReader) throws -> WorkerHello {
        let pid = process.pid
        let remotePath = launch.remotePaths[process.host]
        let path = remotePath ?? launch.displayPath
        // "worker 123 (/path)" here; "the worker on host h (/path)" elsewhere.
        let subject =
            remotePath == nil
            ? "worker \(pid) (\(path))"
            : configuration.effectiveHosts[process.host].launcher.runsOtherProgram
                ? "the \(process.hostName) worker (\(path))" : "the worker on host \(process.hostName) (\(path))"
        let guardAdvice =
            "a program used as a worker must call `WorkerEntry.runIfWorker(tasks: [...])` as the first statement of main"
        let timeout = Int32(
            clamping: configuration.startTimeout.components.seconds * 1000
                + configuration.startTimeout.components.attoseconds / 1_000_000_000_000_000)
        let event: FrameReader.Event
        do {
            event = try reader.next(timeoutMilliseconds: timeout)
        } catch {
            throw PoolError(
                .workerStartFailed,
                "\(subject) wrote something other than the protocol's hello on its protocol stream; \(guardAdvice)\(remotePath == nil ? "" : ", and nothing on the far side (a login script, the launcher) may write to standard output")",
                underlying: error)
        }
        switch event {
        case .frame(let kind, let payload) where kind == FrameKind.hello.rawValue:
            let hello = try WireDecoder().decode(WorkerHello.self, from: payload)
            guard hello.protocolVersion == WorkerProtocol.version else {
                throw PoolError(
                    .workerStartFailed,
                    "\(subject) speaks protocol version \(hello.protocolVersion), this process \(WorkerProtocol.version): rebuild them together\(copyAdvice(process, path))"
                )
            }
            let otherProgram = configuration.effectiveHosts[process.host].launcher.runsOtherProgram
            if launch.requireSameBuild && !otherProgram && hello.buildID != Processes.buildID {
                throw PoolError(
                    .workerStartFailed,
                    "\(subject) is a different build (build id \(hello.buildID.isEmpty ? "none" : hello.buildID)) from this process (\(Processes.buildID.isEmpty ? "none" : Processes.buildID)); \(remotePath == nil ? "rebuild and restart so both run the same binary" : "run the same binary on both sides\(copyAdvice(process, path))")"
                )
            }
            return hello
        case .frame(let kind, let payload) where kind == FrameKind.fatal.rawValue:
            var cursor = FrameCursor(payload)
            let message = (try? cursor.readString()) ?? "no reason given"
            throw PoolError(.workerStartFailed, "\(subject) could not start: \(message)")
        case .frame(let kind, let payload) where kind == FrameKind.exited.rawValue && remotePath != nil:
            let status = ExitTrailer.status(in: payload) ?? -1
            let exit = reap(process)
            let why: String
            switch status {
            case 127: why = "was not found there (sh exited with status 127)"
            case 126: why = "is not executable there (sh exited with status 126)"
            default: why = "exited with status \(status) before its handshake; \(guardAdvice)"
            }
            throw PoolError(
                .workerStartFailed,
                "the worker executable \(path) on host \(process.hostName) \(why)\(copyAdvice(process, path))",
                processID: pid, processExit: exit)
        case .frame(let kind, _):
            throw PoolError(.workerStartFailed, "\(subject) began with a frame of kind \(kind) instead of its hello")
        case .endOfStream:
            let exit = reap(process)
            if remotePath != nil {
                var error = PoolError(
                    .workerStartFailed,
                    "could not reach host \(process.hostName): its launcher (`\(configuration.effectiveHosts[process.host].launcher)`) \(exit) before the worker said hello (its own message, if any, is on standard error); check that the launcher runs a command on that host without a password or prompt",
                    processID: pid, processExit: exit)
                error.isTransient = true  // a network, a daemon or a scheduler may come back
                throw error
            }
            throw PoolError(
                .workerStartFailed, "\(subject) \(exit) before its handshake; \(guardAdvice)", processID: pid,
                processExit: exit)
        case .timedOut:
            var error = PoolError(
                .workerStartFailed,
                "\(subject) did not answer within \(configuration.startTimeout); \(remotePath == nil ? "" : "the host or its scheduler may be slow or busy (raise ProcessPool.Configuration.startTimeout), or ")\(guardAdvice) (without it the worker runs main instead of serving)",
                processID: pid)
            error.isTransient = remotePath != nil
            throw error
        }
    }

    /// How to put the right executable on a remote host, or nothing for this machine.
    private func copyAdvice(_ process: WorkerProcess, _ path: String) -> String {
        guard launch.remotePaths[process.host] != nil,
            !configuration.effectiveHosts[process.host].launcher.runsOtherProgram
        else { return "" }
        return
            "; copy this build there (for ssh: `scp \(launch.displayPath) \(process.hostName):\(path)`) or name the path it has there (WorkerLauncher's `executable`, or --remote-executable)"
    }

    /// Collects a worker's exit status (a launcher's, for a remote worker): it is normally
    /// already exiting; if it has not ended within two seconds it is killed.
    func reap(_ process: WorkerProcess) -> ProcessExit {
        // A worker still in its handshake is listed for terminate(): not once it may be gone.
        lock.withLock { state.forgetStarting(pid: process.pid) }
        if let command = process.command {
            for attempt in 0..<2_100 {
                if Processes.hasEnded(command) { break }
                if attempt == 2_099 { process.kill() }
                Processes.pause(microseconds: attempt < 100 ? 10 : 1_000)
            }
            return Processes.waitForLauncher(command)
        }
        let pid = process.pid
        for attempt in 0..<2_100 {
            if let exit = Processes.reap(pid, blocking: false) { return exit }
            Processes.pause(microseconds: attempt < 100 ? 10 : 1_000)
        }
        Processes.kill(pid)
        return Processes.reap(pid, blocking: true) ?? .unknown
    }
}

/// A worker process as its pool started it: directly (`command` nil), or through a launcher
/// whose process `pid` is (the worker itself runs on another host).
struct WorkerProcess: Sendable {
    let pid: Int32
    let command: Processes.RunningCommand?
    /// The index of its host in the configuration's ``ProcessPool/Configuration/effectiveHosts``.
    let host: Int
    let hostName: String
    var isRemote: Bool { command != nil }

    /// What `kill` takes to stop it: its pid, or for a launcher its whole process group (a
    /// launcher such as `env` or `sh` may run the worker as its child on this machine).
    var killTarget: Int32 { command == nil ? pid : -pid }

    /// Kills it (a launcher with everything in its process group).
    func kill() { Processes.kill(killTarget) }
}
