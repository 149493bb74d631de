internal import PoolSystem
import PoolWire
import Synchronization

/// The entry guard that turns a process started by a ``ProcessPool`` into a worker.
///
/// Call ``runIfWorker(tasks:)`` as the first statement of `main`. In the program the user
/// started it returns at once. In a process a pool started, it serves task requests and never
/// returns: the process exits when the pool closes its request pipe or the parent dies.
///
/// Without the guard a worker would run `main` again; the pool notices (the worker exits, tries
/// to start a pool of its own, or stays silent past the start-up timeout) and fails with an
/// error that names the missing call.
public enum WorkerEntry {
    /// Set once this process has become a worker: a pool started from a task is refused.
    static let isServing = Atomic<Bool>(false)
    /// The worker variable seen at start-up (it is then removed, so that programs a task starts
    /// do not believe they are workers too).
    ///
    /// Initialised lazily, on first read (once, thread-safe, as every static `let`). The lazy
    /// read still sees the variable as the pool set it: the package's only removal of it is in
    /// ``runIfWorker(tasks:)``, right after its own read of this constant has fixed the value,
    /// and nothing in the package sets it in its own environment (pools pass it to workers in
    /// the spawn's environment). Reads after the removal get that fixed value.
    static let startedAsWorker: String? = Processes.environmentValue(WorkerProtocol.environmentKey)

    /// Becomes a worker serving `tasks` if a process pool started this process; otherwise
    /// returns immediately.
    ///
    /// - Parameter tasks: every ``PoolTask`` type the program submits to process pools. A name
    ///   missing here is reported to the submitter as ``PoolError/Code/unknownTask``.
    public static func runIfWorker(tasks: [any PoolTask.Type]) {
        // Each task's recorded form too (`run --joblog`, `--halt never`): no program lists those.
        var names = Set<String>()
        let recorded = (tasks + [ExternalCommand.self]).filter { names.insert($0.name).inserted }.map(recordedForm(of:))
        // Recorded in the parent too: a worker started from this executable serves these.
        let served = tasks + recorded + [WorkerEcho.self, WorkerHostFacts.self, ExternalCommand.self]
        registered.withLock { known in
            var table = known ?? [:]
            for task in served where table[task.name] == nil { table[task.name] = TaskSignature.of(task) }
            known = table
        }
        guard let setting = startedAsWorker else { return }
        Processes.removeEnvironmentValue(WorkerProtocol.environmentKey)
        isServing.store(true, ordering: .releasing)
        WorkerLoop(setting: setting, tasks: tasks + recorded).serve()
    }

    /// Task names and signatures passed to ``runIfWorker(tasks:)`` in this process (with the
    /// built-in ones every worker serves); nil until it was called.
    static let registered = Locked<[String: String]?>(nil)

    /// Checks, without starting a worker, that a worker started from this executable would
    /// serve `task`: that this program called ``runIfWorker(tasks:)`` with it.
    ///
    /// Call it before work that may or may not go to worker processes, so that a missing
    /// registration fails the same way whatever mode is chosen (``AutoExecutor`` does).
    /// - Throws: ``PoolError`` of code ``PoolError/Code/unknownTask`` naming the fix.
    public static func checkRegistered<Task: PoolTask>(_ task: Task.Type) throws(PoolError) {
        let known = registered.withLock { $0 }
        guard let known else {
            throw PoolError(
                .unknownTask,
                "task '\(Task.name)' is not registered: this program never called WorkerEntry.runIfWorker(tasks:); add `WorkerEntry.runIfWorker(tasks: [\(Task.name).self])` as the first statement of main, so a worker process can run it"
            )
        }
        guard let signature = known[Task.name] else {
            throw PoolError(
                .unknownTask,
                "task '\(Task.name)' is not registered: add \(Task.name).self to WorkerEntry.runIfWorker(tasks:) at the top of main, so a worker process can run it (registered: \(known.keys.sorted().joined(separator: ", ")))"
            )
        }
        guard signature == TaskSignature.of(task) else {
            throw PoolError(
                .unknownTask,
                "task '\(Task.name)' has signature \(TaskSignature.of(task)) here but \(signature) in WorkerEntry.runIfWorker(tasks:): two tasks share the name; give one another name"
            )
        }
    }

    /// Whether this process is a pool worker (the guard ran, or should have).
    public static var isWorkerProcess: Bool { startedAsWorker != nil }

