internal import PoolSystem
import PoolWire

/// Replies read by the thread that waits for them.
///
/// A result normally reaches a blocked `Future.result()` in three hand-offs: the worker writes,
/// the slot's conductor wakes and decodes, the waiting thread wakes. While a thread waits for a
/// process-pool result (the few microseconds it spins before it sleeps), it reads whatever
/// whole replies have arrived itself, under the connection's read lock, and handles them as the
/// conductor would (`handleFrame`): the conductor's wake-up is then off the path. Frames stay in
/// order and each is handled once (one reader at a time). The worker's end is left to the
/// conductor, which reads the end of the stream again; a corrupt stream kills the worker, as
/// the conductor would, so that end comes.
extension ProcessPoolCore {
    /// Handles the replies that have arrived from any worker that holds work, without blocking:
    /// a connection another thread is reading is skipped.
    func receiveArrivedReplies() {
        let busy = lock.withLock { state.busyConnections }
        for (slot, connection) in busy {
            guard connection.readLock.tryLock() else { continue }
            defer { connection.readLock.unlock() }
            guard !connection.readerClosed, connection.broken == nil else { continue }
            while true {
                let event: FrameReader.Event
                do {
                    event = try connection.reader.next(timeoutMilliseconds: 0)
                } catch let error as WireError where error.kind == .unexpectedEnd {
                    break  // it died mid-reply: the conductor reads the end of the stream next
                } catch {
                    connection.broken =
                        "its reply stream is corrupt (did the task write on descriptor \(WorkerProtocol.replyDescriptor)?): \(error)"
                    Processes.kill(connection.pid)
                    break
                }
                guard case .frame(let kind, let payload) = event else { break }  // nothing more whole, or the end
                handleFrame(kind: kind, payload: payload, slot: slot, connection: connection)
            }
        }
    }
}
