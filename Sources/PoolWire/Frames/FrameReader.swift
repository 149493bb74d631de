internal import PoolSystem

/// Reads length-prefixed frames from a file descriptor.
///
/// It buffers reads (many small frames per `read(2)`) and handles short reads, `EINTR` and
/// non-blocking descriptors. For a large frame the buffer grows in bounded steps as its bytes
/// arrive (to 1 MiB, then doubling, up to the announced size), never to the size a header merely
/// announces: a header claiming 1 GiB costs nothing until a gigabyte has been sent.
///
/// How a stream can end:
/// - end of file between frames is ``Event/endOfStream``;
/// - end of file inside a frame (the writer stopped or died while writing it) is a thrown
///   ``WireError`` of kind ``WireError/Kind/unexpectedEnd``; the partial frame is dropped.
///   A caller that treats a dead writer like a closed one (a pool whose worker crashed
///   mid-reply) handles this kind like ``Event/endOfStream``;
/// - a damaged header or an over-long frame is a thrown ``WireError`` of kind
///   ``WireError/Kind/corruptFrame``: the writer is alive but out of step.
///
/// Not thread-safe: one reader per descriptor, on one thread at a time.
public final class FrameReader {
    /// What ``next(timeoutMilliseconds:)`` saw.
    public enum Event {
        /// A whole frame. `payload` points into the reader's buffer and is valid until the next
        /// call to ``next(timeoutMilliseconds:)``.
        case frame(kind: UInt8, payload: UnsafeRawBufferPointer)
        /// The writer closed the descriptor at a frame boundary.
        case endOfStream
        /// No whole frame arrived within the timeout.
        case timedOut
    }

    /// The descriptor read from; the reader does not close it.
    public let descriptor: Int32
    /// The largest payload accepted before the stream is declared corrupt.
    public let maximumPayload: Int

    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0
    private var end = 0
    /// Bytes consumed before `buffer[start]`, so errors can give a stream offset.
    private var streamOffset = 0
    private static let baseCapacity = 64 * 1024
    /// The first step a large frame's buffer grows to; later steps double it.
    private static let firstGrowth = 1 << 20

    /// Set by an owner that made ``descriptor`` non-blocking: ``nextWithoutReadingAhead(patienceMilliseconds:)``
    /// then tries a `read` without a `poll` first.
    package var descriptorIsNonBlocking = false

    /// Bytes the reader's buffer holds now (to check it follows the bytes that arrived).
    package var bufferCapacity: Int { capacity }

    /// Creates a reader of `descriptor` that refuses frames above `maximumPayload` bytes.
    public init(descriptor: Int32, maximumPayload: Int = FrameHeader.defaultMaximumPayload) {
        self.descriptor = descriptor
        self.maximumPayload = maximumPayload
        capacity = Self.baseCapacity
        buffer = Memory.allocate(byteCount: capacity)
    }

    deinit { Memory.free(buffer) }

    /// Whether a whole frame is already buffered (so waiting on the descriptor would be wrong).
    /// A damaged header counts as buffered, so the next read reports it at once.
    public var hasBufferedFrame: Bool {
        do {
            return try bufferedFrameLength() != nil
        } catch {
            return true
        }
    }

    /// The next frame, end of stream, or a timeout.
    ///
    /// - Parameter timeoutMilliseconds: how long to wait for more bytes each time the buffer runs
    ///   dry; -1 waits forever.
    /// - Throws: ``WireError`` for a corrupt or truncated stream, ``SystemCallError`` for a
    ///   failed `read` or `poll`.
    public func next(timeoutMilliseconds: Int32 = -1) throws -> Event {
        while true {
            if let frame = try takeBufferedFrame() { return frame }
            try makeRoom()
            if timeoutMilliseconds >= 0 {
                guard try Descriptor.wait(descriptor, timeoutMilliseconds: timeoutMilliseconds) else {
                    return .timedOut
                }
            }
            switch try Descriptor.read(descriptor, into: buffer + end, count: capacity - end) {
            case .moved(0):
                guard start == end else { throw truncation() }
                return .endOfStream
            case .moved(let count):
                end += count
            case .wouldBlock:
                _ = try Descriptor.wait(descriptor, timeoutMilliseconds: timeoutMilliseconds)
            }
        }
    }

    /// The next frame, reading from the descriptor no byte past its end, so that the bytes of
    /// later frames stay in the descriptor for whoever waits on it (the reader's buffer holds
    /// at most a partial frame afterwards, never a whole one nobody was woken for).
    ///
    /// Returns ``Event/timedOut`` at once when no byte is there, and when the rest of a frame
    /// already begun does not arrive within `patienceMilliseconds` (what arrived stays
    /// buffered for the next call of either kind). On a non-blocking descriptor an empty one
    /// costs a single `read`; on a blocking one, a `poll` first.
    package func nextWithoutReadingAhead(patienceMilliseconds: Int32) throws -> Event {
        var waited = false
        while true {
            if let frame = try takeBufferedFrame() { return frame }
            try makeRoom()
            let buffered = end - start
            var wanted = FrameHeader.size - buffered
            if buffered >= FrameHeader.size {
                let header = try FrameHeader.read(
                    from: buffer + start, maximumPayload: maximumPayload, streamOffset: streamOffset)
                wanted = FrameHeader.size + header.length - buffered
            }
            if !descriptorIsNonBlocking {
                guard try Descriptor.wait(descriptor, timeoutMilliseconds: buffered == 0 ? 0 : patienceMilliseconds)
                else { return .timedOut }
            }
            switch try Descriptor.read(descriptor, into: buffer + end, count: Swift.min(wanted, capacity - end)) {
            case .moved(0):
                guard start == end else { throw truncation() }
                return .endOfStream
            case .moved(let count):
                end += count
                waited = false
            case .wouldBlock:
                // Nothing at all: leave. The rest of a frame begun: wait for it, once.
                guard end > start, !waited,
                    try Descriptor.wait(descriptor, timeoutMilliseconds: patienceMilliseconds)
                else { return .timedOut }
                waited = true
            }
        }
    }

