import PoolWire
import Synchronization

/// A worker's end: crash attribution, recovery of logged results, requeues and the errors of
/// the items it took with it. Each method runs under the core's lock.
extension ProcessPoolState {
    /// Accounts for everything slot `slot`'s worker held when it ended, and empties the slot:
    /// items answered are done, and so are items it finished and logged on its progress page
    /// but had not sent (returned for delivery); the item it was running when it died failed
    /// (crash or timeout) unless retries allow another go; items it finished but could not
    /// report are re-run if idempotent, else failed as lost; items it never started go back to
    /// the queue.
    ///
    /// `progress` and `log` are read from the page once the worker is gone, so they say
    /// exactly where it was: a timeout decided on an item that finished just before the kill
    /// landed blames the item the kill actually interrupted, which had started and so is not
    /// run again.
    mutating func workerEnded(
        slot: Int, connection: WorkerConnection, end: WorkerEnd, exit: ProcessExit,
        progress: (startedAt: UInt64, batch: UInt64, index: Int)?, log: ProgressPage.LoggedItems?
    ) -> Action {
        let batches = slots[slot].inFlight
        slots[slot] = Slot()
        let terminalError: PoolError? = {
            switch lifecycle {
            case .killing: return terminationError
            case .broken(let error): return error
            case .running, .shuttingDown: return nil
            }
        }()
        var action = Action()
        let recovered = log.flatMap { recoverLogged(batches, $0, from: connection) }
        action.recovered = recovered
        let story = DeathStory(
            end: end, exit: exit, connection: connection, batches: batches,
            inOrder: configuration.effectiveHosts[connection.process.host].launcher.runsInOrder,
            otherProgram: configuration.effectiveHosts[connection.process.host].launcher.runsOtherProgram)
        let current = batches.first { $0.answered < $0.indexes.count }
        for batch in batches {
            // With the pool stopped, every item the worker took fails with the pool's error.
            var stopped: [Int] = []
            for position in batch.answered..<batch.indexes.count {
                if let recovered, recovered.batch === batch, recovered.positions.contains(position) { continue }
                let index = batch.indexes[position]
                if terminalError != nil {
                    stopped.append(index)
                    continue
                }
                // An item past where its source stopped dispatching is never sent again: it fails
                // now, or a stream that waits for every item would wait for ever.
                let requeues = index < batch.source.dispatchLimit.load(ordering: .relaxed)
                switch classify(
                    position: position, of: batch, progress: progress, current: current,
                    sentMayHaveRun: story.sentMayHaveRun, inOrder: story.inOrder)
                {
                case .notStarted:
                    if requeues {
                        requeue(index, of: batch.source)
                    } else {
                        action.failures.append(Failure(source: batch.source, indexes: [index], error: ItemNotStarted()))
                    }
                case .lost:
                    if batch.source.isIdempotent && requeues {
                        requeue(index, of: batch.source)
                    } else {
                        action.failures.append(
                            Failure(source: batch.source, indexes: [index], error: lostError(batch, index, story)))
                    }
                case .culprit:
                    let attempts = batch.source.attempts[index, default: 0]
                    if batch.source.isIdempotent && attempts < configuration.retries && requeues {
                        batch.source.attempts[index] = attempts + 1
                        requeue(index, of: batch.source)
                    } else {
                        action.failures.append(
                            Failure(
                                source: batch.source, indexes: [index], error: culpritError(batch, position, story)))
                    }
                }
            }
            if let terminalError, !stopped.isEmpty {
                action.failures.append(Failure(source: batch.source, indexes: stopped, error: terminalError))
            }
        }
        if story.connectionLost, terminalError == nil {
            var lost = PoolError(
                .workerCrashed, "worker \(story.pid)\(story.place) \(story.lostConnection)", processID: story.pid,
                processExit: story.exit)
            lost.isTransient = true
            let health = hostFailed(slotHosts[slot], lost, permanent: false)
            action.failures += health.failures
            action.kills += health.kills
            action.warnings += health.warnings
        }
        return action
    }

    /// Finished items read back from a dead worker's log: positions of `batch`, their records.
    struct RecoveredItems {
        /// Keeps the copied records alive while the cursor reads them.
        let log: ProgressPage.LoggedItems
        let batch: Batch
        let positions: Range<Int>
        let cursor: FrameCursor
        /// The dead worker's pid, for the error if a record does not decode after all.
        let pid: Int32
        /// Where its large results are: the pool's mapping outlives the worker.
        let results: SharedResults?
    }

    /// The items a dead worker logged but never replied, past those its reply frames already
    /// brought. Nil when nothing usable was logged; a log that does not parse is ignored, as if
    /// the worker had logged nothing.
    private func recoverLogged(
        _ batches: [Batch], _ log: ProgressPage.LoggedItems, from connection: WorkerConnection
    ) -> RecoveredItems? {
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
        guard !positions.isEmpty, (try? cursor.checkItems(count: positions.count)) != nil else { return nil }
        return RecoveredItems(
            log: log, batch: batch, positions: positions, cursor: cursor, pid: connection.pid,
            results: connection.sharedResults)
    }

    private enum ItemFate { case notStarted, lost, culprit }

