public import PoolExecutors
internal import PoolRules
internal import Synchronization

/// Runs a job the way a ``Recommendation`` says: one `map` over serial, threads, processes and
/// the split pipeline.
///
/// ```swift
/// let advice = Advisor().recommend(profile, items: paths.count)
/// let executor = Executor(advice)
/// let sums = try executor.map(Checksum.self, paths)      // in input order
/// executor.shutdown()
/// ```
///
/// Pools are started on first use and kept for later maps until ``shutdown()`` (or until the
/// executor is released). Worker processes run this executable, so `main` must call
/// ``WorkerEntry/runIfWorker(tasks:)`` first, with every task it maps.
public final class Executor: Sendable {
    /// How the executor runs jobs.
    public let plan: ExecutionPlan
    private let processTemplate: ProcessPool.Configuration
    private let pools = Locked<Pools>(Pools())

    private struct Pools: Sendable {
        var threads: ThreadPool?
        var processes: ProcessPool?
        var pipelines: [ObjectIdentifier: any ShutDownable] = [:]
    }

    /// An executor for `recommendation`'s mode and sizes.
    /// - Parameter processes: the worker settings for process pools (executable, environment,
    ///   timeouts); its worker count is replaced by the plan's. Its ``ProcessPool/Configuration/hosts``
    ///   are used when the recommendation runs on them (``Recommendation/runsOnHosts``), or when
    ///   it was made without knowing of any; an advisor that weighed them and chose this
    ///   machine runs here.
    public convenience init(_ recommendation: Recommendation, processes: ProcessPool.Configuration = .init()) {
        let weighedHostsAndDeclined = recommendation.predicted.multiHost != nil && !recommendation.runsOnHosts
        self.init(
            plan: ExecutionPlan(recommendation),
            processes: weighedHostsAndDeclined ? processes.onThisMachine(workers: processes.workers) : processes)
    }

    /// An executor for a fixed plan, read as English at the call site:
    /// `Executor(.processes(workers: 2))`, `Executor(.threads(workers: 8, chunk: 16))`, `Executor(.serial)`.
    public convenience init(_ plan: ExecutionPlan, processes: ProcessPool.Configuration = .init()) {
        self.init(plan: plan, processes: processes)
    }

    /// An executor for an explicit plan.
    public init(plan: ExecutionPlan, processes: ProcessPool.Configuration = .init()) {
        self.plan = plan
        self.processTemplate = processes
    }

    deinit { shutdown(wait: false) }

    /// Runs `task` on every input as planned and returns the outputs in input order.
    ///
    /// In pipeline mode the task must be a ``StagedTask``; a task without stages runs on
    /// threads with the pipeline's fetch workers instead.
    /// - Throws: ``MapError`` with the first failing index (in a pipeline, with the stage that
    ///   failed); ``PoolError`` if a pool cannot start or was shut down.
    /// - Parameter progress: counts finished items as they finish (for progress displays).
    public func map<Task: PoolTask>(
        _ task: Task.Type, _ inputs: some Collection<Task.Input>, progress: ProgressCounter? = nil
    ) throws -> [Task.Output] {
        let inputs = Array(inputs)
        if inputs.isEmpty { return [] }
        switch plan.mode {
        case .serial:
            return try inputs.enumerated().map { index, input in
                defer { progress?.add(1) }
                do { return try Task.run(input) } catch { throw MapError(index: index, error: error) }
            }
        case .threads:
            return try threadPool(workers: plan.workers).map(inputs, chunkSize: plan.chunkSize) {
                defer { progress?.add(1) }
                return try Task.run($0)
            }
        case .processes where progress == nil:
            return try processPool().map(Task.self, inputs, chunkSize: plan.chunkSize)
        case .pipeline where !(Task.self is any StagedTask.Type):
            return try threadPool(workers: plan.fetchWorkers).map(inputs, chunkSize: 1) {
                defer { progress?.add(1) }
                return try Task.run($0)
            }
        case .processes, .pipeline:
            // Counted processes and staged pipelines stream anyway: collect what they hand over.
            var outputs: [Task.Output] = []
            outputs.reserveCapacity(inputs.count)
            try forEachOutput(of: task, inputs, progress: progress) { outputs.append($1) }
            return outputs
        }
    }