    /// Called when a pool is created: refuses pools inside workers, and reports a worker whose
    /// `main` ran without the guard to its parent before stopping it.
    static func checkPoolCreationAllowed() throws {
        guard startedAsWorker != nil else { return }
        if isServing.load(ordering: .acquiring) {
            throw PoolError(
                .broken,
                "a ProcessPool cannot be created inside a worker process: run the work in the task itself or on a ThreadPool"
            )
        }
        let executable = Processes.executablePath() ?? "this executable"
        WorkerLoop.sendFatal(
            "the worker process (\(executable)) ran main() instead of serving tasks: add `WorkerEntry.runIfWorker(tasks: [...])` as the first statement of main, before any other work"
        )
        Processes.exitNow(WorkerProtocol.fatalExitStatus)
    }
}

/// The worker's request loop: one thread, blocking reads, results flushed in order.
struct WorkerLoop {
    private struct Runner {
        let name: String
        let signature: String
        /// Decodes an input, runs the task on it and encodes the output (or the error) into
        /// the builder, or the output into the region if one is offered and it fits there (then
        /// returning its size). With a pin, the input lies in the arguments arena and
        /// ``ZeroCopyBytes`` in it borrow from there, holding the pin.
        let run:
            (UnsafeRawBufferPointer, ArgumentPin?, FrameBuilder, UnsafeMutableRawBufferPointer?) -> (ItemStatus, Int?)
    }

    private let runners: [Runner]
    private let parentPID: Int32?
    /// The pool's largest frame: an output that cannot fit in one reply fails alone.
    private let maximumFrameBytes: Int
    /// Outputs of at least this many encoded bytes go through the results arena.
    private let sharedThreshold: Int?
    /// The fault-injection tests' settings: reservations in the results arena fail (bit 0),
    /// every second shared result is sent with a corrupt reference (bit 1).
    private let injectedFaults: Int
    /// A remote worker: the protocol arrives on standard input and output.
    private let overStandardStreams: Bool

    init(setting: String, tasks: [any PoolTask.Type]) {
        // Every worker also serves the echo (for calibration) and external commands.
        let builtIn: [any PoolTask.Type] = [WorkerEcho.self, WorkerHostFacts.self, ExternalCommand.self].filter {
            candidate in
            !tasks.contains { $0.name == candidate.name }
        }
        runners = (tasks + builtIn).map { Self.runner(for: $0) }
        let fields = setting.split(separator: ":")
        parentPID = fields.count > 1 ? Int32(fields[1]).flatMap { $0 > 0 ? $0 : nil } : nil
        maximumFrameBytes =
            fields.count > 2 ? Int(fields[2]) ?? FrameHeader.defaultMaximumPayload : FrameHeader.defaultMaximumPayload
        sharedThreshold = fields.count > 3 ? Int(fields[3]).flatMap { $0 > 0 ? $0 : nil } : nil
        injectedFaults = fields.count > 4 ? Int(fields[4]) ?? 0 : 0
        overStandardStreams = fields.count > 5 && fields[5] == "stdio"
    }

    private static func runner<Task: PoolTask>(for task: Task.Type) -> Runner {
        let decoder = WireDecoder()
        return Runner(name: Task.name, signature: TaskSignature.of(task)) { input, pin, builder, region in
            let value: Task.Input
            do {
                value =
                    try pin.map { try decoder.decode(Task.Input.self, borrowing: input, lender: $0) }
                    ?? decoder.decode(Task.Input.self, from: input)
            } catch {
                return (failure(error, code: .codingError, into: builder), nil)
            }
            let output: Task.Output
            do {
                output = try Task.run(value)
            } catch {
                return (failure(error, code: .taskError, into: builder), nil)
            }
            let mark = builder.payloadCount
            do {
                if let region { return (.success, try builder.encode(output, preferring: region)) }
                try builder.encode(output)
                return (.success, nil)
            } catch {
                builder.truncate(toPayloadCount: mark)
                return (failure(error, code: .codingError, into: builder), nil)
            }
        }
    }

    private static func failure(_ error: any Error, code: ItemStatus, into builder: FrameBuilder) -> ItemStatus {
        let failure = RemoteFailure(typeName: String(reflecting: type(of: error)), message: String(describing: error))
        try? builder.encode(failure)
        return code
    }

    /// Sends a fatal frame on the reply descriptor (best effort; the parent reports it).
    static func sendFatal(_ message: String) {
        let builder = FrameBuilder()
        builder.begin(kind: FrameKind.fatal.rawValue)
        builder.append(string: message)
        try? Descriptor.writeAll(WorkerProtocol.replyDescriptor, builder.finish())
    }

