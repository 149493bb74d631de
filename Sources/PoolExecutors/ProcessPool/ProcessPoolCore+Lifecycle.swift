internal import PoolSystem

extension ProcessPoolCore {
    /// Starts one conductor thread per worker slot. The lock is held while they start, so none
    /// runs before all are counted.
    func startConductors() throws {
        try lock.withLock {
            for slot in state.slots.indices {
                do {
                    state.conductorStarted(
                        try PlatformThread.start(name: "\(configuration.name)-c\(slot)") { [self] in
                            conduct(slot: slot)
                        })
                } catch {
                    throw PoolError(
                        .workerStartFailed, "could not start the pool's conductor threads", underlying: error)
                }
            }
        }
    }

    /// Accounts for everything a worker held when it ended (see
    /// ``ProcessPoolState/workerEnded(slot:connection:end:exit:progress:log:)``), delivers and
    /// fails what that leaves, and gives its requeued items to other workers.
    func workerEnded(slot: Int, connection: WorkerConnection, end: WorkerEnd, exit: ProcessExit) {
        let progress = connection.page?.read()
        // Copied out of shared memory once: a process that still maps the page (a task's own
        // child) cannot change the records between checking and delivering them.
        let log = connection.page?.loggedItems()
        perform(
            lock.withLock {
                state.workerEnded(
                    slot: slot, connection: connection, end: end, exit: exit, progress: progress, log: log)
            })
        pump()
    }

    /// Delivers items recovered from a dead worker's log (no lock held). They were validated;
    /// should one still not decode, it and the rest fail rather than wait for ever.
    func deliverRecovered(_ recovered: ProcessPoolState.RecoveredItems) {
        var cursor = recovered.cursor
        for position in recovered.positions {
            do {
                try deliver(
                    recovered.batch, positions: position..<(position + 1), from: &cursor, results: recovered.results)
            } catch {
                let error = PoolError(
                    .resultLost,
                    "worker \(recovered.pid) finished input \(recovered.batch.source.reportedIndex(recovered.batch.indexes[position])) but its logged result could not be read back: \(error)",
                    processID: recovered.pid,
                    inputIndexes: [recovered.batch.source.reportedIndex(recovered.batch.indexes[position])])
                for rest in position..<recovered.positions.upperBound {
                    recovered.batch.source.fail(recovered.batch.indexes[rest], with: error)
                }
                return
            }
        }
    }

    /// Fails the pool: queued work fails with `error`, workers are stopped.
    func breakPool(_ error: PoolError) {
        perform(lock.withLock { state.breakPool(error) })
    }

    /// Stops accepting work; idle workers are told to exit, busy ones exit after the queue drains.
    func beginShutdown(cancelPending: Bool) {
        perform(lock.withLock { state.beginShutdown(cancelPending: cancelPending) })
    }

    /// Kills every worker now; queued and running work fails with ``PoolError/Code/shutDown``.
    func terminate() {
        perform(lock.withLock { state.terminate() })
    }

    /// Waits until every conductor has finished (all workers reaped), then joins them.
    func waitForConductors() {
        let threads = lock.withLock {
            while state.conductorsRunning > 0 { conductorsFinished.wait(releasing: lock) }
            return state.takeConductors()
        }
        for thread in threads { thread.join() }
    }

    /// Lets conductor threads finish on their own (the pool was dropped without a wait).
    func detachConductors() {
        let threads = lock.withLock { state.takeConductors() }
        for thread in threads { thread.detach() }
    }

    /// Bytes of memory the live workers' arguments and results arenas hold (for tests and the bench).
    var sharedMemoryAllocatedBytes: Int {
        let connections = lock.withLock { state.slots.compactMap(\.connection) }
        return connections.reduce(0) { total, connection in
            total + [connection.arguments, connection.results].reduce(0) { $0 + ($1?.allocatedBytes ?? 0) }
        }
    }

    /// Spans of the live workers' arguments arenas that tasks' kept ``ZeroCopyBytes`` still
    /// hold past their replies (for the tests).
    var pinnedArgumentSpans: Int {
        let connections = lock.withLock { state.slots.compactMap(\.connection) }
        return connections.reduce(0) { $0 + ($1.arguments?.pinnedCount ?? 0) }
    }

    /// Pids of the live workers, in slot order (for diagnostics and tests).
    var workerProcessIDs: [Int32] {
        lock.withLock { state.workerProcessIDs }
    }
}
