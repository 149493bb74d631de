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
            "\(WorkerProtocol.environmentKey)=\(WorkerProtocol.version):\(Processes.currentPID()):\(configuration.maximumFrameBytes)"
        let prefix = WorkerProtocol.environmentKey + "="
        var entries: [String] = Processes.environment().filter { !$0.hasPrefix(prefix) }
        for (name, value) in configuration.environment.sorted(by: { $0.key < $1.key }) {
            entries.append("\(name)=\(value)")
        }
        entries.append(marker)
        environment = entries
    }
}

/// Why a worker's reply stream ended.
enum WorkerEnd {
    /// The pool closed its request pipe on purpose (shutdown, recycling).
    case closed
    /// It died on its own; `fatal` is what it said first, if anything.
    case crashed(fatal: String?)
    /// The pool killed it because item `index` of batch `batch` ran past the task timeout.
    case timedOut(batch: UInt64, index: Int)
    /// It broke the protocol; the pool killed it.
    case protocolError(String)
}

extension ProcessPoolCore {
    /// The life of worker slot `slot`: start a worker, serve it until it ends, account for what
    /// it held, and start another while the pool still has work for it.
    func conduct(slot: Int) {
        while keepsSlotAlive() {
            let connection: WorkerConnection
            do {
                connection = try startWorker(slot: slot)
            } catch {
                breakPool(
                    error as? PoolError ?? PoolError(.workerStartFailed, "a worker could not start", underlying: error))
                break
            }
            enum Start { case serve, close, kill }
            let start = lock.withLock { () -> Start in
                slots[slot].startingPID = nil
                slots[slot].connection = connection
                if case .terminated = lifecycle { return .kill }  // terminate() raced the handshake
                return shouldCloseLocked(slot) ? .close : .serve
            }
            switch start {
            case .kill: Processes.kill(connection.pid)
            case .close: connection.closeRequests(discardQueued: false)
            case .serve: break
            }
            pump()
            let end = serve(slot: slot, connection: connection)
            connection.closeRequests(discardQueued: true)
            let exit = reap(connection.pid)
            connection.joinWriter()
            Descriptor.close(connection.reader.descriptor)
            workerEnded(slot: slot, connection: connection, end: end, exit: exit)
        }
        lock.withLock {
            conductorsRunning -= 1
            conductorsFinished.broadcast()
        }
    }

    /// Whether a slot should (re)start a worker: the pool runs, or is draining queued work.
    private func keepsSlotAlive() -> Bool {
        lock.withLock {
            switch lifecycle {
            case .running: return true
            case .shuttingDown: return hasUndispatchedWork
            case .terminated, .broken: return false
            }
        }
    }