    /// Runs `task` on every input as planned and hands each output to `body` in input order,
    /// as soon as it and every output before it are done: a long job's first outputs can be
    /// written while the rest still run, and no array of all outputs is built.
    ///
    /// ```swift
    /// try executor.forEachOutput(of: Resize.self, images) { index, thumbnail in
    ///     try save(thumbnail, as: names[index])
    /// }
    /// ```
    ///
    /// Outputs that finish ahead of an earlier, slower one wait in a buffer until it is done.
    /// With `stopping`, a ``JobStop/stop()`` ends the job early: no more inputs start, and the
    /// outputs of those that were running are still handed over, in input order, skipping any
    /// input that never ran (a staged task's pipeline stops at once instead).
    /// - Throws: ``MapError`` for the lowest failing index among those started (in a pipeline,
    ///   with the stage that failed) once every output before it was handed to `body`; work not
    ///   yet started is then dropped. An error thrown by `body` stops the job the same way and
    ///   is rethrown as it is.
    public func forEachOutput<Task: PoolTask>(
        of task: Task.Type, _ inputs: some Collection<Task.Input>, progress: ProgressCounter? = nil,
        stopping: JobStop? = nil, _ body: (_ index: Int, _ output: Task.Output) throws -> Void
    ) throws {
        try forEachOutput(of: task, inputs, reportingIndexes: nil, progress: progress, stopping: stopping, body)
    }

    /// ``forEachOutput(of:_:progress:_:)`` for inputs the caller knows by `reportingIndexes`
    /// in a larger job: a worker's crash or timeout names those indexes (positions stay the
    /// same in `body` and in the thrown ``MapError``).
    package func forEachOutput<Task: PoolTask>(
        of task: Task.Type, _ inputs: some Collection<Task.Input>, reportingIndexes: [Int]?,
        progress: ProgressCounter?, stopping: JobStop? = nil,
        _ body: (_ index: Int, _ output: Task.Output) throws -> Void
    ) throws {
        let inputs = Array(inputs)
        if inputs.isEmpty { return }
        switch plan.mode {
        case .serial:
            for (index, input) in inputs.enumerated() where stopping?.isStopped != true {
                let output: Task.Output
                do { output = try Task.run(input) } catch { throw MapError(index: index, error: error) }
                progress?.add(1)
                try body(index, output)
            }
        case .threads:
            let stream = try threadPool(workers: plan.workers).mapUnordered(inputs, chunkSize: plan.chunkSize) {
                try Task.run($0)
            }
            try Self.deliverInOrder(stream, count: inputs.count, progress, stopping: stopping, body)
        case .processes:
            let stream = try processPool().mapUnordered(
                Task.self, inputs, chunkSize: plan.chunkSize, reportingIndexes: reportingIndexes)
            try Self.deliverInOrder(stream, count: inputs.count, progress, stopping: stopping, body)
        case .pipeline:
            if let staged = Task.self as? any StagedTask.Type {
                try streamPipeline(staged, inputs, progress, stopping) { try body($0, $1 as! Task.Output) }
                return
            }
            let stream = try threadPool(workers: plan.fetchWorkers).mapUnordered(inputs, chunkSize: 1) {
                try Task.run($0)
            }
            try Self.deliverInOrder(stream, count: inputs.count, progress, stopping: stopping, body)
        }
    }

    /// Puts an unordered stream back in input order, counting items as they finish.
    ///
    /// A failure is held until every earlier index has arrived, so the error reported is the
    /// lowest failing index among the started items, whatever order the workers finished in;
    /// only then is the unstarted rest cancelled. After a stop, the items that never started
    /// are skipped and the outputs past them delivered in order.
    static func deliverInOrder<Output>(
        _ completions: Completions<Output>, count: Int, _ progress: ProgressCounter?, stopping: JobStop? = nil,
        _ body: (Int, Output) throws -> Void
    ) throws {
        stopping?.whileRunning { completions.stopStarting() }
        defer {
            stopping?.finishedRunning()
            completions.cancel()
        }
        var waiting: [Int: Output] = [:]
        var next = 0
        var failure: MapError?
        for completion in completions.blocking {
            if neverRan(completion.result, stopping) { continue }
            switch completion.result {
            case .success(let value):
                progress?.add(1)
                if completion.index < (failure?.index ?? count) { waiting[completion.index] = value }
            case .failure(let error):
                if completion.index < (failure?.index ?? count) {
                    failure = MapError(index: completion.index, error: error)
                }
            }
            while let value = waiting.removeValue(forKey: next) {
                try body(next, value)
                next += 1
            }
            if let failure, failure.index == next { throw failure }
        }
        // Every index arrives exactly once, so the loop ends by delivering all or by the failure
        // (or, stopped, with outputs past inputs that never ran).
        for index in waiting.keys.sorted() where index < (failure?.index ?? count) { try body(index, waiting[index]!) }
        if let failure { throw failure }
    }

