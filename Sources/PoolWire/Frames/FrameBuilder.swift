/// Builds one frame in a reusable buffer: header, then fields and encoded values, written out
/// with a single `write(2)` and no extra copy.
///
/// The process pool builds its requests and replies with it; the same builder serves any byte
/// stream (a pipe today, a socket tomorrow).
package final class FrameBuilder {
    let core = WireEncoderCore(capacity: 4096)
    private var kind: UInt8 = 0

    package init() {}

    // The core's cached containers hold the core: without this, neither would ever be freed.
    deinit { core.releaseContainers() }

    /// Starts a new frame of `kind`, discarding the previous one.
    package func begin(kind: UInt8) {
        core.sink.reset(keepingAtMost: 4 << 20)
        core.optionalPending = false
        self.kind = kind
        _ = core.sink.appendPlaceholder(byteCount: FrameHeader.size)
    }

    /// Gives back a large buffer (more than 4 MiB) now rather than at the next frame.
    package func trim() {
        core.sink.reset(keepingAtMost: 4 << 20)
    }

    /// Payload bytes so far.
    package var payloadCount: Int { core.sink.count - FrameHeader.size }

    package func append<T: FixedWidthInteger>(fixed value: T) { core.sink.append(fixed: value) }
    // The protocol's own field widths, concrete: a `package` generic is called unspecialised
    // from the other modules, a generic-metadata lookup per field on every item of the
    // worker's hot path (about a tenth of a small round trip's worker time).
    package func append(fixed value: UInt8) { core.sink.append(fixed: value) }
    package func append(fixed value: UInt32) { core.sink.append(fixed: value) }
    package func append(fixed value: UInt64) { core.sink.append(fixed: value) }
    package func append(varint value: UInt64) { core.sink.append(varint: value) }
    package func append(string: String) { core.encodeString(string) }
    package func append(bytes: UnsafeRawBufferPointer) { core.sink.append(bytes: bytes) }

    /// Encodes `value` with the wire codec.
    package func encode<T: Encodable>(_ value: T) throws { try core.encodeValue(value) }

    /// Encodes `value` into `region` instead of the frame if it fits there, and returns the
    /// bytes it took; if it does not fit, appends it to the frame as ``encode(_:)`` does and
    /// returns nil. For values that belong elsewhere (shared memory): no copy through the frame.
    package func encode<T: Encodable>(_ value: T, preferring region: UnsafeMutableRawBufferPointer) throws -> Int? {
        let frame = core.sink
        core.sink = ByteSink(borrowing: region)
        do {
            try core.encodeValue(value)
        } catch {
            core.sink.free()
            core.sink = frame
            throw error
        }
        let encoded = core.sink
        core.sink = frame
        guard !encoded.isBorrowing else { return encoded.count }
        // It outgrew the region and moved to memory of its own: into the frame with it.
        core.sink.append(bytes: encoded.bytes)
        encoded.free()
        return nil
    }

    /// Reserves a 4-byte length to be filled by ``endLengthPrefix(_:)``; returns its offset.
    package func beginLengthPrefix() -> Int { core.sink.appendPlaceholder(byteCount: 4) }

    /// Writes the number of bytes appended since ``beginLengthPrefix()`` returned `offset`.
    package func endLengthPrefix(_ offset: Int) {
        core.sink.patch(UInt32(truncatingIfNeeded: core.sink.count - offset - 4), at: offset)
    }

    /// Overwrites a fixed-width field at payload offset `offset` (written earlier as a placeholder).
    package func patchPayload<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        core.sink.patch(value, at: FrameHeader.size + offset)
    }
    package func patchPayload(_ value: UInt8, at offset: Int) { core.sink.patch(value, at: FrameHeader.size + offset) }
    package func patchPayload(_ value: UInt32, at offset: Int) { core.sink.patch(value, at: FrameHeader.size + offset) }
    package func patchPayload(_ value: UInt64, at offset: Int) { core.sink.patch(value, at: FrameHeader.size + offset) }

    /// The payload bytes from payload offset `offset` to the end, valid until the builder is
    /// used again.
    package func payload(from offset: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: core.sink.bytes[(FrameHeader.size + offset)...])
    }

    /// Drops everything appended after `count` payload bytes (an item whose encoding failed).
    package func truncate(toPayloadCount count: Int) {
        core.sink.truncate(to: FrameHeader.size + count)
    }

    /// The finished frame (header included), valid until the builder is used again.
    package func finish() -> UnsafeRawBufferPointer {
        FrameHeader.write(kind: kind, payloadLength: payloadCount, to: core.sink.base)
        return core.sink.bytes
    }

    /// The finished frame as an owned array.
    package func finishCopy() -> [UInt8] {
        _ = finish()
        return core.sink.makeArray()
    }
}

/// A bounds-checked reader of a frame's payload: fixed fields, varints, length-prefixed slices
/// and wire-encoded values.
package struct FrameCursor {
    var source: ByteSource

    package init(_ payload: UnsafeRawBufferPointer) {
        source = ByteSource(payload)
    }

    package var remaining: Int { source.remaining }
    package var offset: Int { source.offset }

    package mutating func read<T: FixedWidthInteger>(_ type: T.Type) throws(WireError) -> T {
        try source.readFixed(type)
    }
    // Concrete, like `FrameBuilder.append(fixed:)`'s.
    package mutating func read(_ type: UInt8.Type) throws(WireError) -> UInt8 { try source.readFixed(type) }
    package mutating func read(_ type: UInt32.Type) throws(WireError) -> UInt32 { try source.readFixed(type) }
    package mutating func read(_ type: UInt64.Type) throws(WireError) -> UInt64 { try source.readFixed(type) }
    package mutating func readVarint() throws(WireError) -> UInt64 { try source.readVarint(for: "a field") }

    package mutating func readString() throws(WireError) -> String {
        let start = source.offset
        let length = try source.readLength(unitSize: 1, for: "a string")
        return try WireDecoderCore.makeString(try source.take(length, for: "a string"), at: start)
    }

    /// The bytes of a field written between `beginLengthPrefix` and `endLengthPrefix`.
    package mutating func readLengthPrefixed() throws(WireError) -> UnsafeRawBufferPointer {
        let length = Int(try source.readFixed(UInt32.self))
        return try source.take(length, for: "a length-prefixed field")
    }
}
