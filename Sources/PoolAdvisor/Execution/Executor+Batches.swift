internal import PoolExecutors

/// A slice of a job started on an ``Executor``, to be waited for later: what lets the auto
/// executor queue its next watched batch before the current one ends, so the pool never idles
/// at a batch boundary (a heavy-tailed item would otherwise hold every other core idle).
struct RunningBatch<Output: Sendable> {
    /// The outputs in order below the lowest failing item (all when none failed), and that
    /// failure with the job's index of the input.
    let wait: () -> (outputs: [Output], failure: MapError?)
    /// Items not yet started never start.
    let cancel: () -> Void
    /// Ends the batch at the items already under way, which finish: ``wait`` then returns
    /// their outputs, a prefix of the batch, with no failure of its own, and the rest of the
    /// batch never runs (the caller runs it elsewhere). A no-op where the pool cannot cut a
    /// batch at a prefix (processes and pipelines, whose items finish out of order).
    var truncate: () -> Void = {}
    /// Waits up to the given seconds for the batch to end and says whether it has; nil where
    /// the pool gives no such wait (the batch is then only waited for whole).
    var waitsBriefly: ((Double) -> Bool)? = nil
    /// Whether the batch still has items no worker has taken (false where the pool cannot say).
    var hasUnclaimedItems: () -> Bool = { false }
}

extension RunningBatch {
    /// A batch that could not start: waiting for it gives no outputs and `failure`.
    static func failed(_ failure: MapError) -> RunningBatch { RunningBatch(wait: { ([], failure) }, cancel: {}) }
}

extension Executor {
    /// Starts `inputs[range]`: on threads, processes and a staged task's pipeline at once (the
    /// pool picks the batch up behind any batch already queued), serially when waited for. The inputs
    /// are not copied on the thread path; failures report the job's index (`range`'s).
    ///
    /// `jobIndexes`, when given, names the job's index of each input in `range` (inputs gathered
    /// from scattered places); by default input `i` is the job's input `i`.
    func startBatch<Task: PoolTask>(
        _ task: Task.Type, _ inputs: [Task.Input], _ range: Range<Int>, jobIndexes: [Int]? = nil,
        progress: ProgressCounter?
    ) -> RunningBatch<Task.Output> {
        let base = range.lowerBound
        let reporting = jobIndexes.map { Array($0[range]) } ?? Array(range)
        func jobIndex(_ offset: Int) -> Int { reporting.indices.contains(offset) ? reporting[offset] : base + offset }
        func shifted(_ failure: MapError?) -> MapError? {
            failure.map { $0.at(jobIndex($0.index)) }
        }
        /// The outputs `fill` appends in order, and the failure that stopped it at the job's index.
        func collected(_ fill: (inout [Task.Output]) throws -> Void) -> (outputs: [Task.Output], failure: MapError?) {
            var outputs: [Task.Output] = []
            outputs.reserveCapacity(range.count)
            do {
                try fill(&outputs)
                return (outputs, nil)
            } catch let failure as MapError {
                return (outputs, shifted(failure))
            } catch {
                return (outputs, MapError(index: jobIndex(outputs.count), error: error))
            }
        }
        switch plan.mode {
        case .threads:
            let batch: OrderedBatch<Task.Output>
            do {
                batch = try threadPool(workers: plan.workers).startBatch(inputs, range, chunkSize: plan.chunkSize) {
                    let output = try Task.run($0)
                    progress?.add(1)
                    return output
                }
            } catch {
                return .failed(MapError(index: jobIndex(0), error: error))
            }
            return RunningBatch(
                wait: {
                    let (outputs, failure) = batch.wait()
                    return (outputs, shifted(failure))
                }, cancel: batch.cancel, truncate: batch.truncate, waitsBriefly: batch.waitUntilDone(seconds:),
                hasUnclaimedItems: { batch.hasUnclaimedItems })
        case .processes:
            let stream: Completions<Task.Output>
            do {
                stream = try processPool().mapUnordered(
                    Task.self, inputs[range], chunkSize: plan.chunkSize, reportingIndexes: reporting)
            } catch {
                return .failed(MapError(index: jobIndex(0), error: error))
            }
            return RunningBatch(
                wait: {
                    collected { outputs in
                        try Self.deliverInOrder(stream, count: range.count, progress) { outputs.append($1) }
                    }
                }, cancel: stream.cancel)
        case .pipeline:
            guard let staged = Task.self as? any StagedTask.Type else { fallthrough }
            // Started now, so this batch's items fill the stages while the one before drains:
            // read one after the other, batches would leave both stages idle at each boundary.
            let reader: PipelineReader
            do {
                reader = try pipelineReader(staged, Array(inputs[range]), prefetch: true)
            } catch {
                return .failed(MapError(index: jobIndex(0), error: error))
            }
            return RunningBatch(
                wait: {
                    var outputs: [Task.Output] = []
                    outputs.reserveCapacity(range.count)
                    while let result = reader.next() {
                        switch result {
                        case .success(let output):
                            progress?.add(1)
                            outputs.append(output as! Task.Output)
                        case .failure(let failure):
                            reader.cancel()
                            return (outputs, failure.at(jobIndex(failure.index)))
                        }
                    }
                    return (outputs, nil)
                }, cancel: reader.cancel)
        case .serial:
            // A serial batch runs when waited for: cut before that, none of it runs.
            let cut = Locked(false)
            return RunningBatch(
                wait: {
                    if cut.withLock({ $0 }) { return ([], nil) }
                    return collected { outputs in
                        try self.forEachOutput(
                            of: task, inputs[range], reportingIndexes: reporting, progress: progress
                        ) { outputs.append($1) }
                    }
                }, cancel: {}, truncate: { cut.withLock { $0 = true } })
        }
    }
}
