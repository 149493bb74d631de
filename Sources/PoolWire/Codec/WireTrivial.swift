/// A plain-old-data type whose arrays cross the wire as one block copy instead of element by
/// element.
///
/// The standard integer and floating-point types conform. Conform your own structs when they
/// hold only trivial stored properties (no references, no `String`, no arrays): both ends of a
/// pool run the same build, so the memory layout is the format. The gain is large: an array of
/// 100 000 such values encodes in one `memcpy` instead of 100 000 container calls.
public protocol WireTrivial: BitwiseCopyable, Codable {}

extension Int: WireTrivial {}
extension Int8: WireTrivial {}
extension Int16: WireTrivial {}
extension Int32: WireTrivial {}
extension Int64: WireTrivial {}
extension UInt: WireTrivial {}
extension UInt8: WireTrivial {}
extension UInt16: WireTrivial {}
extension UInt32: WireTrivial {}
extension UInt64: WireTrivial {}
extension Float: WireTrivial {}
extension Double: WireTrivial {}

/// Arrays of trivial elements: a varint count then the elements' memory.
protocol WireBulkArray {
    /// What ``wireWrite(into:)`` writes, in bytes: the count's varint and the elements' memory.
    var wireByteCount: Int { get }
    func wireWrite(into sink: inout ByteSink)
    static func wireRead(from source: inout ByteSource) throws(WireError) -> Self
}

extension Array: WireBulkArray where Element: WireTrivial {
    var wireByteCount: Int { ByteSink.varintSize(UInt64(count)) + count * MemoryLayout<Element>.stride }

    func wireWrite(into sink: inout ByteSink) {
        sink.append(varint: UInt64(count))
        withUnsafeBytes { sink.append(bytes: $0) }
    }

    static func wireRead(from source: inout ByteSource) throws(WireError) -> [Element] {
        let stride = MemoryLayout<Element>.stride
        let count = try source.readLength(unitSize: stride, for: "[\(Element.self)]")
        let bytes = try source.take(count * stride, for: "[\(Element.self)]")
        return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 {
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(
                    from: bytes.baseAddress!, byteCount: bytes.count)
            }
            initialized = count
        }
    }
}

/// Marks `Optional` so the coder can see one without a value in hand.
protocol WireOptionalMarker {}
extension Optional: WireOptionalMarker {}

/// Dictionaries as a count and alternating keys and values: the standard library would write
/// `String` and `Int` keys as keyed-container keys, which a positional format drops.
protocol WireDictionaryEncodable {
    func wireEncode(into encoder: WireEncoderCore) throws
}

protocol WireDictionaryDecodable {
    static func wireDecode(from decoder: WireDecoderCore) throws -> Self
}

extension Dictionary: WireDictionaryEncodable where Key: Encodable, Value: Encodable {
    func wireEncode(into encoder: WireEncoderCore) throws {
        encoder.sink.append(varint: UInt64(count))
        for (key, value) in self {
            try encoder.encodeValue(key)
            try encoder.encodeValue(value)
        }
    }
}

extension Dictionary: WireDictionaryDecodable where Key: Decodable, Value: Decodable {
    static func wireDecode(from decoder: WireDecoderCore) throws -> [Key: Value] {
        let at = decoder.source.offset
        let declared = try decoder.source.readVarint(for: "a dictionary")
        let count = try decoder.claimElements(declared, at: at, for: "a dictionary")
        var result: [Key: Value] = [:]
        // Entries may encode to fewer bytes than they take in memory (a 9-byte `String: Int`
        // entry is 24 bytes here), so reserve within what the message may set aside (twice
        // the input): a hostile count then costs a small multiple of the input, and a genuine
        // dictionary at worst grows once more at its end. What is charged is what was asked
        // for (the table rounds up); reading back `capacity` or branching here cost 12 % on a
        // 10 000-entry dictionary.
        let entryStride = MemoryLayout<Key>.stride + MemoryLayout<Value>.stride
        result.reserveCapacity(decoder.reservation(for: count, stride: entryStride))
        for _ in 0..<count {
            let key = try decoder.decodeValue(Key.self)
            result[key] = try decoder.decodeValue(Value.self)
        }
        return result
    }
}

