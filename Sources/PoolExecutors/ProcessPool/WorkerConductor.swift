internal import PoolSystem
import PoolWire
import Synchronization

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

/// The conductor: one long-lived thread per worker slot, which starts the slot's worker
/// (`WorkerLaunch.swift`), reads its replies and hands them to the core, enforces the task
/// timeout, and accounts for the worker's end before starting the next. Spawns happen here,
/// on a thread that lives as long as the pool, because a worker's parent-death signal follows
/// the thread that spawned it.
extension ProcessPoolCore {
    /// The life of worker slot `slot`: start a worker, serve it until it ends, account for what
    /// it held, and start another while the pool still has work for it.
    func conduct(slot: Int) {
        while case .startWorker(let notBefore) = lock.withLock({ state.nextConductorStep(slot: slot) }) {
            if notBefore > MonotonicClock.nanoseconds() && !waitOutBackOff(until: notBefore) { continue }
            let connection: WorkerConnection
            do {
                connection = try startWorker(slot: slot)
            } catch {
                let failure =
                    error as? PoolError ?? PoolError(.workerStartFailed, "a worker could not start", underlying: error)
                perform(lock.withLock { state.workerFailedToStart(slot: slot, failure) })
                continue  // the pool is broken (or being killed): the next step finishes
            }
            perform(lock.withLock { state.workerConnected(slot: slot, connection) })
            pump()
            let end = serve(slot: slot, connection: connection)
            connection.closeRequests(discardQueued: true)
            // From here its pid may be reaped and reused: terminate() must not signal it.
            lock.withLock { state.slots[slot].reaping = true }
            let exit = reap(connection.process)
            connection.joinWriter()
            // A waiting thread may still look in (it reads only what is open): never after this.
            connection.readLock.withLock { connection.readerClosed = true }
            Descriptor.close(connection.reader.descriptor)
            workerEnded(slot: slot, connection: connection, end: end, exit: exit)
        }
        conductorsFinished.broadcast()
    }

    /// Waits until `deadline` before a host's next start, looking every 50 ms whether the pool
    /// stopped meanwhile; returns false if it did (the next step then finishes).
    private func waitOutBackOff(until deadline: UInt64) -> Bool {
        while MonotonicClock.nanoseconds() < deadline {
            if lock.withLock({ state.isStopping }) { return false }
            Processes.pause(microseconds: UInt32(min(50_000, (deadline &- MonotonicClock.nanoseconds()) / 1_000 + 1)))
        }
        return true
    }

    /// Reads replies until the worker's stream ends; enforces the task timeout.
    ///
    /// It waits for bytes without the connection's read lock and reads them holding it: a
    /// thread waiting for its own result may have read it first (see `ArrivedReplies.swift`),
    /// and then there is simply nothing to read.
    private func serve(slot: Int, connection: WorkerConnection) -> WorkerEnd {
        var timedOut: (batch: UInt64, index: Int)?
        while true {
            let (broken, buffered) = connection.readLock.withLock {
                (connection.broken, connection.reader.hasBufferedFrame)
            }
            var wait = timedOut == nil && broken == nil ? timeoutMilliseconds(slot: slot, connection) : -1
            // An emptied arguments arena gives back its extra pages after its grace: idle, when
            // the grace is over; busy with small items, after the longer busy grace. One that
            // holds pages above its warm ones is looked at within the grace even while no reply
            // comes: a waiting thread may have handled the reply that emptied it.
            if let arguments = connection.arguments, arguments.awaitsTrim || arguments.holdsMoreThanWarm {
                arguments.trimIfIdle(grace: SharedArena.grace(idle: false))
                if arguments.awaitsTrim || arguments.holdsMoreThanWarm {
                    wait = wait < 0 ? SharedArena.idleWaitMilliseconds : min(wait, SharedArena.idleWaitMilliseconds)
                }
            }
            // A whole frame or a corrupt header already buffered is read now, not after a poll
            // that nothing may ever end.
            if buffered { wait = 0 }
            let readable: Bool
            do {
                readable = try Descriptor.wait(connection.reader.descriptor, timeoutMilliseconds: wait)
            } catch {
                connection.readLock.withLock { connection.readerClosed = true }
                connection.process.kill()
                return .protocolError("its reply stream could not be watched: \(error)")
            }
            connection.readLock.lock()
            let end = readReplies(slot: slot, connection: connection, readable: readable, timedOut: &timedOut)
            // Once the worker's end is known no other thread reads: its pid is about to be reaped.
            if end != nil { connection.readerClosed = true }
            connection.readLock.unlock()
            if let end { return end }
        }
    }

