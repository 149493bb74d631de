internal import PoolSystem

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

    // The core's cached containers hold the core: without this, neither would ever be freed.
    deinit { core.releaseContainers() }

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

    /// Whether values of `type` may have a ``blockSize(of:)`` (false: none ever has).
    package static func encodesAsBlock<T>(_ type: T.Type) -> Bool {
        switch kind(of: type) {
        case .bulkArray, .byteCollection, .zeroCopyBytes: return true
        default: return false
        }
    }

    /// `type`'s ``WireKind``, which takes a few dynamic casts to find: remembered per type,
    /// since a pool asks for every input it sends.
    static func kind<T>(of type: T.Type) -> WireKind {
        let id = ObjectIdentifier(type)
        kindsLock.lock()
        let known = kinds[id]
        kindsLock.unlock()
        if let known { return known }
        let kind = WireKind.of(type)
        kindsLock.lock()
        kinds[id] = kind
        kindsLock.unlock()
        return kind
    }

    // A pthread mutex, not `Synchronization.Mutex`: pools first meet their types on several
    // threads at once, and a contended `Mutex` hands over inside the kernel, where
    // ThreadSanitizer cannot see it (a false race that fails the sanitizer run).
    private static let kindsLock = ConditionLock()
    nonisolated(unsafe) private static var kinds: [ObjectIdentifier: WireKind] = [:]

    /// The encoded size of `value` when its encoding is one block copy of memory it already
    /// holds (an array of ``WireTrivial`` elements such as `[UInt8]` or `[Double]`, or a
    /// contiguous byte collection such as `Data`), found without encoding it; nil for any other
    /// value, whose size only encoding tells.
    ///
    /// The profiler prices such a value from its size: its encode and decode are copies whose
    /// rate the machine's calibration measured along with the transfer.
    public static func blockSize<T: Encodable>(of value: T) -> Int? {
        switch kind(of: T.self) {
        case .bulkArray:
            return (value as! any WireBulkArray).wireByteCount
        case .byteCollection:
            let bytes = value as! any Collection<UInt8>
            return bytes.withContiguousStorageIfAvailable { ByteSink.varintSize(UInt64($0.count)) + $0.count }
        case .zeroCopyBytes:
            let bytes = value as! ZeroCopyBytes
            return ByteSink.varintSize(UInt64(bytes.count)) + bytes.count
        default:
            return nil
        }
    }
}

/// Decodes values written by ``WireEncoder``.
///
/// Hostile bytes are safe: every length is checked against what remains before anything is
/// allocated, and truncated, corrupt or over-long input ends in a ``WireError`` naming the
/// byte offset and the property path. Memory set aside ahead of the elements stays within a
/// small multiple of the input, and the work within a fixed amount per input byte: the lists
/// and dictionaries of one message may declare at most one element per input byte plus
/// ``emptyElementAllowance`` elements in all (only elements that encode to no bytes, such as
/// empty structs, need the allowance), and values may nest at most ``maximumDepth`` deep, so
/// a recursive type cannot be made to overflow the stack.
public struct WireDecoder: Sendable {
    /// The default ``emptyElementAllowance``: 65 536.
    public static let defaultEmptyElementAllowance = 1 << 16

    /// How many elements a message may declare beyond one per input byte, over all its lists and
    /// dictionaries together.
    ///
    /// Every element that encodes to at least one byte is covered by the input's length; this
    /// allowance is for elements that encode to nothing (empty structs, structs of empty
    /// structs), whose counts the bytes cannot bound. A message that declares more fails with
    /// ``WireError/Kind/lengthOutOfRange``.
    public var emptyElementAllowance: Int

    /// The default ``maximumDepth``: 512.
    public static let defaultMaximumDepth = 512

    /// How deep values may nest inside one another (each struct, enum, class or list of structs
    /// counts a level) before decoding fails with ``WireError/Kind/nestedTooDeep``.
    ///
    /// Decoding recurses once per level, so without a limit a few bytes per level of a
    /// recursive type (a tree, an indirect enum) could overflow the stack. A debug build uses
    /// about 6 KB of stack per level, an optimised one far less: 512 levels fit an 8 MiB stack
    /// either way.
    public var maximumDepth: Int

    /// Creates a decoder.
    ///
    /// - Parameters:
    ///   - emptyElementAllowance: the elements a message may declare beyond one per input byte
    ///     (see ``emptyElementAllowance``); negative values count as 0.
    ///   - maximumDepth: how deep values may nest (see ``maximumDepth``).
    public init(
        emptyElementAllowance: Int = WireDecoder.defaultEmptyElementAllowance,
        maximumDepth: Int = WireDecoder.defaultMaximumDepth
    ) {
        self.emptyElementAllowance = emptyElementAllowance
        self.maximumDepth = maximumDepth
    }

    /// Decodes one `T` that must span all of `bytes`.
    ///
    /// - Throws: ``WireError`` for malformed bytes (including bytes left over), or the error
    ///   the type's own `init(from:)` throws.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(type, from: $0) }
    }

    /// Decodes one `T` that must span all of `bytes`, which are only borrowed.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        try Self.decodeWhole(type, with: WireDecoderCore(bytes, settings: self))
    }

    /// Decodes one `T` that must span all of `bytes`, letting every ``ZeroCopyBytes`` in it
    /// point into `bytes` instead of copying: the caller promises the bytes stay valid and
    /// unchanged for as long as `lender` lives, and each such value holds `lender`.
    package func decode<T: Decodable>(
        _ type: T.Type, borrowing bytes: UnsafeRawBufferPointer, lender: any AnyObject & Sendable
    ) throws -> T {
        try Self.decodeWhole(type, with: WireDecoderCore(bytes, settings: self, lender: lender))
    }

    /// Decodes one `T` from `core`, which must consume all of its bytes; the core is not used
    /// for decoding afterwards.
    static func decodeWhole<T: Decodable>(_ type: T.Type, with core: WireDecoderCore) throws -> T {
        // The core's cached containers hold the core: without this, neither would be freed.
        defer { core.releaseContainers() }
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

/// What one decode cost, so tests can bound the work hostile input causes without timing it.
package struct WireDecodeCost: Sendable, Equatable {
    /// List elements and dictionary entries the input declared and the decoder accepted to visit.
    package var elements: Int
    /// Bytes of collection storage set aside from counts read in the input (the dictionary
    /// capacity asked for times the entry size, before the hash table rounds it up, and the
    /// blocks copied for trivial arrays and byte collections).
    package var reservedBytes: Int
}

extension WireDecoder {
    /// Decodes like ``decode(_:from:)`` and reports what it cost, whether it succeeded or not.
    package func decodeMeasuringCost<T: Decodable>(
        _ type: T.Type, from bytes: [UInt8]
    ) -> (result: Result<T, any Error>, cost: WireDecodeCost) {
        bytes.withUnsafeBytes { buffer in
            let core = WireDecoderCore(buffer, settings: self)
            let result = Result { try Self.decodeWhole(type, with: core) }
            return (
                result,
                WireDecodeCost(elements: core.elementLimit - core.elementBudget, reservedBytes: core.reservedBytes)
            )
        }
    }
}

/// Implemented by the wire codec's encoder and decoder, so a value with a cheaper form for the
/// pool's pipes (a reference to memory both processes can read: `Shared`) can tell it is being
/// sent and not, say, written as JSON.
package protocol WireCoding {}

extension WireEncoderCore: WireCoding {}
extension WireDecoderCore: WireCoding {}
