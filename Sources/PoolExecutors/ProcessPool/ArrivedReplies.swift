internal import PoolSystem
import PoolWire

/// A reply read by the thread that waits for it.
///
/// A result normally reaches a blocked `Future.result()` in three hand-offs: the worker writes,
/// the slot's conductor wakes and decodes, the waiting thread wakes. While a thread waits for a
/// `submit` future (the few microseconds it spins before it sleeps), it reads that future's own
/// reply itself if it has arrived, under the connection's read lock, and handles it as the
/// conductor would (`handleFrame`): the conductor's wake-up is then off the path.
///
/// It reads only when the future's batch is the oldest in flight on its worker and not yet
/// answered (so the next results frame is its own), never a byte past that frame (later
/// frames stay in the pipe, where the conductor's poll sees them), and stops after it. Other
/// futures' callbacks therefore still run on the conductor, never on a thread that happens to
/// wait. The worker's end stays the conductor's too: it reads the end of the stream again.
extension ProcessPoolCore {
    /// How long a waiting thread that has read part of a frame waits for the rest before it
    /// leaves it, buffered, to the conductor.
    static let partialFramePatienceMilliseconds: Int32 = 1

    /// Handles `future`'s reply if it has arrived, without blocking on the conductor: a
    /// connection being read by another thread is left alone.
    func receiveReply(of future: any AwaitedFuture) {
        guard let (slot, connection) = lock.withLock({ state.connection(answering: future) }),
            connection.readLock.tryLock()
        else { return }
        defer { connection.readLock.unlock() }
        while !connection.readerClosed, connection.broken == nil, !future.isDone {
            let event: FrameReader.Event
            do {
                event = try connection.reader.nextWithoutReadingAhead(
                    patienceMilliseconds: Self.partialFramePatienceMilliseconds)
            } catch let error as WireError where error.kind == .unexpectedEnd {
                return  // it died mid-reply: the conductor reads the end of the stream next
            } catch {
                connection.broken =
                    "its reply stream is corrupt (did the task write on descriptor \(WorkerProtocol.replyDescriptor)?): \(error)"
                connection.process.kill()
                return
            }
            // Nothing whole yet, or the end: the conductor's.
            guard case .frame(let kind, let payload) = event else { return }
            handleFrame(kind: kind, payload: payload, slot: slot, connection: connection)
            // After its own results, nothing more: the next frame may be another caller's.
            if kind == FrameKind.results.rawValue { return }
        }
    }
}
