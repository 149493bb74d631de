/// One item in flight: its two stages' futures (to cancel them) and its outcome.
final class PipelineFlight<Output: Sendable>: Sendable {
    let index: Int
    private let done = Future<Output>()
    private let stages = Locked<[CancellableWork]>([])

    init(index: Int) { self.index = index }

    var isCancelled: Bool { done.isCancelled }

    func track<Value>(_ future: Future<Value>) {
        stages.withLock { $0.append(CancellableWork(cancel: { _ = future.cancel() })) }
        // A cancel that ran between the caller's check and this append did not see the stage:
        // it is cancelled here instead (cancel marks the flight before it reads the stages).
        if done.isCancelled { _ = future.cancel() }
    }

    func succeed(_ output: Output) { done.complete(with: .success(output)) }

    func fail(_ stage: PipelineError.Stage, _ error: any Error) {
        done.complete(with: .failure(PipelineError(index: index, stage: stage, error: error)))
    }

    /// Cancels the stages that have not started; the outcome becomes `CancellationError`.
    func cancel() {
        _ = done.cancel()
        for stage in stages.withLock({ $0 }) { stage.cancel() }
    }

    /// Blocks for the outcome.
    func outcome() -> Result<Output, PipelineError> {
        do {
            return .success(try done.result())
        } catch let error as PipelineError {
            return .failure(error)
        } catch {
            return .failure(PipelineError(index: index, stage: .fetch, error: error))
        }
    }
}

struct CancellableWork: Sendable {
    let cancel: @Sendable () -> Void
}

/// The results of a ``Pipeline`` run, in input order, computed as they are read.
///
/// Reading blocks the reading thread until the next result in order is done; run it on a
/// thread of your own, never on Swift's cooperative pool. ``cancel()`` (or letting go of the
/// results) stops reading inputs and cancels items that have not started.
public final class PipelineResults<Output: Sendable>: Sequence, IteratorProtocol {
    private let capacity: Int
    private var nextInput: () -> ((Int) -> PipelineFlight<Output>)?
    private var window: RingBuffer<PipelineFlight<Output>>
    private var started = 0
    private var finished = false

    init(capacity: Int, nextInput: @escaping () -> ((Int) -> PipelineFlight<Output>)?) {
        self.capacity = capacity
        self.nextInput = nextInput
        self.window = RingBuffer(capacity: capacity)
    }

    deinit { cancel() }

    /// Items started and not yet returned by ``next()``: never more than the pipeline's capacity.
    public var inFlight: Int { window.count }

    /// The next result in input order, or nil after the last input.
    public func next() -> Result<Output, PipelineError>? {
        fill()
        guard let flight = window.popFirst() else { return nil }
        let outcome = flight.outcome()
        fill()
        return outcome
    }

    /// Starts items now, up to the pipeline's capacity, without waiting for any: a caller that
    /// reads later (after draining an earlier run) finds them under way, so the stages never
    /// empty between two runs read one after the other.
    public func prefetch() { fill() }

    /// Stops reading inputs and cancels every item not yet returned that has not started.
    public func cancel() {
        finished = true
        while let flight = window.popFirst() { flight.cancel() }
    }

    private func fill() {
        while !finished && window.count < capacity {
            guard let start = nextInput() else {
                finished = true
                return
            }
            window.append(start(started))
            started += 1
        }
    }
}
