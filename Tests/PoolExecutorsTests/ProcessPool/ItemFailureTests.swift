import Testing

@testable import PoolExecutors

/// A recorded task turns only an item's own failures into its output: a crash or a timeout
/// fails that input alone, while a pool that cannot run the job, or a cancelled job, still stops it.
@Suite struct ItemFailureTests {
    struct Thrown: Error {}

    @Test("crashes, timeouts, lost results and coding errors are an item's own; a cancel or a broken pool is not")
    func itemFailures() {
        #expect(PoolError.isItemFailure(Thrown()), "a coding error")
        #expect(PoolError.isItemFailure(PoolError(.workerCrashed, "died")))
        #expect(PoolError.isItemFailure(PoolError(.taskTimedOut, "too long")))
        #expect(PoolError.isItemFailure(PoolError(.resultLost, "lost")))
        #expect(!PoolError.isItemFailure(CancellationError()))
        #expect(!PoolError.isItemFailure(ItemNotStarted()), "an item a stopped job never started did not fail")
        #expect(!PoolError.isItemFailure(PoolError(.shutDown, "stopped")))
        #expect(!PoolError.isItemFailure(PoolError(.unknownTask, "no such task")))
        #expect(!PoolError.isItemFailure(PoolError(.workerStartFailed, "no worker")))
        #expect(!PoolError.isItemFailure(PoolError(.broken, "broken")))
    }
}
