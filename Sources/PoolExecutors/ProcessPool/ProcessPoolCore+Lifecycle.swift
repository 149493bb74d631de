import PoolWire

extension ProcessPoolCore {
    /// Starts one conductor thread per worker slot.
    func startConductors() throws {
        try lock.withLock {
            for slot in slots.indices {
                conductorsRunning += 1
                do {
                    conductors.append(
                        try PlatformThread.start(name: "\(configuration.name)-c\(slot)") { [self] in conduct(slot: slot)
                        })
                } catch {
                    conductorsRunning -= 1
                    throw PoolError(
                        .workerStartFailed, "could not start the pool's conductor threads", underlying: error)
                }
            }
        }
    }

    /// Accounts for everything a worker held when it ended: items answered are done, and so are
    /// items it finished and logged on its progress page but had not sent (delivered from the
    /// log); the item it was running when it died failed (crash or timeout) unless retries allow
    /// another go; items it finished but could not report are re-run if idempotent, else failed
    /// as lost; items it never started go back to the queue.
    ///
    /// The page is read once the worker is gone, so it says exactly where the worker was: a
    /// timeout decided on an item that finished just before the kill landed blames the item the
    /// kill actually interrupted, which had started and so is not run again.
    func workerEnded(slot: Int, connection: WorkerConnection, end: WorkerEnd, exit: ProcessExit) {
        let progress = connection.page?.read()
        // Copied out of shared memory once: a process that still maps the page (a task's own
        // child) cannot change the records between checking and delivering them.
        let log = connection.page?.loggedItems()
        var failures: [(WorkSource, Int, any Error)] = []
        var recovered: RecoveredItems?
        lock.withLock {
            let batches = slots[slot].inFlight
            slots[slot] = Slot()
            let terminalError: PoolError? = {
                switch lifecycle {
                case .terminated: return PoolError(.shutDown, "process pool '\(configuration.name)' was terminated")
                case .broken(let error): return error
                case .running, .shuttingDown: return nil
                }
            }()
            recovered = log.flatMap { recoverLogged(batches, $0) }
            let story = DeathStory(end: end, exit: exit, connection: connection, batches: batches)
            let current = batches.first { $0.answered < $0.indexes.count }
            for batch in batches {
                for position in batch.answered..<batch.indexes.count {
                    if let recovered, recovered.batch === batch, recovered.positions.contains(position) { continue }
                    let index = batch.indexes[position]
                    if let terminalError {
                        failures.append((batch.source, index, terminalError))
                        continue
                    }
                    let fate = classify(position: position, of: batch, progress: progress, current: current)
                    switch fate {
                    case .notStarted:
                        requeue(index, of: batch.source)
                    case .lost:
                        if batch.source.isIdempotent {
                            requeue(index, of: batch.source)
                        } else {
                            failures.append((batch.source, index, lostError(batch, index, story)))
                        }
                    case .culprit:
                        let attempts = batch.source.attempts[index, default: 0]
                        if batch.source.isIdempotent && attempts < configuration.retries {
                            batch.source.attempts[index] = attempts + 1
                            requeue(index, of: batch.source)
                        } else {
                            failures.append((batch.source, index, culpritError(batch, position, story)))
                        }
                    }
                }
            }
        }
        if let recovered { deliverRecovered(recovered, connection: connection) }
        for (source, index, error) in failures { source.fail(index, with: error) }
        pump()
    }

    /// Finished items read back from a dead worker's log: positions of `batch`, their records.
    struct RecoveredItems {
        /// Keeps the copied records alive while the cursor reads them.
        let log: ProgressPage.LoggedItems
        let batch: Batch
        let positions: Range<Int>
        let cursor: FrameCursor
    }

    /// The items a dead worker logged but never replied, past those its reply frames already
    /// brought (lock held). Nil when nothing usable was logged; a log that does not parse is
    /// ignored, as if the worker had logged nothing.
    private func recoverLogged(_ batches: [Batch], _ log: ProgressPage.LoggedItems) -> RecoveredItems? {
        guard log.count > 0, let batch = batches.first(where: { $0.id == log.batch }),
            log.first < batch.indexes.count, log.count <= batch.indexes.count - log.first
        else { return nil }
        var cursor = FrameCursor(log.records)
        // Skip what the parent already received in reply frames.
        do {
            for _ in log.first..<max(log.first, batch.answered) {
                _ = try cursor.read(UInt8.self)
                _ = try cursor.readLengthPrefixed()
            }
        } catch { return nil }
        let positions = max(log.first, batch.answered)..<(log.first + log.count)
        guard !positions.isEmpty, (try? validateItems(cursor, count: positions.count)) != nil else { return nil }
        return RecoveredItems(log: log, batch: batch, positions: positions, cursor: cursor)
    }

