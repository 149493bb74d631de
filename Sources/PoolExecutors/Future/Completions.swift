/// One finished item of a stream of results: its input index and its outcome.
public struct IndexedResult<Output: Sendable>: Sendable {
    /// The position of the item in the input (or in the futures given to ``Completions``).
    public let index: Int
    /// The value, or the error the work threw (unchanged), or `CancellationError`.
    public let result: Result<Output, any Error>

    @inlinable
    init(_ item: CompletedItem) {
        index = item.index
        result = item.outcome.result(as: Output.self)
    }

    /// The value, or the error rethrown.
    public func get() throws -> Output { try result.get() }
}

/// Results in the order they finish, each carrying its input index.
///
/// Read it with `for await` in async code (the task suspends, never blocking a thread), or
/// through ``blocking`` on your own threads. Every index appears exactly once; an item whose
/// work failed or was cancelled arrives with its error, and the stream goes on.
///
/// ```swift
/// let pages = try pool.mapUnordered(urls) { try fetch($0) }
/// for await page in pages {
///     print(page.index, try page.get())
/// }
/// ```
///
/// When the last reference to the stream goes away (for example by leaving the loop early),
/// items that have not started are not run.
public final class Completions<Output: Sendable>: AsyncSequence, Sendable {
    public typealias Element = IndexedResult<Output>

    @usableFromInline let channel: CompletionChannel

    @usableFromInline
    init(channel: CompletionChannel) {
        self.channel = channel
    }

    /// A stream of `futures` in the order they complete, each tagged with its position in
    /// the array (like Python's `as_completed`). Dropping the stream or calling ``cancel()``
    /// leaves these futures alone: cancel them yourself if you no longer need them.
    public convenience init(of futures: [Future<Output>]) {
        let channel = CompletionChannel(expecting: futures.count)
        self.init(channel: channel)
        for (index, future) in futures.enumerated() {
            future.addCallback { channel.push(CompletedItem(index: index, outcome: $0)) }
        }
    }

    deinit { channel.stop() }

    /// Stops work that has not started; the stream then ends after what is already done.
    public func cancel() {
        channel.stop()
    }

    /// Starts no more items, and keeps every item already started: a thread pool's runners
    /// finish the item each is running (the rest of a claimed chunk does not start), worker
    /// processes the batches they were sent, and those items arrive as usual. Items that never
    /// start arrive with ``ItemNotStarted``, and the stream then ends. For a job that stops
    /// early (at a failure, on a signal) and must not lose what finished; ``cancel()`` is for a
    /// consumer that no longer reads. A stream of futures (``init(of:)``) starts nothing, so
    /// this does nothing there.
    public func stopStarting() {
        channel.stopStarting()
    }

    /// The next finished item, blocking up to `timeout`; `nil` if none arrived in time or the
    /// stream has ended.
    @inlinable
    public func next(timeout: Duration) -> Element? {
        channel.next(timeout: timeout).map(Element.init)
    }

    /// The same stream as a blocking `Sequence`, for threads that may block.
    public var blocking: BlockingCompletions<Output> { BlockingCompletions(owner: self) }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(owner: self) }

    /// Awaits finished items; ends when every item was delivered or the task is cancelled.
    public struct AsyncIterator: AsyncIteratorProtocol {
        @usableFromInline let owner: Completions<Output>

        init(owner: Completions<Output>) { self.owner = owner }

        @inlinable
        public mutating func next() async -> Element? {
            await owner.channel.next().map(Element.init)
        }
    }
}

/// ``Completions`` read by blocking the calling thread: `for item in stream.blocking`.
public struct BlockingCompletions<Output: Sendable>: Sequence, IteratorProtocol, Sendable {
    @usableFromInline let owner: Completions<Output>

    init(owner: Completions<Output>) { self.owner = owner }

    @inlinable
    public mutating func next() -> IndexedResult<Output>? {
        owner.channel.next().map(IndexedResult.init)
    }
}
