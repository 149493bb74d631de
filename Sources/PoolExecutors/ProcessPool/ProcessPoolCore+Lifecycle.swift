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
    /// log); the item it was running failed (crash or timeout) unless retries allow another
    /// go; items it finished but could not log (a window of a few instructions) are re-run if
    /// idempotent, else failed as lost; items it never started go back to the queue.
    func workerEnded(slot: Int, connection: WorkerConnection, end: WorkerEnd, exit: ProcessExit) {
        let progress = connection.page?.read()
        let recovered = lock.withLock { recoverLogged(slots[slot].inFlight, page: connection.page) }
        if let recovered {
            var cursor = recovered.cursor
            try? deliver(recovered.batch, positions: recovered.positions, from: &cursor)
        }
        var failures: [(WorkSource, Int, any Error)] = []
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
            for batch in batches {
                for position in batch.answered..<batch.indexes.count {
                    let index = batch.indexes[position]
                    if let terminalError {
                        failures.append((batch.source, index, terminalError))
                        continue
                    }
                    switch classify(position: position, of: batch, progress: progress, end: end) {
                    case .notStarted:
                        requeue(index, of: batch.source)
                    case .lost:
                        if batch.source.isIdempotent {
                            requeue(index, of: batch.source)
                        } else {
                            failures.append((batch.source, index, lostError(batch, index, connection, end, exit)))
                        }
                    case .culprit:
                        let attempts = batch.source.attempts[index, default: 0]
                        if batch.source.isIdempotent && attempts < configuration.retries {
                            batch.source.attempts[index] = attempts + 1
                            requeue(index, of: batch.source)
                        } else {
                            failures.append((batch.source, index, culpritError(batch, index, connection, end, exit)))
                        }
                    }
                }
            }
        }
        for (source, index, error) in failures { source.fail(index, with: error) }
        pump()
    }

    /// The items a dead worker logged but never replied: marks them answered in their batch and
    /// returns them for delivery (lock held). Nil when nothing usable was logged; a log that
    /// does not parse is ignored, as if the worker had logged nothing.
    private func recoverLogged(_ batches: [Batch], page: ProgressPage?) -> (
        batch: Batch, positions: Range<Int>, cursor: FrameCursor
    )? {
        guard let page else { return nil }
        let log = page.loggedItems()
        guard log.count > 0, let batch = batches.first(where: { $0.id == log.batch }),
            log.first <= batch.answered, log.count <= batch.indexes.count - log.first
        else { return nil }
        var cursor = FrameCursor(log.records)
        // Skip what the parent already received in reply frames.
        do {
            for _ in log.first..<batch.answered {
                _ = try cursor.read(UInt8.self)
                _ = try cursor.readLengthPrefixed()
            }
        } catch { return nil }
        let positions = batch.answered..<(log.first + log.count)
        guard !positions.isEmpty, (try? validateItems(cursor, count: positions.count)) != nil else { return nil }
        batch.answered = positions.upperBound
        return (batch, positions, cursor)
    }

    private enum ItemFate { case notStarted, lost, culprit }

    /// What happened to the unanswered item at `position` of `batch` (lock held).
    private func classify(
        position: Int, of batch: Batch, progress: (startedAt: UInt64, batch: UInt64, index: Int)?, end: WorkerEnd
    ) -> ItemFate {
        if case .timedOut(let timedBatch, let timedIndex) = end, timedBatch == batch.id {
            return position == timedIndex ? .culprit : position < timedIndex ? .lost : .notStarted
        }
        guard let progress else {
            // No progress page: blame the first unanswered item of a batch that had begun.
            return position == batch.answered && batch.answered > 0 ? .culprit : .notStarted
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

    private func culpritError(
        _ batch: Batch, _ index: Int, _ connection: WorkerConnection, _ end: WorkerEnd, _ exit: ProcessExit
    ) -> PoolError {
        let index = batch.source.reportedIndex(index)
        let subject = "worker \(connection.pid) running \(batch.source.taskName) on input \(index)"
        switch end {
        case .timedOut:
            return PoolError(
                .taskTimedOut,
                "\(subject) exceeded the task timeout of \(configuration.taskTimeout.map { "\($0)" } ?? "?") and was killed; a new worker replaces it",
                processID: connection.pid, processExit: exit, inputIndexes: [index])
        case .crashed(let fatal):
            let said = fatal.map { " after reporting: \($0)" } ?? ""
            return PoolError(
                .workerCrashed, "\(subject) \(exit)\(said); a new worker replaces it", processID: connection.pid,
                processExit: exit, inputIndexes: [index])
        case .protocolError(let reason):
            return PoolError(
                .workerCrashed, "\(subject) was killed because \(reason)", processID: connection.pid, processExit: exit,
                inputIndexes: [index])
        case .closed:
            return PoolError(
                .workerCrashed, "\(subject) \(exit)", processID: connection.pid, processExit: exit,
                inputIndexes: [index])
        }
    }

    private func lostError(
        _ batch: Batch, _ index: Int, _ connection: WorkerConnection, _ end: WorkerEnd, _ exit: ProcessExit
    ) -> PoolError {
        let index = batch.source.reportedIndex(index)
        let why: String
        switch end {
        case .timedOut(_, let position):
            let culprit = batch.source.reportedIndex(batch.indexes[min(position, batch.indexes.count - 1)])
            why = "was killed because input \(culprit) ran past the task timeout"
        case .protocolError(let reason): why = "was killed because \(reason)"
        case .crashed, .closed: why = "\(exit)"
        }
        return PoolError(
            .resultLost,
            "\(batch.source.taskName) finished input \(index) in worker \(connection.pid), which then \(why) before sending the result; the task is not idempotent, so it was not run again",
            processID: connection.pid, processExit: exit, inputIndexes: [index])
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