    func serve() -> Never {
        if overStandardStreams {
            Self.moveProtocolOffStandardStreams()
        } else {
            // Die with the parent even in the middle of a long task; the end of the request
            // stream covers the rest. The re-check closes the race where the parent died before
            // prctl.
            Processes.dieWithParent()
        }
        // Programs a task starts must not inherit the protocol descriptors: a grandchild holding
        // the reply pipe would keep the parent from seeing this worker's death.
        for fd in [
            WorkerProtocol.requestDescriptor, WorkerProtocol.replyDescriptor, WorkerProtocol.progressDescriptor,
            WorkerProtocol.argumentsDescriptor, WorkerProtocol.resultsDescriptor,
        ] {
            Processes.setCloseOnExec(fd)
        }
        if let parentPID, Processes.parentPID() != parentPID { Processes.exitNow(0) }
        // Shared values are read from this worker's pool, and from no other process.
        SharedRegistry.trustedOwner.store(parentPID ?? -1, ordering: .releasing)
        Processes.ignoreBrokenPipeSignals()
        // ^C at a terminal reaches the whole foreground process group, workers included: the
        // parent decides what an interrupt does (`run` lets the running items finish), and a
        // worker lives exactly as long as its pool wants it (its pipes and the parent's death
        // end it).
        Signals.ignoreUnlessHandled(Signals.interrupt)

        var seen = Set<String>()
        for runner in runners where !seen.insert(runner.name).inserted {
            Self.sendFatal("two tasks passed to WorkerEntry.runIfWorker(tasks:) share the name '\(runner.name)'")
            Processes.exitNow(WorkerProtocol.fatalExitStatus)
        }
        // A remote worker inherited nothing past stderr: 5, 6 and 7 are not the pool's there.
        let page = overStandardStreams ? nil : ProgressPage(inherited: WorkerProtocol.progressDescriptor)
        // The arenas exist only when the pool uses shared memory; one that cannot be mapped is
        // not used (the hello says so, and the pool sends everything through the pipe).
        let arguments =
            sharedThreshold == nil || overStandardStreams
            ? nil
            : SharedArena(
                inherited: WorkerProtocol.argumentsDescriptor, writable: false, expectedName: "pool-advisor-arguments")
        let results =
            sharedThreshold == nil || page == nil || arguments == nil
            ? nil
            : SharedArena(
                inherited: WorkerProtocol.resultsDescriptor, writable: true, expectedName: "pool-advisor-results",
                failsReservations: injectedFaults & 1 != 0)
        let arenas = WorkerSharedValues(
            arguments: results == nil ? nil : arguments, results: results, page: page,
            threshold: sharedThreshold ?? .max, maximumFrameBytes: maximumFrameBytes,
            corruptsReferences: injectedFaults & 2 != 0)
        let builder = FrameBuilder()
        sayHello(with: builder, sharedMemory: arenas.results != nil)
        let reader = FrameReader(descriptor: WorkerProtocol.requestDescriptor)
        while true {
            let event: FrameReader.Event
            do {
                // While the pool still holds large results of ours, or emptied pages wait out
                // their grace, look up now and then to give back what it no longer needs (an
                // idle worker would otherwise keep the pages).
                event = try reader.next(timeoutMilliseconds: arenas.idleWaitMilliseconds())
            } catch {
                Self.sendFatal("the worker could not read its request stream: \(error)")
                Processes.exitNow(WorkerProtocol.fatalExitStatus)
            }
            switch event {
            case .timedOut:
                arenas.releaseConsumedResults(idle: true)
                do {
                    try arenas.releases.send(with: builder)
                } catch {
                    Processes.exitNow(0)  // the parent is gone
                }
            case .endOfStream:
                Processes.exitNow(0)
            case .frame(let kind, let payload):
                guard kind == FrameKind.run.rawValue else {
                    Self.sendFatal("the worker received a frame of unknown kind \(kind)")
                    Processes.exitNow(WorkerProtocol.fatalExitStatus)
                }
                do {
                    try runBatch(payload, builder: builder, page: page, arenas: arenas)
                } catch {
                    Self.sendFatal("the worker could not run a batch: \(error)")
                    Processes.exitNow(WorkerProtocol.fatalExitStatus)
                }
            }
        }
    }

