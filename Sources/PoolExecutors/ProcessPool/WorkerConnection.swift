internal import PoolSystem
import PoolWire
import Synchronization

/// One live worker process as the parent sees it: its pid, the request pipe (with a writer
/// thread for frames that do not fit at once), the reply reader and the progress page.
///
/// Writes never happen on the thread that reads replies: a conductor blocked writing a large
/// request to a worker that is itself blocked writing a large reply would deadlock both.
/// Small frames (up to `PIPE_BUF`, which the kernel writes whole or not at all) go straight
/// from the submitting thread when nothing is queued; everything else goes through the
/// connection's writer thread in order.
// @unchecked: the outbox's vars are used under `lock`; `reader` (not Sendable), `broken`, `fatal` and
// `readerClosed` under `readLock`.
final class WorkerConnection: @unchecked Sendable {
    /// The worker process (for a remote worker, its launcher's process).
    let process: WorkerProcess
    var pid: Int32 { process.pid }
    let reader: FrameReader
    let page: ProgressPage?
    /// Shared memory for large arguments (written here) and large results (read here).
    let arguments: SharedArena?
    let results: SharedArena?
    let hello: WorkerHello
    /// Task name to its index in the worker's table and its signature.
    let tasks: [String: (index: Int, signature: String)]

    /// Serialises reading and handling replies between the slot's conductor and threads that
    /// wait for one of this worker's results and read it themselves when it is there (see
    /// `ProcessPoolCore.receiveArrivedReplies()`): frames are handled one at a time, in order.
    let readLock = ConditionLock()
    /// Under `readLock`: why the worker was killed for breaking the protocol, once it was.
    var broken: String?
    /// Under `readLock`: what the worker said in a fatal frame, if it sent one.
    var fatal: String?
    /// Under `readLock`: set once the conductor has stopped reading (the descriptor closes next).
    var readerClosed = false
    /// For a remote worker's task timeout (it has no progress page): when it was last seen to
    /// start an item, at the latest (monotonic ns: given work while idle, or its last reply);
    /// 0 while it holds no work. Set under the core's lock.
    let progressMark = Atomic<UInt64>(0)
    /// For the same: requests not yet written whole to the launcher (their worker cannot have
    /// started them), and when the last one was (monotonic ns). Kept only without a page.
    let unwrittenRequests = Atomic<Int>(0)
    let lastRequestWritten = Atomic<UInt64>(0)
    private var tracksWrites: Bool { page == nil }
    /// Under `readLock`: a remote worker's exit status, from the frame its shell sends after
    /// it (see ``ExitTrailer``). A remote stream that ends without one lost its connection.
    var remoteExit: Int32?

    private let requestDescriptor: Int32
    private let lock = ConditionLock()
    private let outboxChanged = Condition()
    private var outbox = RingBuffer<[UInt8]>()
    private var writerBusy = false
    private var closing = false
    private var writer: PlatformThread?
    private static let atomicWriteLimit = 4096

    init(
        process: WorkerProcess, requestDescriptor: Int32, reader: FrameReader, page: ProgressPage?,
        arenas: (arguments: SharedArena, results: SharedArena)?, hello: WorkerHello, name: String
    ) throws {
        self.process = process
        self.requestDescriptor = requestDescriptor
        self.reader = reader
        self.page = page
        arguments = arenas?.arguments
        results = arenas?.results
        self.hello = hello
        var tasks: [String: (index: Int, signature: String)] = [:]
        for (index, taskName) in hello.taskNames.enumerated() {
            tasks[taskName] = (index, index < hello.taskSignatures.count ? hello.taskSignatures[index] : "")
        }
        self.tasks = tasks
        Processes.setNonBlocking(requestDescriptor)
        // A waiting thread tries a read without a poll first (`nextWithoutReadingAhead`).
        Processes.setNonBlocking(reader.descriptor)
        reader.descriptorIsNonBlocking = true
        let thread = try PlatformThread.start(name: name) { self.writeLoop() }
        lock.withLock { writer = thread }
    }

    /// Queues or writes one finished frame; returns `false` if the connection is closing (the
    /// caller's batch is then handled as never sent).
    @discardableResult
    func send(_ frame: UnsafeRawBufferPointer) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !closing else { return false }
        if outbox.isEmpty && !writerBusy && frame.count <= Self.atomicWriteLimit {
            if case .moved(let written)? = try? Descriptor.write(
                requestDescriptor, from: frame.baseAddress!, count: frame.count)
            {
                precondition(written == frame.count, "BUG: a pipe write of at most PIPE_BUF bytes was split")
                if tracksWrites { lastRequestWritten.store(MonotonicClock.nanoseconds(), ordering: .releasing) }
                return true
            }
        }
        if tracksWrites { unwrittenRequests.add(1, ordering: .acquiringAndReleasing) }
        outbox.append([UInt8](frame))
        outboxChanged.signal()
        return true
    }

    /// Stops accepting frames; the writer sends what is queued (unless `discardQueued`), then
    /// closes the request pipe, which tells the worker to exit.
    func closeRequests(discardQueued: Bool) {
        lock.withLock {
            closing = true
            if discardQueued {
                _ = outbox.removeAll()
                unwrittenRequests.store(0, ordering: .releasing)
            }
            outboxChanged.signal()
        }
    }

    /// Waits for the writer thread to finish (after ``closeRequests(discardQueued:)``).
    func joinWriter() {
        let thread = lock.withLock { () -> PlatformThread? in
            defer { writer = nil }
            return writer
        }
        thread?.join()
    }

    private func writeLoop() {
        while true {
            lock.lock()
            while outbox.isEmpty && !closing { outboxChanged.wait(releasing: lock) }
            guard let frame = outbox.popFirst() else {
                lock.unlock()
                break  // closing and drained
            }
            writerBusy = true
            lock.unlock()
            let written: Bool = frame.withUnsafeBytes { bytes in
                (try? Descriptor.writeAll(requestDescriptor, bytes)) != nil
            }
            if tracksWrites {
                // The time first: a reader that sees no request left unwritten sees it too.
                lastRequestWritten.store(MonotonicClock.nanoseconds(), ordering: .releasing)
                unwrittenRequests.subtract(1, ordering: .acquiringAndReleasing)
            }
            lock.lock()
            writerBusy = false
            if !written {
                // The worker is gone: its conductor sees the end of the reply stream and
                // requeues or fails what it held. Nothing more can be sent.
                closing = true
                _ = outbox.removeAll()
                unwrittenRequests.store(0, ordering: .releasing)
            }
            lock.unlock()
        }
        Descriptor.close(requestDescriptor)
    }
}