    /// Under `connection.readLock`: handles what arrived, or what a wait that timed out calls
    /// for (the task timeout, the arena's grace); returns the worker's end once its stream ends.
    private func readReplies(
        slot: Int, connection: WorkerConnection, readable: Bool, timedOut: inout (batch: UInt64, index: Int)?
    ) -> WorkerEnd? {
        guard readable || connection.reader.hasBufferedFrame else {
            if let arguments = connection.arguments, arguments.awaitsTrim {
                // The short grace only when this worker holds nothing: a task-timeout poll
                // while items run is not idleness.
                let idle = lock.withLock { state.slots[slot].inFlight.isEmpty }
                arguments.trimIfIdle(grace: SharedArena.grace(idle: idle))
            }
            guard let timeout = configuration.currentTaskTimeout, let progress = running(slot: slot, connection)
            else { return nil }
            if progress.startedAt != 0
                && MonotonicClock.nanoseconds() &- progress.startedAt >= Self.nanoseconds(timeout)
            {
                timedOut = (progress.batch, progress.index)
                connection.process.kill()
            }
            return nil
        }
        while true {
            let event: FrameReader.Event
            do {
                event = try connection.reader.next(timeoutMilliseconds: 0)
            } catch let error as WireError where error.kind == .unexpectedEnd {
                // It died in the middle of writing a reply: a crash, not a protocol breach.
                event = .endOfStream
            } catch {
                let broken =
                    "its reply stream is corrupt (did the task write on descriptor \(WorkerProtocol.replyDescriptor)?): \(error)"
                connection.process.kill()
                return .protocolError(broken)
            }
            switch event {
            case .frame(let kind, let payload):
                handleFrame(kind: kind, payload: payload, slot: slot, connection: connection)
            case .timedOut:
                return nil  // nothing more whole: a waiting thread took it, or a frame is partial
            case .endOfStream:
                if let timedOut { return .timedOut(batch: timedOut.batch, index: timedOut.index) }
                if let broken = connection.broken { return .protocolError(broken) }
                let deliberate = lock.withLock { state.slots[slot].closed }
                return deliberate && connection.fatal == nil ? .closed : .crashed(fatal: connection.fatal)
            }
        }
    }

    /// Under `connection.readLock`: handles one frame from the worker, on the conductor or on a
    /// thread waiting for a result. A frame that breaks the protocol kills the worker and is
    /// remembered (`broken`); once broken, its results are no longer believed.
    func handleFrame(kind: UInt8, payload: UnsafeRawBufferPointer, slot: Int, connection: WorkerConnection) {
        func breaks(_ reason: String) {
            guard connection.broken == nil else { return }
            connection.broken = reason
            connection.process.kill()
        }
        switch FrameKind(rawValue: kind) {
        case .results where connection.broken == nil:
            do {
                try handleResults(payload, slot: slot, connection: connection)
            } catch {
                breaks("it sent results the pool did not expect: \(error)")
            }
        case .released where connection.broken == nil:
            var cursor = FrameCursor(payload)
            do {
                connection.arguments?.releasePinned(try cursor.readReleasedSequences())
            } catch {
                breaks("it sent a malformed list of released spans: \(error)")
            }
        case .fatal:
            var cursor = FrameCursor(payload)
            connection.fatal = try? cursor.readString()
        case .exited where connection.process.isRemote:
            connection.remoteExit = ExitTrailer.status(in: payload) ?? -1
        case .results, .released:
            break  // from a worker already found broken: ignored until its stream ends
        case .exited:
            breaks("it sent a frame only a remote worker's shell sends")
        default:
            breaks("it sent a frame the protocol does not allow here")
        }
    }

    /// The item a worker runs now and when it started (0: none): from its progress page, or,
    /// for a remote worker (which has none), the first unanswered item of its oldest batch,
    /// started no earlier than its last reply, the moment it was given work while idle, and the
    /// moment its last request was written whole to the launcher (while one is still being
    /// written, the clock does not run). The estimate is never earlier than the truth, so a
    /// timeout never fires early; it may fire late by what the launcher still buffered.
    private func running(slot: Int, _ connection: WorkerConnection) -> (startedAt: UInt64, batch: UInt64, index: Int)? {
        if let page = connection.page { return page.read() }
        guard connection.unwrittenRequests.load(ordering: .acquiring) <= 0 else { return (0, 0, 0) }
        let since = connection.progressMark.load(ordering: .acquiring)
        guard since != 0, let batch = lock.withLock({ state.slots[slot].inFlight.first }) else { return (0, 0, 0) }
        let started = max(since, connection.lastRequestWritten.load(ordering: .acquiring))
        return (started, batch.id, lock.withLock { batch.answered })
    }

    /// How long to wait for replies before checking the running item against the timeout.
    private func timeoutMilliseconds(slot: Int, _ connection: WorkerConnection) -> Int32 {
        guard configuration.hasTaskTimeout else { return -1 }
        // An adjustable limit not set yet may be set at any time: look again soon.
        guard let timeout = configuration.currentTaskTimeout else { return 100 }
        let limit = Self.nanoseconds(timeout)
        guard let progress = running(slot: slot, connection), progress.startedAt != 0 else {
            return Int32(clamping: max(1, limit / 1_000_000))
        }
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
}