    /// A remote worker's streams: the protocol moves from standard input and output to 3 and
    /// 4, standard input reads /dev/null and standard output goes to stderr, so what a task
    /// prints reaches the user instead of corrupting the stream. A watchdog thread ends the
    /// worker as soon as nobody reads its replies (the launcher or the pool died), even in the
    /// middle of a long task: a remote process gets no parent-death signal from the pool.
    private static func moveProtocolOffStandardStreams() {
        do {
            try Processes.moveStandardStreams(
                toRequests: WorkerProtocol.requestDescriptor,
                replies: WorkerProtocol.replyDescriptor)
        } catch {
            Processes.exitNow(WorkerProtocol.fatalExitStatus)  // nothing can be said: stdout is the stream
        }
        _ = try? PlatformThread.start(name: "worker-watchdog") {
            Processes.waitForHangUp(WorkerProtocol.replyDescriptor)
            Processes.exitNow(0)
        }
    }

    private func sayHello(with builder: FrameBuilder, sharedMemory: Bool) {
        let hello = WorkerHello(
            protocolVersion: WorkerProtocol.version, pid: Processes.currentPID(), buildID: Processes.buildID,
            executable: Processes.executablePath() ?? "", taskNames: runners.map(\.name),
            taskSignatures: runners.map(\.signature), mapsSharedMemory: sharedMemory)
        builder.begin(kind: FrameKind.hello.rawValue)
        try? builder.encode(hello)
        do {
            try Descriptor.writeAll(WorkerProtocol.replyDescriptor, builder.finish())
        } catch {
            Processes.exitNow(0)  // the parent is gone
        }
    }

    /// Runs one batch: `[batch u64][task u32][count u32]` then per item an ``InputPlacement``
    /// byte and a length-prefixed field. Replies with `[batch u64][first u32][count u32][busy ns
    /// u64]` and per item a status byte and a length-prefixed payload (or a reference into the
    /// results arena, flagged in the status byte), flushing at least every millisecond. Each
    /// finished item is also logged on the progress page until its reply is written, so a crash
    /// loses none.
    private func runBatch(
        _ payload: UnsafeRawBufferPointer, builder: FrameBuilder, page: ProgressPage?, arenas: WorkerSharedValues
    ) throws {
        var cursor = FrameCursor(payload)
        let batch = try cursor.read(UInt64.self)
        let taskIndex = Int(try cursor.read(UInt32.self))
        let count = Int(try cursor.read(UInt32.self))
        guard taskIndex < runners.count else {
            throw WireError(.invalidValue, at: 8, "task index \(taskIndex) is not registered")
        }
        let runner = runners[taskIndex]
        var reply = ReplyFrame(batch: batch, builder: builder, page: page, releases: arenas.releases)
        for index in 0..<count {
            let placement = try cursor.read(UInt8.self)
            let field = try cursor.readLengthPrefixed()
            let started = MonotonicClock.nanoseconds()
            page?.markStarted(batch: batch, index: index)
            let statusOffset = builder.payloadCount
            builder.append(fixed: UInt8(0))
            let lengthOffset = builder.beginLengthPrefix()
            let valueOffset = builder.payloadCount
            var status: ItemStatus
            var flags: UInt8 = 0
            var pinned: UInt8 = 0
            switch InputPlacement(rawValue: placement) {
            case .inline, .shared:
                arenas.releaseConsumedResults()
                var input = field
                var pin: ArgumentPin?
                do {
                    if placement == InputPlacement.shared.rawValue { (input, pin) = try arenas.argument(at: field) }
                } catch {
                    // A reference this worker cannot follow fails its item, not the worker.
                    status = Self.failure(error, code: .codingError, into: builder)
                    break
                }
                let offer = arenas.offerRegion()
                let (ran, inRegion) = runner.run(input, pin, builder, offer.map { arenas.memory(of: $0) })
                // A value the task kept still borrows the span: the pool must not reuse it yet.
                if ArgumentPin.settle(&pin) { pinned = WorkerProtocol.pinnedArgumentFlag }
                status = ran
                do {
                    if try arenas.placeOutput(from: builder, at: valueOffset, offer: offer, inRegion: inRegion, status)
                    {
                        flags = WorkerProtocol.sharedResultFlag
                    }
                } catch {
                    // No memory for a large output: it goes in the reply if a frame can hold it.
                    let encoded = builder.payloadCount - valueOffset
                    if encoded + ReplyFrame.headerBytes + FrameHeader.size + 5 > maximumFrameBytes {
                        builder.truncate(toPayloadCount: valueOffset)
                        status = Self.failure(
                            WireError(
                                .unencodable, at: 0,
                                "the output (\(encoded) bytes encoded) found no shared memory to travel in (\(error)) and is too large for a frame: free memory, or raise ProcessPool.Configuration.maximumFrameBytes"
                            ), code: .codingError, into: builder)
                    }
                }
            case .failedInParent:
                builder.append(bytes: field)  // the parent's encoding error, echoed as this item's
                status = .codingError
            case nil:
                throw WireError(.invalidValue, at: 0, "item \(index) has an unknown placement \(placement)")
            }
            builder.endLengthPrefix(lengthOffset)
            let recordBytes = builder.payloadCount - statusOffset
            if recordBytes + ReplyFrame.headerBytes + FrameHeader.size > maximumFrameBytes {
                // Too large for any reply: this item fails alone, its worker keeps serving.
                flags = 0
                builder.truncate(toPayloadCount: statusOffset + 1)
                let lengthOffset = builder.beginLengthPrefix()
                status = Self.failure(
                    WireError(
                        .unencodable, at: 0,
                        "the output (\(recordBytes) bytes encoded) exceeds the pool's maximum frame of \(maximumFrameBytes) bytes; raise ProcessPool.Configuration.maximumFrameBytes or return less"
                    ), code: .codingError, into: builder)
                builder.endLengthPrefix(lengthOffset)
            }
            builder.patchPayload(status.rawValue | flags | pinned, at: statusOffset)
            let finished = MonotonicClock.nanoseconds()
            try reply.add(itemAt: statusOffset, busy: finished &- started, maximumFrameBytes: maximumFrameBytes)
            page?.markFinished()
            if index + 1 < count && reply.isDue(now: finished) { try reply.flush() }
        }
        try reply.finish()
    }
}