    /// Spawns a worker and waits for its hello.
    private func startWorker(slot: Int) throws -> WorkerConnection {
        let requests = try Processes.makePipe(capacity: 1 << 20)
        let replies: (read: Int32, write: Int32)
        do {
            replies = try Processes.makePipe(capacity: 1 << 20)
        } catch {
            Descriptor.close(requests.read)
            Descriptor.close(requests.write)
            throw error
        }
        let page = ProgressPage()
        #if os(Linux)
            // Without the page a crash could be neither attributed nor its finished results
            // recovered: refuse to run a worker with weaker promises than documented.
            guard page != nil else {
                for fd in [requests.read, requests.write, replies.read, replies.write] { Descriptor.close(fd) }
                throw PoolError(
                    .workerStartFailed,
                    "could not create worker \(slot)'s shared progress page (memfd_create or mmap failed); free memory or descriptors (ulimit -n) and try again"
                )
            }
        #endif
        let childEnds = [requests.read, replies.write] + (page.map { [$0.descriptor] } ?? [])
        let pid: Int32
        do {
            pid = try Processes.spawn(
                path: launch.spawnPath, arguments: launch.arguments, environment: launch.environment,
                childDescriptors: childEnds)
        } catch {
            for fd in [requests.read, requests.write, replies.read, replies.write] { Descriptor.close(fd) }
            throw PoolError(.workerStartFailed, "could not start worker \(launch.displayPath)", underlying: error)
        }
        Descriptor.close(requests.read)
        Descriptor.close(replies.write)
        lock.withLock { slots[slot].startingPID = pid }
        let reader = FrameReader(descriptor: replies.read, maximumPayload: configuration.maximumFrameBytes)
        do {
            let hello = try handshake(pid: pid, reader: reader)
            return try WorkerConnection(
                pid: pid, requestDescriptor: requests.write, reader: reader, page: page, hello: hello,
                name: "\(configuration.name)-w\(slot)")
        } catch {
            Processes.kill(pid)
            _ = reap(pid)
            Descriptor.close(requests.write)
            Descriptor.close(replies.read)
            throw error
        }
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

    /// Reads replies until the worker's stream ends; enforces the task timeout.
    private func serve(slot: Int, connection: WorkerConnection) -> WorkerEnd {
        var timedOut: (batch: UInt64, index: Int)?
        var fatal: String?
        var broken: String?
        while true {
            let wait = timedOut == nil && broken == nil ? timeoutMilliseconds(connection) : -1
            let event: FrameReader.Event
            do {
                event = try connection.reader.next(timeoutMilliseconds: wait)
            } catch let error as WireError where error.kind == .unexpectedEnd {
                // It died in the middle of writing a reply: a crash, not a protocol breach.
                event = .endOfStream
            } catch {
                broken =
                    "its reply stream is corrupt (did the task write on descriptor \(WorkerProtocol.replyDescriptor)?): \(error)"
                Processes.kill(connection.pid)
                return .protocolError(broken!)
            }
            switch event {
            case .frame(let kind, let payload) where kind == FrameKind.results.rawValue && broken == nil:
                do {
                    try handleResults(payload, slot: slot, connection: connection)
                } catch {
                    broken = "it sent results the pool did not expect: \(error)"
                    Processes.kill(connection.pid)
                }
            case .frame(let kind, let payload) where kind == FrameKind.fatal.rawValue:
                var cursor = FrameCursor(payload)
                fatal = try? cursor.readString()
            case .frame:
                if broken == nil {
                    broken = "it sent a frame the protocol does not allow here"
                    Processes.kill(connection.pid)
                }
            case .timedOut:
                guard let page = connection.page, let timeout = configuration.taskTimeout else { continue }
                let now = MonotonicClock.nanoseconds()
                let progress = page.read()
                if progress.startedAt != 0 && now &- progress.startedAt >= Self.nanoseconds(timeout) {
                    timedOut = (progress.batch, progress.index)
                    Processes.kill(connection.pid)
                }
            case .endOfStream:
                if let timedOut { return .timedOut(batch: timedOut.batch, index: timedOut.index) }
                if let broken { return .protocolError(broken) }
                let deliberate = lock.withLock { slots[slot].closed }
                return deliberate && fatal == nil ? .closed : .crashed(fatal: fatal)
            }
        }
    }

    /// How long to wait for replies before checking the running item against the timeout.
    private func timeoutMilliseconds(_ connection: WorkerConnection) -> Int32 {
        guard let timeout = configuration.taskTimeout, let page = connection.page else { return -1 }
        let limit = Self.nanoseconds(timeout)
        let progress = page.read()
        guard progress.startedAt != 0 else { return Int32(clamping: max(1, limit / 1_000_000)) }
        let elapsed = MonotonicClock.nanoseconds() &- progress.startedAt
        let left = elapsed >= limit ? 0 : limit - elapsed
        return Int32(clamping: left / 1_000_000 + 1)
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        // A start timeout of `.seconds(Int64.max)` means "wait for ever": saturate, never trap.
        let whole = UInt64(max(0, seconds)).multipliedReportingOverflow(by: 1_000_000_000)
        guard !whole.overflow else { return .max }
        let total = whole.partialValue.addingReportingOverflow(UInt64(max(0, attoseconds) / 1_000_000_000))
        return total.overflow ? .max : total.partialValue
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