    /// Delivers recovered items (no lock held). They were validated; should one still not
    /// decode, it and the rest fail rather than wait for ever.
    private func deliverRecovered(_ recovered: RecoveredItems, connection: WorkerConnection) {
        var cursor = recovered.cursor
        for position in recovered.positions {
            do {
                try deliver(recovered.batch, positions: position..<(position + 1), from: &cursor)
            } catch {
                let error = PoolError(
                    .resultLost,
                    "worker \(connection.pid) finished input \(recovered.batch.source.reportedIndex(recovered.batch.indexes[position])) but its logged result could not be read back: \(error)",
                    processID: connection.pid,
                    inputIndexes: [recovered.batch.source.reportedIndex(recovered.batch.indexes[position])])
                for rest in position..<recovered.positions.upperBound {
                    recovered.batch.source.fail(recovered.batch.indexes[rest], with: error)
                }
                return
            }
        }
    }

    private enum ItemFate { case notStarted, lost, culprit }

    /// What happened to the unanswered item at `position` of `batch` (lock held). `current` is
    /// the first batch with unanswered items: the one a worker without a page was running,
    /// since it runs its batches in order.
    private func classify(
        position: Int, of batch: Batch, progress: (startedAt: UInt64, batch: UInt64, index: Int)?, current: Batch?
    ) -> ItemFate {
        guard let progress else {
            // No progress page: blame the first unanswered item; the others of its batch may
            // have run (their results died with the worker), so they are not run again.
            guard batch === current else { return .notStarted }
            return position == batch.answered ? .culprit : .lost
        }
        guard progress.batch == batch.id else { return .notStarted }
        if progress.startedAt != 0 {
            return position == progress.index ? .culprit : position < progress.index ? .lost : .notStarted
        }
        // Between items: the page holds the last finished one.
        return position <= progress.index ? .lost : .notStarted
    }

    private func requeue(_ index: Int, of source: WorkSource) {
        source.retryIndexes.append(index)
        if !queue.contains(where: { $0 === source }) { queue.insert(source, at: 0) }
    }

    /// How a worker ended, for its items' errors.
    struct DeathStory {
        let end: WorkerEnd
        let exit: ProcessExit
        let pid: Int32
        /// The batch and position a timeout was decided on, and that input's index.
        let timedOut: (batch: UInt64, position: Int, input: Int)?

        init(end: WorkerEnd, exit: ProcessExit, connection: WorkerConnection, batches: [Batch]) {
            self.end = end
            self.exit = exit
            pid = connection.pid
            if case .timedOut(let id, let position) = end, let batch = batches.first(where: { $0.id == id }),
                batch.indexes.indices.contains(position)
            {
                timedOut = (id, position, batch.source.reportedIndex(batch.indexes[position]))
            } else {
                timedOut = nil
            }
        }
    }

    private func culpritError(_ batch: Batch, _ position: Int, _ story: DeathStory) -> PoolError {
        let index = batch.source.reportedIndex(batch.indexes[position])
        let subject = "worker \(story.pid) running \(batch.source.taskName) on input \(index)"
        let timeout = configuration.taskTimeout.map { "\($0)" } ?? "?"
        switch story.end {
        case .timedOut:
            guard let timed = story.timedOut, timed.batch != batch.id || timed.position != position else {
                return PoolError(
                    .taskTimedOut,
                    "\(subject) exceeded the task timeout of \(timeout) and was killed; a new worker replaces it",
                    processID: story.pid, processExit: story.exit, inputIndexes: [index])
            }
            return PoolError(
                .taskTimedOut,
                "\(subject) was killed by the task timeout of \(timeout) decided for input \(timed.input), which finished just as the kill was sent; this input had started, so it is not run again",
                processID: story.pid, processExit: story.exit, inputIndexes: [index])
        case .crashed(let fatal):
            let said = fatal.map { " after reporting: \($0)" } ?? ""
            return PoolError(
                .workerCrashed, "\(subject) \(story.exit)\(said); a new worker replaces it", processID: story.pid,
                processExit: story.exit, inputIndexes: [index])
        case .protocolError(let reason):
            return PoolError(
                .workerCrashed, "\(subject) was killed because \(reason)", processID: story.pid,
                processExit: story.exit, inputIndexes: [index])
        case .closed:
            return PoolError(
                .workerCrashed, "\(subject) \(story.exit)", processID: story.pid, processExit: story.exit,
                inputIndexes: [index])
        }
    }