/// The results frame a worker is filling for one batch, mirrored in the progress page's log.
private struct ReplyFrame {
    /// `[batch u64][first u32][count u32][busy ns u64]`.
    static let headerBytes = 24
    let batch: UInt64
    let builder: FrameBuilder
    let page: ProgressPage?
    /// Spans of kept arguments let go since: announced after each results frame.
    let releases: PinReleases
    /// Position in the batch of the frame's first item.
    private var first = 0
    private var pending = 0
    private var busy: UInt64 = 0
    private var lastFlush = MonotonicClock.nanoseconds()
    /// Set when the last item could not be logged: it must go out at once.
    private var unlogged = false

    init(batch: UInt64, builder: FrameBuilder, page: ProgressPage?, releases: PinReleases) {
        self.batch = batch
        self.builder = builder
        self.page = page
        self.releases = releases
        start()
    }

    private mutating func start() {
        builder.begin(kind: FrameKind.results.rawValue)
        builder.append(fixed: batch)
        builder.append(fixed: UInt32(first))
        builder.append(fixed: UInt32(0))
        builder.append(fixed: UInt64(0))
        page?.restartLog(batch: batch, first: first)
    }

    /// Counts the item whose record starts at payload offset `offset` (the builder's last),
    /// logging it. A record that would push the frame past the maximum is sent in a frame of
    /// its own, after the items before it.
    mutating func add(itemAt offset: Int, busy itemBusy: UInt64, maximumFrameBytes: Int) throws {
        var offset = offset
        if pending > 0 && builder.payloadCount + FrameHeader.size > maximumFrameBytes {
            let record = [UInt8](builder.payload(from: offset))
            builder.truncate(toPayloadCount: offset)
            try flush()
            offset = builder.payloadCount
            record.withUnsafeBytes { builder.append(bytes: $0) }
        }
        busy &+= itemBusy
        pending += 1
        unlogged = !(page?.appendToLog(builder.payload(from: offset)) ?? false)
    }

    /// Whether the frame should go out now: a millisecond since the last, a megabyte of
    /// results, or an item the log had no room for.
    func isDue(now: UInt64) -> Bool {
        unlogged || now &- lastFlush >= WorkerProtocol.flushIntervalNanoseconds
            || builder.payloadCount >= WorkerProtocol.flushBytes
    }

    /// Writes the frame (if it holds items) and starts the next one.
    mutating func flush() throws {
        guard pending > 0 else { return }
        try write()
        start()
    }

    /// Writes the batch's last frame, even an empty one (the parent waits for an answer to
    /// every batch). The log keeps its items until the next batch starts, which is harmless:
    /// the parent skips logged items it already received.
    mutating func finish() throws {
        try write()
    }

    private mutating func write() throws {
        builder.patchPayload(UInt32(pending), at: 12)
        builder.patchPayload(busy, at: 16)
        try Descriptor.writeAll(WorkerProtocol.replyDescriptor, builder.finish())
        try releases.send(with: builder)
        first += pending
        pending = 0
        busy = 0
        unlogged = false
        lastFlush = MonotonicClock.nanoseconds()
    }
}
