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
    }
}

/// Starting one worker: pipes, progress page, spawn and handshake (called by the slot's
/// conductor, `WorkerConductor.swift`), and reaping.
extension ProcessPoolCore {
    /// Spawns a worker and waits for its hello.
    func startWorker(slot: Int) throws -> WorkerConnection {
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
        lock.withLock { state.workerSpawned(slot: slot, pid: pid) }
        let reader = FrameReader(descriptor: replies.read.rawValue, maximumPayload: configuration.maximumFrameBytes)
        let connection: WorkerConnection
        do {
            let hello = try handshake(pid: pid, reader: reader)
            connection = try WorkerConnection(
                pid: pid, requestDescriptor: requests.write.rawValue, reader: reader, page: page,
                arenas: hello.mapsSharedMemory ? arenas : nil, hello: hello, name: "\(configuration.name)-w\(slot)")
        } catch {
            // A worker that ended before its hello was reaped by the handshake (its exit is in
            // the error): its pid may already belong to another process, never signal it.
            if (error as? PoolError)?.processExit == nil {
                Processes.kill(pid)
                _ = reap(pid)
            }
            throw error
        }
        // The connection closes both from here on.
        _ = requests.write.take()
        _ = replies.read.take()
        return connection
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

    private func handshake(pid: Int32, reader: FrameReader) throws -> WorkerHello {
        let path = launch.displayPath
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
                "worker \(pid) (\(path)) wrote something other than the protocol's hello on its protocol descriptor; \(guardAdvice)",
                underlying: error)
        }
        switch event {
        case .frame(let kind, let payload) where kind == FrameKind.hello.rawValue:
            let hello = try WireDecoder().decode(WorkerHello.self, from: payload)
            guard hello.protocolVersion == WorkerProtocol.version else {
                throw PoolError(
                    .workerStartFailed,
                    "worker \(path) speaks protocol version \(hello.protocolVersion), this process \(WorkerProtocol.version): rebuild them together"
                )
            }
            if launch.requireSameBuild && hello.buildID != Processes.buildID {
                throw PoolError(
                    .workerStartFailed,
                    "worker \(path) is a different build (build id \(hello.buildID.isEmpty ? "none" : hello.buildID)) from this process (\(Processes.buildID.isEmpty ? "none" : Processes.buildID)); rebuild and restart so both run the same binary"
                )
            }
            return hello
        case .frame(let kind, let payload) where kind == FrameKind.fatal.rawValue:
            var cursor = FrameCursor(payload)
            let message = (try? cursor.readString()) ?? "no reason given"
            throw PoolError(.workerStartFailed, "worker \(pid) (\(path)) could not start: \(message)")
        case .frame(let kind, _):
            throw PoolError(
                .workerStartFailed, "worker \(pid) (\(path)) began with a frame of kind \(kind) instead of its hello")
        case .endOfStream:
            let exit = reap(pid)
            throw PoolError(
                .workerStartFailed,
                "worker \(pid) (\(path)) \(exit) before its handshake; \(guardAdvice)", processID: pid,
                processExit: exit)
        case .timedOut:
            throw PoolError(
                .workerStartFailed,
                "worker \(pid) (\(path)) did not answer within \(configuration.startTimeout); \(guardAdvice) (without it the worker runs main instead of serving)",
                processID: pid)
        }
    }

    /// Collects a worker's exit status: it is normally already exiting; if it has not ended
    /// within two seconds it is killed.
    func reap(_ pid: Int32) -> ProcessExit {
        for attempt in 0..<2_100 {
            if let exit = Processes.reap(pid, blocking: false) { return exit }
            Processes.pause(microseconds: attempt < 100 ? 10 : 1_000)
        }
        Processes.kill(pid)
        return Processes.reap(pid, blocking: true) ?? .unknown
    }
}
