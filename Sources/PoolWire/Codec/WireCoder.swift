/// Encodes `Encodable` values into PoolWire's compact binary form: the process pool's
/// equivalent of Python's pickle.
///
/// The format is positional (field order, no keys), so both ends must be the same build; the
/// process pool's handshake makes sure they are. Integers and floating-point values are fixed
/// width and little-endian, string and array lengths are varints, optionals carry a presence
/// byte, and arrays of ``WireTrivial`` elements, `[UInt8]`, `Data` and `String` are copied in
/// one block. An encoder keeps its buffer between calls: reuse one per thread.
///
/// ```swift
/// let encoder = WireEncoder()
/// let bytes = try encoder.encode(Order(id: 7, lines: [...]))
/// let order = try WireDecoder().decode(Order.self, from: bytes)
/// ```
public final class WireEncoder {
    let core: WireEncoderCore

    /// Creates an encoder whose buffer starts at `initialCapacity` bytes and grows as needed.
    public init(initialCapacity: Int = 256) {
        core = WireEncoderCore(capacity: initialCapacity)
    }

    /// The encoded bytes of `value`.
    ///
    /// - Throws: `EncodingError` when the value's own `encode(to:)` throws.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        core.sink.reset()
        core.optionalPending = false
        try core.encodeValue(value)
        return core.sink.makeArray()
    }

    /// Encodes `value` and hands its bytes to `body` without copying them out of the encoder's
    /// buffer; the bytes are valid only inside `body`.
    public func withEncoded<T: Encodable, R>(
        _ value: T, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        core.sink.reset()
        core.optionalPending = false
        try core.encodeValue(value)
        return try body(core.sink.bytes)
    }
}

/// Decodes values written by ``WireEncoder``.
///
/// Hostile bytes are safe: every length is checked against what remains before anything is
/// allocated, and truncated, corrupt or over-long input ends in a ``WireError`` naming the
/// byte offset and the property path.
public struct WireDecoder: Sendable {
    /// Creates a decoder.
    public init() {}

    /// Decodes one `T` that must span all of `bytes`.
    ///
    /// - Throws: ``WireError`` for malformed bytes (including bytes left over), or the error
    ///   the type's own `init(from:)` throws.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(type, from: $0) }
    }

    /// Decodes one `T` that must span all of `bytes`, which are only borrowed.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        let core = WireDecoderCore(bytes)
        let value = try Self.decodeValue(type, with: core)
        guard core.source.remaining == 0 else {
            throw WireError(
                .trailingBytes, at: core.source.offset,
                "\(T.self) ended with \(core.source.remaining) bytes left over")
        }
        return value
    }

    /// Decodes one value from `core`'s current position, preferring the precise error an
    /// `allKeys` lookup recorded over the vaguer one the caller threw after it.
    static func decodeValue<T: Decodable>(_ type: T.Type, with core: WireDecoderCore) throws -> T {
        do {
            return try core.decodeValue(type)
        } catch let error as DecodingError {
            if let deferred = core.deferredError { throw deferred }
            throw error
        }
    }
}
