/// Two stages in a row: a fetch stage on threads feeding a compute stage on worker processes (or
/// threads), through a bounded window. Work that waits then computes overlaps its waits on cheap
/// threads while its computation runs where it scales.
///
/// ```swift
/// let pipeline = try Pipeline(fetch: Download.self, compute: Thumbnail.self,
///                             configuration: .init(fetchWorkers: 16, compute: .processes(workers: 4)))
/// for result in pipeline.results(urls) {            // streaming, in input order
///     let thumbnail = try result.get()              // a PipelineError names the index and stage
/// }
/// pipeline.shutdown()
/// ```
///
/// - **Streaming.** Stage two starts on an item as soon as stage one finishes it; results come
///   back in input order as soon as the next one in order is done.
/// - **Bounded memory.** At most ``capacity`` items are in flight (being fetched, waiting for
///   stage two, computing, or done but waiting for an earlier item), however long the input.
///   Inputs are read from the sequence only when there is room: that is the backpressure.
/// - **Errors** are per item: ``PipelineError`` carries the input index, the stage and the
///   stage's error. ``map(_:)`` stops at the first failure in input order.
/// - **Cancellation.** ``PipelineResults/cancel()`` (or dropping the results) stops reading
///   inputs and cancels what has not started; ``shutdown(wait:)`` stops both pools.
public final class Pipeline<Fetch: PoolTask, Compute: PoolTask>: Sendable where Compute.Input == Fetch.Output {
    /// How the two stages are sized.
    public struct Configuration: Sendable {
        /// Where stage two runs.
        public enum ComputeStage: Sendable {
            /// A thread pool with this many threads: no copies, for computation that scales on threads.
            case threads(workers: Int)
            /// A process pool: true parallelism for computation that does not scale on threads.
            case processes(ProcessPool.Configuration)

            /// A process pool of `workers` workers of this executable.
            public static func processes(workers: Int) -> ComputeStage {
                .processes(ProcessPool.Configuration(workers: workers))
            }
        }

        /// Threads running stage one.
        public var fetchWorkers: Int
        /// Where stage two runs, and how many workers it has.
        public var compute: ComputeStage
        /// Most items in flight at once; nil means twice the two stages' workers together.
        public var capacity: Int?

        /// Stage sizes; `capacity` nil means twice both stages' workers.
        public init(fetchWorkers: Int, compute: ComputeStage, capacity: Int? = nil) {
            self.fetchWorkers = fetchWorkers
            self.compute = compute
            self.capacity = capacity
        }
    }

    let fetchPool: ThreadPool
    let computeThreads: ThreadPool?
    let computeProcesses: ProcessPool?
    /// Most items in flight at once.
    public let capacity: Int

    /// Starts both stages' pools.
    /// - Throws: ``PoolError`` if the compute stage's worker processes cannot start.
    public init(fetch: Fetch.Type, compute: Compute.Type, configuration: Configuration) throws {
        precondition(configuration.fetchWorkers >= 1, "a pipeline needs at least one fetch worker")
        let computeWorkers: Int
        switch configuration.compute {
        case .threads(let workers):
            precondition(workers >= 1, "a pipeline needs at least one compute worker")
            computeThreads = ThreadPool(workers: workers, name: "pipe-compute")
            computeProcesses = nil
            computeWorkers = workers
        case .processes(let processes):
            computeProcesses = try ProcessPool(configuration: processes)
            computeThreads = nil
            computeWorkers = processes.workers
        }
        fetchPool = ThreadPool(workers: configuration.fetchWorkers, name: "pipe-fetch")
        capacity = max(1, configuration.capacity ?? 2 * (configuration.fetchWorkers + computeWorkers))
    }

    deinit {
        fetchPool.shutdown(wait: false, cancelPending: true)
        computeThreads?.shutdown(wait: false, cancelPending: true)
        computeProcesses?.shutdown(wait: false, cancelPending: true)
    }

    /// The results of running both stages on every input, as a sequence in input order that
    /// computes as it is read. Read it on your own thread: `next()` blocks for the next result.
    public func results<Inputs: Sequence>(_ inputs: Inputs) -> PipelineResults<Compute.Output>
    where Inputs.Element == Fetch.Input {
        var iterator = inputs.makeIterator()
        return PipelineResults(
            capacity: capacity, nextInput: { iterator.next().map { input in { self.start(input, $0) } } })
    }

    /// Runs both stages on every input and returns the outputs in input order.
    /// - Throws: ``PipelineError`` for the first failing input in order (the rest are cancelled);
    ///   ``PoolError`` if a pool was shut down.
    public func map(_ inputs: some Sequence<Fetch.Input>) throws -> [Compute.Output] {
        let results = results(inputs)
        defer { results.cancel() }
        var outputs: [Compute.Output] = []
        for result in results { outputs.append(try result.get()) }
        return outputs
    }

    /// The `async` form of ``map(_:)``: the reading happens on a thread of its own, so no
    /// cooperative thread ever blocks.
    public func map(_ inputs: some Sequence<Fetch.Input> & Sendable) async throws -> [Compute.Output] {
        try await PlatformThread.result(name: "pipe-reader") { try self.map(inputs) }
    }

    /// Stops both pools. Items in flight complete (or, with `cancelPending`, fail if not started).
    public func shutdown(wait: Bool = true, cancelPending: Bool = false) {
        fetchPool.shutdown(wait: wait, cancelPending: cancelPending)
        computeThreads?.shutdown(wait: wait, cancelPending: cancelPending)
        computeProcesses?.shutdown(wait: wait, cancelPending: cancelPending)
    }

    /// Starts one item: stage one on the fetch pool, then stage two when it is done.
    private func start(_ input: Fetch.Input, _ index: Int) -> PipelineFlight<Compute.Output> {
        let flight = PipelineFlight<Compute.Output>(index: index)
        let fetched: Future<Fetch.Output>
        do {
            fetched = try fetchPool.submit { try Fetch.run(input) }
        } catch {
            flight.fail(.fetch, error)
            return flight
        }
        flight.track(fetched)
        fetched.whenComplete { [computeThreads, computeProcesses] result in
            switch result {
            case .failure(let error): flight.fail(.fetch, error)
            case .success(let value):
                guard !flight.isCancelled else { return }
                do {
                    let computed: Future<Compute.Output>
                    if let computeProcesses {
                        computed = try computeProcesses.submit(Compute.self, value, inputIndex: index)
                    } else {
                        computed = try computeThreads!.submit { try Compute.run(value) }
                    }
                    flight.track(computed)
                    computed.whenComplete { outcome in
                        switch outcome {
                        case .success(let output): flight.succeed(output)
                        case .failure(let error): flight.fail(.compute, error)
                        }
                    }
                } catch {
                    flight.fail(.compute, error)
                }
            }
        }
        return flight
    }
}

extension Pipeline where Fetch: PoolTask {
    /// A pipeline for a ``StagedTask``'s two stages.
    public convenience init<Staged: StagedTask>(for task: Staged.Type, configuration: Configuration) throws
    where Staged.Fetch == Fetch, Staged.Compute == Compute {
        try self.init(fetch: Fetch.self, compute: Compute.self, configuration: configuration)
    }
}
