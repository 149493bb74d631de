import Synchronization

/// A map split across several runner jobs that share one ``ChunkCursor``.
///
/// The same object is queued once per runner: each `run()` claims and processes chunks until
/// the cursor is exhausted; each `abandon` (shutdown with cancelled work) just signs off. This
/// costs no allocation per runner or chunk. The map finishes, once, when its last item is
/// processed, or when the last runner signs off (after a failure or a cancellation). Not
/// waiting for every runner matters when the map was started from one of the pool's own
/// workers: a runner still queued behind the caller would otherwise never get a thread.
protocol MapRunners: PoolJob {
    var cursor: ChunkCursor { get }
    var progress: MapProgress { get }
    /// Claims and processes chunks until there are none (called by each runner).
    func work()
    /// Delivers the outcome; called exactly once.
    func finish()
}

/// Counters shared by a map's runners.
final class MapProgress: Sendable {
    let runnersLeft: Atomic<Int>
    private let itemsLeft: Atomic<Int>
    private let finished = Atomic<Bool>(false)

    init(runners: Int, items: Int) {
        runnersLeft = Atomic(runners)
        itemsLeft = Atomic(items)
    }

    /// Records processed items. - Returns: `true` if these were the last ones.
    func itemsDone(_ count: Int) -> Bool {
        itemsLeft.subtract(count, ordering: .acquiringAndReleasing).newValue == 0
    }

    /// - Returns: `true` for the first caller only.
    func claimFinish() -> Bool {
        !finished.exchange(true, ordering: .acquiringAndReleasing)
    }
}

extension MapRunners {
    @usableFromInline
    func run() {
        work()
        signOff()
    }

    @usableFromInline
    func abandon(with error: any Error) {
        signOff()
    }

    func signOff(count: Int = 1) {
        if progress.runnersLeft.subtract(count, ordering: .acquiringAndReleasing).newValue == 0 {
            finishOnce()
        }
    }

    /// Called by `work()` after each fully processed chunk.
    func chunkDone(_ range: Range<Int>) {
        if progress.itemsDone(range.count) { finishOnce() }
    }

    func finishOnce() {
        if progress.claimFinish() { finish() }
    }
}

extension ThreadPoolCore {
    /// How many runners a map of `count` items gets: one per worker, never more than items.
    func runnerCount(for count: Int, chunkSize: Int?) -> Int {
        let chunks = chunkSize.map { (count + $0 - 1) / $0 } ?? count
        return max(1, min(workerCount, chunks))
    }

    /// Queues `runners` copies of `job`. `job.progress.runnersLeft` must start at `runners + 1`: the
    /// extra share belongs to this call and is given back at the end, so the job cannot
    /// finish while runners are still being queued. A caller that is itself one of this
    /// pool's workers also runs the job inline, so a map inside a task cannot deadlock.
    /// - Throws: the pool's rejection if not even one runner could be queued.
    func start(_ job: some MapRunners, runners: Int) throws {
        var queued = 0
        var rejection: (any Error)?
        while queued < runners {
            do { try enqueue(job) } catch {
                rejection = error
                break
            }
            queued += 1
        }
        try finishStarting(job, runners: runners, queued: queued, rejection: rejection)
    }

    /// ``start(_:runners:)`` for async callers: waits for queue room by suspending.
    func start(_ job: some MapRunners, runners: Int) async throws {
        var queued = 0
        var rejection: (any Error)?
        while queued < runners {
            do { try await enqueue(job) } catch {
                rejection = error
                break
            }
            queued += 1
        }
        try finishStarting(job, runners: runners, queued: queued, rejection: rejection)
    }

    private func finishStarting(_ job: some MapRunners, runners: Int, queued: Int, rejection: (any Error)?) throws {
        if queued == 0, let rejection {
            job.cursor.stop()
            throw rejection
        }
        if isCalledFromWorker { job.work() }
        job.signOff(count: runners - queued + 1)
    }
}
