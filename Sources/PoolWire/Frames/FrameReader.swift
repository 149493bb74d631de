/// Reads length-prefixed frames from a file descriptor.
///
/// It buffers reads (many small frames per `read(2)`), grows the buffer for a large frame up to
/// the maximum payload, and handles short reads, `EINTR` and non-blocking descriptors. A clean
/// end of file between frames is ``Event/endOfStream``; end of file inside a frame, a damaged
/// header or an over-long frame is a thrown ``WireError``. Not thread-safe: one reader per
/// descriptor, on one thread at a time.
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

    /// Creates a reader of `descriptor` that refuses frames above `maximumPayload` bytes.
    public init(descriptor: Int32, maximumPayload: Int = FrameHeader.defaultMaximumPayload) {
        self.descriptor = descriptor
        self.maximumPayload = maximumPayload
        capacity = Self.baseCapacity
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

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
            if let total = try bufferedFrameLength() {
                let kind = buffer.load(fromByteOffset: start + 2, as: UInt8.self)
                let payload = UnsafeRawBufferPointer(
                    start: buffer + start + FrameHeader.size, count: total - FrameHeader.size)
                start += total
                streamOffset += total
                return .frame(kind: kind, payload: payload)
            }
            try makeRoom()
            if timeoutMilliseconds >= 0 {
                guard try Descriptor.wait(descriptor, timeoutMilliseconds: timeoutMilliseconds) else {
                    return .timedOut
                }
            }
            switch try Descriptor.read(descriptor, into: buffer + end, count: capacity - end) {
            case .moved(0):
                guard start == end else {
                    throw WireError(
                        .unexpectedEnd, at: streamOffset + (end - start),
                        "the stream ended \(end - start) bytes into a frame")
                }
                return .endOfStream
            case .moved(let count):
                end += count
            case .wouldBlock:
                _ = try Descriptor.wait(descriptor, timeoutMilliseconds: timeoutMilliseconds)
            }
        }
    }

    /// Header plus payload length of the buffered frame, or nil if it is not all here yet.
    private func bufferedFrameLength() throws(WireError) -> Int? {
        guard end - start >= FrameHeader.size else { return nil }
        let header = try FrameHeader.read(
            from: buffer + start, maximumPayload: maximumPayload, streamOffset: streamOffset)
        let total = FrameHeader.size + header.length
        return end - start >= total ? total : nil
    }

    /// Moves a partial frame to the front and grows the buffer to hold the whole frame.
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
        if needed > capacity {
            resize(to: needed)
        } else if start > 0 && capacity - start < needed || end == capacity {
            (buffer).copyMemory(from: buffer + start, byteCount: end - start)
            end -= start
            start = 0
        }
    }

    private func resize(to newCapacity: Int) {
        let newBuffer = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBuffer.copyMemory(from: buffer + start, byteCount: end - start)
        buffer.deallocate()
        buffer = newBuffer
        capacity = newCapacity
        end -= start
        start = 0
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
