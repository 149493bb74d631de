public import PoolExecutors

extension Executor {
    /// Runs `task` on every input as planned and hands each input's result, a value or the
    /// error that input met, to `body` in input order: a failing input does not stop the others.
    ///
    /// ```swift
    /// try executor.forEachResult(of: Resize.self, images) { index, result in
    ///     switch result {
    ///     case .success(let thumbnail): try save(thumbnail, as: names[index])
    ///     case .failure(let error): failures.append((names[index], error))
    ///     }
    /// }
    /// ```
    ///
    /// The error is what the task threw, or for worker processes the crash, the timeout or the
    /// coding failure of that input alone (``PoolError``); the items other workers finished are
    /// all delivered. Like `concurrent.futures`' `map` with each result's exception kept, or
    /// GNU parallel's `--halt never`.
    ///
    /// With `stopping`, a ``JobStop/stop()`` (from `body` at a failure, or from another thread)
    /// ends the job early without losing work: no more inputs start, the running ones finish, and
    /// every result that finished is still handed to `body` before this returns, in input order,
    /// skipping the inputs that never ran (a staged task's pipeline stops at once instead).
    /// - Throws: ``PoolError`` if a pool cannot start; an error thrown by `body` stops the job
    ///   (items not yet started never start) and is rethrown as it is.
    public func forEachResult<Task: PoolTask>(
        of task: Task.Type, _ inputs: some Collection<Task.Input>, progress: ProgressCounter? = nil,
        stopping: JobStop? = nil, _ body: (_ index: Int, _ result: Result<Task.Output, any Error>) throws -> Void
    ) throws {
        let inputs = Array(inputs)
        if inputs.isEmpty { return }
        switch plan.mode {
        case .serial:
            for (index, input) in inputs.enumerated() where stopping?.isStopped != true {
                let result = Result { try Task.run(input) }
                progress?.add(1)
                try body(index, result)
            }
        case .threads:
            let stream = try threadPool(workers: plan.workers).mapUnordered(inputs, chunkSize: plan.chunkSize) {
                try Task.run($0)
            }
            try Self.deliverEveryResult(stream, progress, stopping, body)
        case .processes:
            let stream = try processPool().mapUnordered(Task.self, inputs, chunkSize: plan.chunkSize)
            try Self.deliverEveryResult(stream, progress, stopping, body)
        case .pipeline:
            if let staged = Task.self as? any StagedTask.Type {
                let reader = try pipelineReader(staged, inputs)
                defer { reader.cancel() }
                var index = 0
                while stopping?.isStopped != true, let result = reader.next() {
                    progress?.add(1)
                    try body(index, result.map { $0 as! Task.Output }.mapError { $0 as any Error })
                    index += 1
                }
                return
            }
            let stream = try threadPool(workers: plan.fetchWorkers).mapUnordered(inputs, chunkSize: 1) {
                try Task.run($0)
            }
            try Self.deliverEveryResult(stream, progress, stopping, body)
        }
    }

    /// Puts an unordered stream back in input order, failures included; every index arrives
    /// exactly once, so the loop ends with every result delivered. After a stop, the items that
    /// never started are skipped and the rest delivered in order past them.
    private static func deliverEveryResult<Output>(
        _ completions: Completions<Output>, _ progress: ProgressCounter?, _ stopping: JobStop?,
        _ body: (Int, Result<Output, any Error>) throws -> Void
    ) throws {
        stopping?.whileRunning { completions.stopStarting() }
        defer {
            stopping?.finishedRunning()
            completions.cancel()
        }
        var waiting: [Int: Result<Output, any Error>] = [:]
        var next = 0
        for completion in completions.blocking {
            if Self.neverRan(completion.result, stopping) { continue }
            progress?.add(1)
            waiting[completion.index] = completion.result
            while let result = waiting.removeValue(forKey: next) {
                try body(next, result)
                next += 1
            }
        }
        for index in waiting.keys.sorted() { try body(index, waiting[index]!) }
    }

    /// Whether `result` is an input a stopped job never started (``ItemNotStarted``).
    static func neverRan<Output>(_ result: Result<Output, any Error>, _ stopping: JobStop?) -> Bool {
        guard stopping != nil, case .failure(let error) = result else { return false }
        return error is ItemNotStarted
    }
}
