/// Keyed container: fields in declaration order, keys dropped; `encodeIfPresent` writes a
/// presence byte (the protocol's default would skip `nil` and desynchronise the stream).
struct WireKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let core: WireEncoderCore
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws { core.sink.append(byte: 0) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { core.encodeBool(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { core.encodeString(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { core.sink.append(fixed: value.bitPattern) }
    mutating func encode(_ value: Float, forKey key: Key) throws { core.sink.append(fixed: value.bitPattern) }
    mutating func encode(_ value: Int, forKey key: Key) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { core.sink.append(fixed: value) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { core.sink.append(fixed: value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try core.encodeValue(value) }

    private func present<T>(_ value: T?, _ write: (T) throws -> Void) rethrows {
        guard let value else { return core.sink.append(byte: 0) }
        core.sink.append(byte: 1)
        try write(value)
    }

    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { present(value, core.encodeBool) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { present(value, core.encodeString) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        present(value) { core.sink.append(fixed: $0.bitPattern) }
    }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws {
        present(value) { core.sink.append(fixed: $0.bitPattern) }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        present(value) { core.sink.append(fixed: $0) }
    }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws {
        present(value) { core.sink.append(fixed: $0) }
    }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws {
        present(value) { core.sink.append(fixed: $0) }
    }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws {
        present(value) { core.sink.append(fixed: $0) }
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        present(value) { core.sink.append(fixed: $0) }
    }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws {
        present(value) { core.sink.append(fixed: $0) }
    }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws {
        present(value) { core.sink.append(fixed: $0) }
    }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws {
        present(value) { core.sink.append(fixed: $0) }
    }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws {
        present(value) { core.sink.append(fixed: $0) }
    }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws {
        present(value) { core.sink.append(fixed: $0) }
    }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        try present(value) { try core.encodeValue($0) }
    }

    /// Writes the key: an enum's decoder reads it back through `allKeys` to learn the case.
    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        core.encodeString(key.stringValue)
        return core.container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        WireUnkeyedEncoder(core: core)
    }

    mutating func superEncoder() -> any Encoder { core }
    mutating func superEncoder(forKey key: Key) -> any Encoder { core }
}

/// Unkeyed container: a 4-byte element count, patched after every element, then the elements.
struct WireUnkeyedEncoder: UnkeyedEncodingContainer {
    let core: WireEncoderCore
    private let countOffset: Int
    private(set) var count = 0
    var codingPath: [any CodingKey] { [] }

    init(core: WireEncoderCore) {
        self.core = core
        countOffset = core.sink.appendPlaceholder(byteCount: 4)
    }

    @inline(__always)
    private mutating func added() {
        count += 1
        // A count past UInt32 cannot be framed anyway (frames are far smaller); clamp, and the
        // size check of the frame reports it.
        core.sink.patch(UInt32(truncatingIfNeeded: count), at: countOffset)
    }

    mutating func encodeNil() throws {
        core.sink.append(byte: 0)
        added()
    }

    mutating func encode(_ value: Bool) throws {
        core.encodeBool(value)
        added()
    }

    mutating func encode(_ value: String) throws {
        core.encodeString(value)
        added()
    }

    mutating func encode(_ value: Double) throws {
        core.sink.append(fixed: value.bitPattern)
        added()
    }

    mutating func encode(_ value: Float) throws {
        core.sink.append(fixed: value.bitPattern)
        added()
    }

    mutating func encode(_ value: Int) throws {
        core.sink.append(fixed: value)
        added()
    }

    mutating func encode(_ value: UInt8) throws {
        core.sink.append(fixed: value)
        added()
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try core.encodeValue(value)
        added()
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        added()
        return core.container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        added()
        return WireUnkeyedEncoder(core: core)
    }

    mutating func superEncoder() -> any Encoder {
        added()
        return core
    }
}
