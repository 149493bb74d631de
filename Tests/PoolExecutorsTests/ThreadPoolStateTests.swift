import Testing

@testable import PoolExecutors

/// The thread pool's transitions on their own, no threads involved: each returns the action
/// the core runs after unlocking, so each is checked by what it returns.
@Suite("ThreadPoolState transitions")
struct ThreadPoolStateTests {
    /// A job the state only queues and hands back (the core runs or abandons it, not the state).
    final class QueuedJob: PoolJob {
        func run() {}
        func abandon(with error: any Error) {}
    }

    /// The public state's case, without its payload.
    static func phase(_ state: ThreadPool.State) -> String {
        switch state {
        case .running: "running"
        case .shuttingDown: "shuttingDown"
        case .terminated: "terminated"
        case .broken: "broken"
        }
    }

    @Test("a submit wakes a sleeping worker once: a second submit finds the wake-up on its way")
    func submitWakesOneSleeper() throws {
        var state = ThreadPoolState(name: "t", maxPending: nil)
        #expect(try state.submit(QueuedJob()) == false, "no worker asleep: nobody to wake")
        state.workerSleeps()
        #expect(try state.submit(QueuedJob()) == true)
        #expect(try state.submit(QueuedJob()) == false, "the one sleeper is already being woken")
        state.workerWoke()
        #expect(state.pendingCount == 3)
    }

    @Test("taking a job chains a wake-up only when work is left and a sleeper has none coming")
    func takingChainsWakeUps() throws {
        var state = ThreadPoolState(name: "t", maxPending: nil)
        let first = QueuedJob()
        _ = try state.submit(first)
        _ = try state.submit(QueuedJob())
        state.workerSleeps()
        let taken = state.takeJob()
        #expect(taken.job === first, "first in, first out")
        #expect(taken.wakeAnotherWorker, "one job left and a sleeper nobody woke")
        #expect(!taken.wakeBlockedSubmitter && taken.suspendedSubmitter == nil, "an unbounded queue blocks nobody")
        let last = state.takeJob()
        #expect(!last.wakeAnotherWorker, "nothing left to wake anyone for")
        #expect(state.hasNoWork)
    }

    @Test("a bounded queue is full at its limit while running, and a taken job frees a blocked submitter")
    func boundedQueue() throws {
        var state = ThreadPoolState(name: "t", maxPending: 2)
        _ = try state.submit(QueuedJob())
        #expect(!state.isFull)
        _ = try state.submit(QueuedJob())
        #expect(state.isFull)
        state.submitterBlocks()
        #expect(state.takeJob().wakeBlockedSubmitter)
        state.submitterWoke()
        #expect(!state.isFull)
    }

    @Test("shutdown refuses new work, keeps or cancels the queue, and terminates with the last worker")
    func shutdown() throws {
        for cancelPending in [false, true] {
            var state = ThreadPoolState(name: "pool-x", maxPending: nil)
            state.workerStarted(try PlatformThread.start(name: "t-state") {})
            _ = try state.submit(QueuedJob())
            let drain = state.beginShutdown(cancelPending: cancelPending)
            #expect(drain.jobs.count == (cancelPending ? 1 : 0))
            #expect(drain.error is CancellationError)
            #expect(state.pendingCount == (cancelPending ? 0 : 1))
            #expect(throws: PoolError.self) { try state.submit(QueuedJob()) }
            do {
                _ = try state.submit(QueuedJob())
            } catch {
                #expect(error.code == .shutDown && error.description.contains("pool-x"))
            }
            #expect(Self.phase(state.publicState) == "shuttingDown" && !state.isTerminated)
            let exit = state.workerExited()
            #expect(exit.wasLast)
            #expect(Self.phase(state.publicState) == "terminated" && state.isTerminated)
            for thread in state.takeUnjoinedThreads() { thread.join() }
            #expect(state.takeUnjoinedThreads().isEmpty, "threads are handed over once")
        }
    }

    @Test("breaking fails every queued job with the failure, once; a second break changes nothing")
    func breaking() throws {
        var state = ThreadPoolState(name: "t", maxPending: nil)
        let jobs = [QueuedJob(), QueuedJob()]
        for job in jobs { _ = try state.submit(job) }
        let failure = PoolError(.broken, "initializer failed")
        let broken = state.breakPool(failure)
        let drain = try #require(broken)
        #expect(drain.jobs.count == 2 && state.pendingCount == 0)
        #expect((drain.error as? PoolError)?.code == .broken)
        #expect(state.breakPool(PoolError(.broken, "again")) == nil)
        #expect(state.beginShutdown(cancelPending: true).jobs.isEmpty, "shutdown after a break has nothing to fail")
        do {
            _ = try state.submit(QueuedJob())
            Issue.record("a broken pool accepted work")
        } catch {
            #expect(error.description.contains("initializer failed"))
        }
        #expect(Self.phase(state.publicState) == "broken")
    }
}