/// How a type crosses the wire, decided once per type and cached by each coder.
enum WireKind {
    case plain
    case optional
    case string
    case bool
    case int
    case double
    case bulkArray
    case byteCollection
    /// ``ZeroCopyBytes``: a block like a byte collection, borrowed in place where it can be.
    case zeroCopyBytes
    case dictionary
    /// An `Array` of non-trivial elements (decoded by ``WireArrayDecodable``).
    case array

    static func of<T>(_ type: T.Type) -> WireKind {
        if type == String.self { return .string }
        if type == Int.self { return .int }
        if type == Double.self { return .double }
        if type == Bool.self { return .bool }
        if type is any WireOptionalMarker.Type { return .optional }
        if type is any WireBulkArray.Type { return .bulkArray }
        if type == ZeroCopyBytes.self { return .zeroCopyBytes }
        if type is any RangeReplaceableCollection<UInt8>.Type { return .byteCollection }
        if type is any WireDictionaryEncodable.Type || type is any WireDictionaryDecodable.Type { return .dictionary }
        if type is any WireArrayDecodable.Type { return .array }
        return .plain
    }
}

/// A small per-coder memo of ``WireKind``s: the last type seen, then a dictionary. Arrays of
/// structs hit the one-entry memo every time, so classification costs a pointer compare.
struct WireKindCache {
    private var lastType: ObjectIdentifier?
    private var lastKind = WireKind.plain
    private var kinds: [ObjectIdentifier: WireKind] = [:]

    @inline(__always)
    mutating func kind<T>(of type: T.Type) -> WireKind {
        let id = ObjectIdentifier(type)
        if id == lastType { return lastKind }
        // The previous entry moves to the dictionary only when a second type shows up, so a
        // one-shot coder of a single type allocates nothing here.
        if let previous = lastType { kinds[previous] = lastKind }
        let kind = kinds[id] ?? WireKind.of(type)
        lastType = id
        lastKind = kind
        return kind
    }
}

/// Keyed-container boxes already built by one coder, by key type (see
/// `WireEncoderCore.container(keyedBy:)`).
///
/// What is kept is the container itself, reinterpreted with `unsafeBitCast` as the one object
/// reference it holds. That relies on a layout the standard library does not promise:
/// `KeyedEncodingContainer<K>` and `KeyedDecodingContainer<K>` are structs whose only stored
/// property is a strong reference to a class instance (the private box wrapping our
/// `WireKeyed…` container), so one container is exactly one retained object pointer, and
/// copying the bits back into a container of the *same* `K` rebuilds an equal container. Only
/// the same key type is ever read back (the cache is keyed by it), and the wrapped
/// `WireKeyed…` structs hold nothing but their core, so a reused container behaves as a new
/// one. The coders check the size at run time; `ContainerCacheTests` checks the rest (one
/// strong reference to a box class, identity kept, round trips through cached containers), so
/// a toolchain that changes the layout fails the tests rather than corrupting values.
///
/// Each box holds its coder's core strongly and the core holds this cache: the core's owner
/// breaks that cycle with `releaseContainers()` when it is done with the core.
struct ContainerCache {
    private var lastKey: ObjectIdentifier?
    private var lastBox: AnyObject?
    private var boxes: [ObjectIdentifier: AnyObject] = [:]

    @inline(__always)
    mutating func box(for key: Any.Type) -> AnyObject? {
        let id = ObjectIdentifier(key)
        if id == lastKey { return lastBox }
        guard let box = boxes[id] else { return nil }
        lastKey = id
        lastBox = box
        return box
    }

    mutating func store(_ box: AnyObject, for key: Any.Type) {
        let id = ObjectIdentifier(key)
        boxes[id] = box
        lastKey = id
        lastBox = box
    }
}