    private func lostError(_ batch: Batch, _ index: Int, _ story: DeathStory) -> PoolError {
        let index = batch.source.reportedIndex(index)
        let why: String
        switch story.end {
        case .timedOut:
            why = "was killed because input \(story.timedOut.map { "\($0.input)" } ?? "?") ran past the task timeout"
        case .protocolError(let reason): why = "was killed because \(reason)"
        case .crashed, .closed: why = "\(story.exit)"
        }
        return PoolError(
            .resultLost,
            "\(batch.source.taskName) may have finished input \(index) in worker \(story.pid), which then \(why) before sending the result; the task is not idempotent, so it was not run again",
            processID: story.pid, processExit: story.exit, inputIndexes: [index])
    }

    /// Fails the pool: queued work fails with `error`, workers are stopped.
    func breakPool(_ error: PoolError) {
        var undispatched: [(WorkSource, [Int])] = []
        let pids = lock.withLock { () -> [Int32] in
            if case .running = lifecycle {
                lifecycle = .broken(error)
            } else if case .shuttingDown = lifecycle {
                lifecycle = .broken(error)
            }
            undispatched = queue.map { ($0, $0.takeAll()) }
            queue.removeAll()
            return slots.compactMap { $0.connection?.pid ?? $0.startingPID }
        }
        for (source, indexes) in undispatched { for index in indexes { source.fail(index, with: error) } }
        for pid in pids { Processes.kill(pid) }
    }

    /// Stops accepting work; idle workers are told to exit, busy ones exit after the queue drains.
    func beginShutdown(cancelPending: Bool) {
        var cancelled: [(WorkSource, [Int])] = []
        let idle = lock.withLock { () -> [WorkerConnection] in
            if case .running = lifecycle { lifecycle = .shuttingDown }
            if cancelPending {
                cancelled = queue.map { ($0, $0.takeAll()) }
                queue.removeAll()
            }
            return slots.indices.compactMap { shouldCloseLocked($0) ? slots[$0].connection : nil }
        }
        for (source, indexes) in cancelled { for index in indexes { source.fail(index, with: CancellationError()) } }
        for connection in idle { connection.closeRequests(discardQueued: false) }
    }

    /// Kills every worker now; queued and running work fails with ``PoolError/Code/shutDown``.
    func terminate() {
        let error = PoolError(.shutDown, "process pool '\(configuration.name)' was terminated")
        var undispatched: [(WorkSource, [Int])] = []
        let pids = lock.withLock { () -> [Int32] in
            switch lifecycle {
            case .running, .shuttingDown: lifecycle = .terminated
            case .terminated, .broken: break
            }
            undispatched = queue.map { ($0, $0.takeAll()) }
            queue.removeAll()
            return slots.compactMap { $0.connection?.pid ?? $0.startingPID }
        }
        for (source, indexes) in undispatched { for index in indexes { source.fail(index, with: error) } }
        for pid in pids { Processes.kill(pid) }
    }

    /// Waits until every conductor has finished (all workers reaped), then joins them.
    func waitForConductors() {
        lock.withLock {
            while conductorsRunning > 0 { conductorsFinished.wait(releasing: lock) }
        }
        let threads = lock.withLock { () -> [PlatformThread] in
            defer { conductors = [] }
            return conductors
        }
        for thread in threads { thread.join() }
    }

    /// Lets conductor threads finish on their own (the pool was dropped without a wait).
    func detachConductors() {
        let threads = lock.withLock { () -> [PlatformThread] in
            defer { conductors = [] }
            return conductors
        }
        for thread in threads { thread.detach() }
    }

    /// Pids of the live workers, in slot order (for diagnostics and tests).
    var workerProcessIDs: [Int32] {
        lock.withLock { slots.compactMap { $0.connection?.pid } }
    }
}
