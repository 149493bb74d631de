/// The one `Encoder` behind every container: containers are thin structs that write straight
/// into its ``ByteSink``.
///
/// The format is positional: keys are not written (both ends are the same build), except the
/// key of a keyed nested container, which is how an enum says which case it holds. Optionals
/// carry a presence byte. Unkeyed containers start with a 4-byte count patched as elements are
/// added, because `Encodable` has no end-of-container hook.
final class WireEncoderCore: Encoder {
    // Single-owner state: the dynamic exclusivity checks Swift would add to every access of a
    // class's stored property cost more than the writes themselves.
    @exclusivity(unchecked) var sink: ByteSink
    @exclusivity(unchecked) var kinds = WireKindCache()
    /// Set while an `Optional` encodes itself: its next single-value write gets the presence byte.
    @exclusivity(unchecked) var optionalPending = false
    @exclusivity(unchecked) private var containers = ContainerCache()

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(capacity: Int = 256) {
        sink = ByteSink(capacity: capacity)
    }

    deinit { sink.free() }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        // Building a container for an unspecialised `Key` costs several runtime metadata
        // lookups; the container holds nothing but this encoder, so one per key type is reused.
        // The bit casts assume the container is one object reference: see ContainerCache.
        if let box = containers.box(for: type) { return unsafeBitCast(box, to: KeyedEncodingContainer<Key>.self) }
        let container = KeyedEncodingContainer(WireKeyedEncoder<Key>(core: self))
        precondition(
            MemoryLayout<KeyedEncodingContainer<Key>>.size == MemoryLayout<AnyObject>.size,
            "BUG: container layout changed")
        containers.store(unsafeBitCast(container, to: AnyObject.self), for: type)
        return container
    }

    /// Drops the cached keyed containers, which hold this core: the owner calls it once it is
    /// done with the core, or the two would keep each other (and the buffer) alive for ever.
    func releaseContainers() {
        containers = ContainerCache()
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        WireUnkeyedEncoder(core: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        WireSingleValueEncoder(core: self)
    }

    // MARK: Values

    @inline(__always)
    func encodeString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            sink.append(varint: UInt64(utf8.count))
            sink.append(bytes: UnsafeRawBufferPointer(utf8))
        }
    }

    @inline(__always)
    func encodeBool(_ value: Bool) {
        sink.append(byte: value ? 1 : 0)
    }

    /// Encodes any value, taking the fast path its kind allows.
    func encodeValue<T: Encodable>(_ value: T) throws {
        switch kinds.kind(of: T.self) {
        case .plain, .array:
            // An array of structs goes through the standard library's unkeyed container: a
            // loop of our own (see WireArrays.swift) measured 4 % slower on 10 000 of them.
            try value.encode(to: self)
        case .optional:
            optionalPending = true
            try value.encode(to: self)
            if optionalPending {
                // A custom Optional-like encode wrote nothing through a single-value container.
                optionalPending = false
                throw EncodingError.invalidValue(
                    value, .init(codingPath: [], debugDescription: "optional wrote no value"))
            }
        case .string:
            encodeString(unsafeBitCast(value, to: String.self))
        case .int:
            sink.append(fixed: unsafeBitCast(value, to: Int.self))
        case .double:
            sink.append(fixed: unsafeBitCast(value, to: Double.self).bitPattern)
        case .bool:
            encodeBool(unsafeBitCast(value, to: Bool.self))
        case .bulkArray:
            (value as! any WireBulkArray).wireWrite(into: &sink)
        case .byteCollection:
            (value as! any Collection<UInt8>).wireWrite(into: &sink)
        case .zeroCopyBytes:
            (value as! ZeroCopyBytes).wireWrite(into: &sink)
        case .dictionary:
            guard let dictionary = value as? any WireDictionaryEncodable else {
                try value.encode(to: self)
                return
            }
            try dictionary.wireEncode(into: self)
        }
    }

    /// Consumes the presence marker an enclosing `Optional` asked for: its value is present.
    @inline(__always)
    func markPresentIfOptional() {
        if optionalPending {
            optionalPending = false
            sink.append(byte: 1)
        }
    }
}

struct WireSingleValueEncoder: SingleValueEncodingContainer {
    let core: WireEncoderCore
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws {
        core.optionalPending = false
        core.sink.append(byte: 0)
    }

    mutating func encode(_ value: Bool) throws { core.encodeBool(value) }
    mutating func encode(_ value: String) throws { core.encodeString(value) }
    mutating func encode(_ value: Double) throws { core.sink.append(fixed: value.bitPattern) }
    mutating func encode(_ value: Float) throws { core.sink.append(fixed: value.bitPattern) }
    mutating func encode(_ value: Int) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: Int8) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: Int16) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: Int32) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: Int64) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: UInt) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: UInt8) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: UInt16) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: UInt32) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: UInt64) throws { core.sink.append(fixed: value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        core.markPresentIfOptional()
        try core.encodeValue(value)
    }
}

extension Collection<UInt8> {
    /// Writes a varint count and the bytes, in one copy when the storage is contiguous.
    func wireWrite(into sink: inout ByteSink) {
        sink.append(varint: UInt64(count))
        let copied: Void? = withContiguousStorageIfAvailable { sink.append(bytes: UnsafeRawBufferPointer($0)) }
        if copied == nil {
            sink.reserve(count)
            for byte in self { sink.append(byte: byte) }
        }
    }
}