    /// The whole frame at the front of the buffer, consumed; nil if it is not all here yet.
    private func takeBufferedFrame() throws(WireError) -> Event? {
        guard let total = try bufferedFrameLength() else { return nil }
        let kind = buffer.load(fromByteOffset: start + 2, as: UInt8.self)
        let payload = UnsafeRawBufferPointer(start: buffer + start + FrameHeader.size, count: total - FrameHeader.size)
        start += total
        streamOffset += total
        return .frame(kind: kind, payload: payload)
    }

    /// Header plus payload length of the buffered frame, or nil if it is not all here yet.
    private func bufferedFrameLength() throws(WireError) -> Int? {
        guard end - start >= FrameHeader.size else { return nil }
        let header = try FrameHeader.read(
            from: buffer + start, maximumPayload: maximumPayload, streamOffset: streamOffset)
        let total = FrameHeader.size + header.length
        return end - start >= total ? total : nil
    }

    /// The error for end of file inside a frame; the partial frame is dropped, so a caller that
    /// carries on sees the end of the stream.
    private func truncation() -> WireError {
        let partial = end - start
        var announced = ""
        if partial >= FrameHeader.size,
            let header = try? FrameHeader.read(
                from: buffer + start, maximumPayload: maximumPayload, streamOffset: streamOffset)
        {
            announced = " of \(FrameHeader.size + header.length)"
        }
        let offset = streamOffset + partial
        streamOffset = offset
        start = 0
        end = 0
        return WireError(
            .unexpectedEnd, at: offset,
            "the stream ended after \(partial)\(announced) bytes of a frame: the writer stopped or died while "
                + "writing it")
    }

    /// Makes room to read more of the current frame: moves a partial frame to the front, and
    /// grows the buffer only when the frame's bytes have filled it.
    private func makeRoom() throws(WireError) {
        if start == end {
            start = 0
            end = 0
            if capacity > 16 * Self.baseCapacity { resize(to: Self.baseCapacity) }  // give back a big frame's memory
        }
        var needed = FrameHeader.size
        if end - start >= FrameHeader.size {
            needed += try FrameHeader.read(
                from: buffer + start, maximumPayload: maximumPayload, streamOffset: streamOffset
            ).length
        }
        if start > 0 && (capacity - start < needed || end == capacity) {
            buffer.copyMemory(from: buffer + start, byteCount: end - start)
            end -= start
            start = 0
        }
        if end == capacity && needed > capacity {
            // Grown in steps as the bytes arrive, not to the announced size at once: a header
            // is only a claim, and a gigabyte reserved on a claim can abort the process under
            // a memory limit.
            resize(to: Swift.min(needed, Swift.max(Self.firstGrowth, 2 * capacity)))
        }
    }

    private func resize(to newCapacity: Int) {
        if start > 0 {
            buffer.copyMemory(from: buffer + start, byteCount: end - start)
            end -= start
            start = 0
        }
        // In place where the allocator can (a large block's pages are remapped, not copied).
        buffer = Memory.reallocate(buffer, byteCount: newCapacity)
        capacity = newCapacity
    }
}

/// Writes frames to a file descriptor, whole, handling short writes and `EINTR`, and waiting
/// for room on a non-blocking descriptor. `EPIPE` (the reader exited) is thrown as a
/// ``SystemCallError``; ignore `SIGPIPE` in the process so it is not fatal.
public enum FrameWriter {
    /// Writes one frame of `kind` carrying `payload`.
    ///
    /// - Throws: ``WireError`` when the payload is larger than `maximumPayload`;
    ///   ``SystemCallError`` when `write` fails.
    public static func write(
        kind: UInt8, payload: UnsafeRawBufferPointer, to descriptor: Int32,
        maximumPayload: Int = FrameHeader.defaultMaximumPayload
    ) throws {
        guard payload.count <= maximumPayload else {
            throw WireError(
                .unencodable, at: 0,
                "a payload of \(payload.count) bytes exceeds the maximum frame of \(maximumPayload)")
        }
        var header = (UInt64(0))
        try withUnsafeMutableBytes(of: &header) { headerBytes in
            FrameHeader.write(kind: kind, payloadLength: payload.count, to: headerBytes.baseAddress!)
            if payload.count <= 4096 {
                // Small frames go out in one write(2) so a concurrent reader never sees half.
                var joined = [UInt8](unsafeUninitializedCapacity: FrameHeader.size + payload.count) { buffer, count in
                    let raw = UnsafeMutableRawPointer(buffer.baseAddress!)
                    raw.copyMemory(from: headerBytes.baseAddress!, byteCount: FrameHeader.size)
                    if payload.count > 0 {
                        (raw + FrameHeader.size).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
                    }
                    count = FrameHeader.size + payload.count
                }
                try joined.withUnsafeMutableBytes { try Descriptor.writeAll(descriptor, UnsafeRawBufferPointer($0)) }
            } else {
                try Descriptor.writeAll(descriptor, UnsafeRawBufferPointer(headerBytes))
                try Descriptor.writeAll(descriptor, payload)
            }
        }
    }
}