    /// The `async` form of ``map(_:_:)``: suspends, never blocking a cooperative thread.
    public func map<Task: PoolTask>(_ task: Task.Type, _ inputs: some Collection<Task.Input> & Sendable) async throws
        -> [Task.Output]
    {
        try await PlatformThread.result(name: "executor") { try self.map(task, inputs) }
    }

    /// Stops the executor's pools (they restart on the next map).
    public func shutdown(wait: Bool = true) {
        let stopping = pools.withLock { pools in
            defer { pools = Pools() }
            return pools
        }
        stopping.threads?.shutdown(wait: wait)
        stopping.processes?.shutdown(wait: wait)
        for pipeline in stopping.pipelines.values { pipeline.shutDown(wait: wait) }
    }

    /// The CPU time of the thread pool's workers, in seconds; 0 before a thread plan's pool
    /// has started.
    var threadWorkersCPUSeconds: Double { pools.withLock { $0.threads?.workersCPUSeconds ?? 0 } }

    func threadPool(workers: Int) -> ThreadPool {
        pools.withLock { pools in
            if let pool = pools.threads, pool.workerCount == workers { return pool }
            let pool = ThreadPool(workers: max(1, workers), name: "exec")
            pools.threads = pool
            return pool
        }
    }

    func processPool() throws -> ProcessPool {
        try pools.withLock { pools in
            if let pool = pools.processes { return pool }
            let pool = try ProcessPool(configuration: processTemplate.sized(workers: plan.workers))
            pools.processes = pool
            return pool
        }
    }

    private func streamPipeline<Staged: StagedTask>(
        _ task: Staged.Type, _ inputs: [any Sendable], _ progress: ProgressCounter?, _ stopping: JobStop?,
        _ body: (Int, any Sendable) throws -> Void
    ) throws {
        let reader = try pipelineReader(task, inputs)
        defer { reader.cancel() }
        var index = 0
        while stopping?.isStopped != true, let result = reader.next() {
            let output = try result.get()
            progress?.add(1)
            try body(index, output)
            index += 1
        }
    }

    /// The executor's pipeline (started on first use) running `inputs` of a staged task, read
    /// in input order; with `prefetch`, the first items start before this returns.
    func pipelineReader<Staged: StagedTask>(_ task: Staged.Type, _ inputs: [any Sendable], prefetch: Bool = false)
        throws -> PipelineReader
    {
        let typed = inputs.map { $0 as! Staged.Input }
        let pipeline: Pipeline<Staged.Fetch, Staged.Compute> = try pools.withLock { pools in
            let key = ObjectIdentifier(Staged.self)
            if let existing = pools.pipelines[key] as? Pipeline<Staged.Fetch, Staged.Compute> { return existing }
            let processes = processTemplate.sized(workers: plan.workers)
            let compute: Pipeline<Staged.Fetch, Staged.Compute>.Configuration.ComputeStage =
                plan.computeStage == .threads ? .threads(workers: max(1, plan.workers)) : .processes(processes)
            let created = try Pipeline(
                for: Staged.self, configuration: .init(fetchWorkers: max(1, plan.fetchWorkers), compute: compute))
            pools.pipelines[key] = created
            return created
        }
        let results = pipeline.results(typed)
        if prefetch { results.prefetch() }
        return PipelineReader(next: { results.next().map { $0.map { $0 as any Sendable } } }, cancel: results.cancel)
    }
}

/// A pipeline run read in input order, its output type erased (the executor's tasks are
/// generic over ``PoolTask``; the pipeline's stages are the staged task's).
struct PipelineReader {
    /// The next result in input order, nil after the last.
    let next: () -> Result<any Sendable, PipelineError>?
    /// Stops the run: items not started never start.
    let cancel: () -> Void
}

/// A count of finished items that another thread can read while a job runs.
public final class ProgressCounter: Sendable {
    private let count = Atomic<Int>(0)

    /// A counter at zero.
    public init() {}

    /// Items finished so far.
    public var completed: Int { count.load(ordering: .relaxed) }

    /// Adds `items` finished items.
    public func add(_ items: Int) { count.add(items, ordering: .relaxed) }
}

protocol ShutDownable: AnyObject, Sendable {
    func shutDown(wait: Bool)
}

extension Pipeline: ShutDownable {
    func shutDown(wait: Bool) { shutdown(wait: wait) }
}
