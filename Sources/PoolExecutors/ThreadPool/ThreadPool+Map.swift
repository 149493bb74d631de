extension ThreadPool {
    /// Applies `transform` to every element on the pool's threads and returns the results in
    /// input order.
    ///
    /// Elements are handed to workers in chunks. With the automatic size (`chunkSize: nil`)
    /// chunks start large and shrink towards single items as the input runs out, so tiny
    /// transforms pay almost no dispatch cost and long ones still keep every worker busy until
    /// the end. The calling thread blocks; in async code the `async` overload suspends instead.
    ///
    /// - Parameters:
    ///   - inputs: The elements; copied once into an array.
    ///   - chunkSize: Elements per claim, or `nil` for the automatic size.
    ///   - transform: The work for one element.
    /// - Returns: `transform(inputs[i])` at position `i`.
    /// - Throws: ``MapError`` with the lowest failing input index and the transform's error:
    ///   after a failure no element above it starts, and the elements below it finish first,
    ///   so the error is the one a serial loop would have met.
    ///   `CancellationError` if the pool was shut down with `cancelPending` mid-map.
    ///   ``PoolError`` if the pool is shut down or broken.
    @inlinable
    public func map<Element: Sendable, Output: Sendable>(
        _ inputs: some Collection<Element>,
        chunkSize: Int? = nil,
        _ transform: @escaping @Sendable (Element) throws -> Output
    ) throws -> [Output] {
        let elements = Array(inputs)
        let slots = ResultSlots<Output>(count: elements.count)
        let done = try startOrderedMap(count: elements.count, chunkSize: chunkSize) { index in
            slots.store(try transform(elements[index]), at: index)
        }
        try done.result()
        return slots.collect()
    }

    /// Applies `transform` to every element on the pool's threads, suspending the calling
    /// task until all results are in; results are in input order.
    ///
    /// Same chunking, errors and cancellation as the blocking form; when the pool has a
    /// `maxPending` bound the call suspends for room instead of blocking.
    @inlinable
    public func map<Element: Sendable, Output: Sendable>(
        _ inputs: some Collection<Element>,
        chunkSize: Int? = nil,
        _ transform: @escaping @Sendable (Element) throws -> Output
    ) async throws -> [Output] {
        let elements = Array(inputs)
        let slots = ResultSlots<Output>(count: elements.count)
        let done = try await startOrderedMap(count: elements.count, chunkSize: chunkSize) { index in
            slots.store(try transform(elements[index]), at: index)
        }
        try await done.value
        return slots.collect()
    }

    /// Applies `transform` to every element on the pool's threads and streams the results as
    /// they finish, each with its input index.
    ///
    /// A failing element does not stop the others: it arrives with its error. Dropping the
    /// stream stops elements that have not started.
    /// - Returns: A stream to read with `for await`, or through ``Completions/blocking``.
    /// - Throws: ``PoolError`` if the pool is shut down or broken.
    @inlinable
    public func mapUnordered<Element: Sendable, Output: Sendable>(
        _ inputs: some Collection<Element>,
        chunkSize: Int? = nil,
        _ transform: @escaping @Sendable (Element) throws -> Output
    ) throws -> Completions<Output> {
        let elements = Array(inputs)
        let channel = try startStreamingMap(count: elements.count, chunkSize: chunkSize) { index in
            do { return .success(try transform(elements[index])) } catch { return .failure(error) }
        }
        return Completions(channel: channel)
    }

    /// ``mapUnordered(_:chunkSize:_:)`` for async callers: suspends, instead of blocking,
    /// while a bounded queue is full.
    @inlinable
    public func mapUnordered<Element: Sendable, Output: Sendable>(
        _ inputs: some Collection<Element>,
        chunkSize: Int? = nil,
        _ transform: @escaping @Sendable (Element) throws -> Output
    ) async throws -> Completions<Output> {
        let elements = Array(inputs)
        let channel = try await startStreamingMap(count: elements.count, chunkSize: chunkSize) { index in
            do { return .success(try transform(elements[index])) } catch { return .failure(error) }
        }
        return Completions(channel: channel)
    }

    // MARK: - Non-generic engine (called from the inlined code above)

    /// Starts an ordered map; the future completes when every index was processed.
    @usableFromInline
    func startOrderedMap(count: Int, chunkSize: Int?, process: @escaping @Sendable (Int) throws -> Void) throws
        -> Future<Void>
    {
        let (job, runners) = orderedJob(count: count, chunkSize: chunkSize, process: process)
        try core.start(job, runners: runners)
        return job.done
    }

    @usableFromInline
    func startOrderedMap(count: Int, chunkSize: Int?, process: @escaping @Sendable (Int) throws -> Void)
        async throws -> Future<Void>
    {
        let (job, runners) = orderedJob(count: count, chunkSize: chunkSize, process: process)
        try await core.start(job, runners: runners)
        return job.done
    }

    @usableFromInline
    func startStreamingMap(count: Int, chunkSize: Int?, process: @escaping @Sendable (Int) -> FutureOutcome) throws
        -> CompletionChannel
    {
        let (job, runners) = streamingJob(count: count, chunkSize: chunkSize, process: process)
        try core.start(job, runners: runners)
        return job.channel
    }

    @usableFromInline
    func startStreamingMap(count: Int, chunkSize: Int?, process: @escaping @Sendable (Int) -> FutureOutcome)
        async throws -> CompletionChannel
    {
        let (job, runners) = streamingJob(count: count, chunkSize: chunkSize, process: process)
        try await core.start(job, runners: runners)
        return job.channel
    }

    private func orderedJob(count: Int, chunkSize: Int?, process: @escaping @Sendable (Int) throws -> Void)
        -> (OrderedMapJob, runners: Int)
    {
        let runners = core.runnerCount(for: count, chunkSize: chunkSize)
        return (OrderedMapJob(count: count, chunkSize: chunkSize, runners: runners, process: process), runners)
    }

    private func streamingJob(count: Int, chunkSize: Int?, process: @escaping @Sendable (Int) -> FutureOutcome)
        -> (StreamingMapJob, runners: Int)
    {
        let runners = core.runnerCount(for: count, chunkSize: chunkSize)
        return (StreamingMapJob(count: count, chunkSize: chunkSize, runners: runners, process: process), runners)
    }
}
