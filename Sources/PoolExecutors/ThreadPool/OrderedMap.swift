import Synchronization

/// The shared state of one ``ThreadPool/map(_:chunkSize:_:)``: inputs, a result slot per
/// input, the first failure, and the future the caller waits on.
///
/// Each slot is written by exactly one runner (the one that claimed its index), and read only
/// after the last runner signed off, so the slots need no lock.
final class OrderedMap<Element: Sendable, Output: Sendable>: MapRunners, @unchecked Sendable {
    let cursor: ChunkCursor
    let progress: MapProgress
    let done = Future<[Output]>()
    private let inputs: [Element]
    private let transform: @Sendable (Element) throws -> Output
    private let slots: UnsafeMutablePointer<Output?>
    private let failure = Mutex<MapError?>(nil)

    init(inputs: [Element], chunkSize: Int?, runners: Int, transform: @escaping @Sendable (Element) throws -> Output) {
        self.inputs = inputs
        self.transform = transform
        cursor = ChunkCursor(count: inputs.count, chunkSize: chunkSize, runners: runners)
        progress = MapProgress(runners: runners + 1, items: inputs.count)
        slots = .allocate(capacity: inputs.count)
        slots.initialize(repeating: nil, count: inputs.count)
    }

    deinit {
        slots.deinitialize(count: inputs.count)
        slots.deallocate()
    }

    func work() {
        while let range = cursor.claim() {
            for index in range {
                if cursor.isStopped { return }
                do {
                    slots[index] = try transform(inputs[index])
                } catch {
                    record(MapError(index: index, error: error))
                    return
                }
            }
            chunkDone(range)
        }
    }

    /// Keeps the failure with the lowest index and stops the runners.
    private func record(_ error: MapError) {
        failure.withLock { current in
            if current == nil || error.index < current!.index { current = error }
        }
        cursor.stop()
    }

    func finish() {
        if let failure = failure.withLock({ $0 }) {
            done.complete(with: .failure(failure))
        } else if cursor.isStopped || !cursor.isExhausted {
            // Runners were cancelled (shutdown with cancelPending) before finishing the input.
            done.complete(with: .failure(CancellationError()))
        } else {
            var results: [Output] = []
            results.reserveCapacity(inputs.count)
            for index in 0..<inputs.count { results.append(slots[index].take()!) }
            done.complete(with: .success(results))
        }
    }
}

/// The shared state of one ``ThreadPool/mapUnordered(_:chunkSize:_:)``: each item's outcome
/// goes to a ``CompletionChannel`` as soon as it is known.
final class UnorderedMap<Element: Sendable, Output: Sendable>: MapRunners, @unchecked Sendable {
    let cursor: ChunkCursor
    let progress: MapProgress
    let channel: CompletionChannel<Output>
    private let inputs: [Element]
    private let transform: @Sendable (Element) throws -> Output

    init(inputs: [Element], chunkSize: Int?, runners: Int, transform: @escaping @Sendable (Element) throws -> Output) {
        self.inputs = inputs
        self.transform = transform
        cursor = ChunkCursor(count: inputs.count, chunkSize: chunkSize, runners: runners)
        progress = MapProgress(runners: runners + 1, items: inputs.count)
        channel = CompletionChannel(expecting: inputs.count)
    }

    func work() {
        while let range = cursor.claim() {
            for index in range {
                if cursor.isStopped { return }
                let result: Result<Output, any Error>
                do { result = .success(try transform(inputs[index])) } catch { result = .failure(error) }
                channel.push(IndexedResult(index: index, result: result))
            }
            chunkDone(range)
        }
    }

    func finish() {
        // Items no runner reached (cancelled runners) still get an element each, so the
        // consumer sees every index exactly once and the stream ends.
        for index in cursor.claimRest() {
            channel.push(IndexedResult(index: index, result: .failure(CancellationError())))
        }
        channel.close()
    }
}