    /// What happened to the unanswered item at `position` of `batch`. `current` is the first
    /// batch with unanswered items: the one a worker without a page was running, since it runs
    /// its batches in order.
    ///
    /// A remote worker whose stream ended without its shell's report may have sent replies
    /// that never arrived, and so have gone on to later batches (or still run ones already
    /// there): their items may have run too.
    private func classify(
        position: Int, of batch: Batch, progress: (startedAt: UInt64, batch: UInt64, index: Int)?, current: Batch?,
        sentMayHaveRun: Bool, inOrder: Bool
    ) -> ItemFate {
        if progress == nil, inOrder {
            // One item at a time, each answered at once, over a pipe on this machine: the
            // first unanswered item was running, and nothing after it had started.
            guard batch === current else { return .notStarted }
            return position == batch.answered ? .culprit : .notStarted
        }
        guard let progress else {
            // No progress page: blame the first unanswered item; the others of its batch may
            // have run (their results died with the worker), so they are not run again.
            guard batch === current else { return sentMayHaveRun ? .lost : .notStarted }
            return position == batch.answered ? .culprit : .lost
        }
        guard progress.batch == batch.id else { return .notStarted }
        if progress.startedAt != 0 {
            return position == progress.index ? .culprit : position < progress.index ? .lost : .notStarted
        }
        // Between items: the page holds the last finished one.
        return position <= progress.index ? .lost : .notStarted
    }

    private mutating func requeue(_ index: Int, of source: WorkSource) {
        source.retryIndexes.append(index)
        if !queue.contains(where: { $0 === source }) { queue.insert(source, at: 0) }
    }

    /// How a worker ended, for its items' errors.
    struct DeathStory {
        let end: WorkerEnd
        /// How the worker ended: for a remote one, as its shell reported it.
        let exit: ProcessExit
        let pid: Int32
        /// The batch and position a timeout was decided on, and that input's index.
        let timedOut: (batch: UInt64, position: Int, input: Int)?
        /// `" on host h"` for a remote worker, else empty.
        let place: String
        /// A remote worker whose stream ended on its own without its shell's exit report: the
        /// connection (or the launcher) died. Counts against its host.
        let connectionLost: Bool
        /// A remote worker whose stream ended without its shell's exit report, for whatever
        /// reason (the pool itself kills the launcher on a timeout or a protocol breach): replies
        /// may have been lost on the way, and requests already there may still run, so items
        /// sent behind the current one may have run.
        let sentMayHaveRun: Bool
        /// The words for that: `"lost its connection (ssh exited with status 255)"`.
        let lostConnection: String
        /// A program worker on this machine running items one at a time, in order
        /// (``WorkerLauncher/runsInOrder``): nothing is in transit, and nothing after the first
        /// unanswered item had started.
        let inOrder: Bool

        init(
            end: WorkerEnd, exit: ProcessExit, connection: WorkerConnection, batches: [Batch], inOrder: Bool,
            otherProgram: Bool = false
        ) {
            self.end = end
            self.inOrder = inOrder
            pid = connection.process.isRemote ? connection.hello.pid : connection.pid
            if connection.process.isRemote {
                // A program worker runs here: it is named by what it is ("worker 12 (Python)").
                place =
                    otherProgram ? " (\(connection.process.hostName))" : " on host \(connection.process.hostName)"
                if let status = connection.remoteExit {
                    self.exit = status > 128 && status < 160 ? .signaled(status - 128) : .exited(status)
                } else {
                    self.exit = exit
                }
                sentMayHaveRun = connection.remoteExit == nil && !inOrder
                // Only an end the pool did not cause counts against the host: it kills the
                // launcher itself on a timeout, a protocol breach or terminate().
                if case .crashed = end { connectionLost = sentMayHaveRun } else { connectionLost = false }
            } else {
                place = ""
                self.exit = exit
                connectionLost = false
                sentMayHaveRun = false
            }
            lostConnection = "lost its connection (its launcher \(exit))"
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
        let subject = "worker \(story.pid)\(story.place) running \(batch.source.displayName) on input \(index)"
        let ended = story.connectionLost ? story.lostConnection : "\(story.exit)"
        let timeout = configuration.currentTaskTimeout.map { "\($0)" } ?? "?"
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
                .workerCrashed, "\(subject) \(ended)\(said); a new worker replaces it", processID: story.pid,
                processExit: story.exit, inputIndexes: [index])
        case .protocolError(let reason):
            return PoolError(
                .workerCrashed, "\(subject) was killed because \(reason)", processID: story.pid,
                processExit: story.exit, inputIndexes: [index])
        case .closed:
            return PoolError(
                .workerCrashed, "\(subject) \(ended)", processID: story.pid, processExit: story.exit,
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
        case .crashed, .closed: why = story.connectionLost ? story.lostConnection : "\(story.exit)"
        }
        return PoolError(
            .resultLost,
            "\(batch.source.displayName) may have finished input \(index) in worker \(story.pid)\(story.place), which then \(why) before sending the result; the task is not idempotent, so it was not run again",
            processID: story.pid, processExit: story.exit, inputIndexes: [index])
    }
}
