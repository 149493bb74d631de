/// Keyed container: reads fields in the order they were written. A failure is reported with
/// the key prepended to the error's coding path, which costs nothing when nothing fails.
struct WireKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let core: WireDecoderCore
    var codingPath: [any CodingKey] { [] }

    /// The one key an enum wrote before its payload (read ahead, then consumed by
    /// `nestedContainer(keyedBy:forKey:)`). Structs never ask for it.
    var allKeys: [Key] {
        if let pending = core.pendingKey { return Key(stringValue: pending).map { [$0] } ?? [] }
        let at = core.source.offset
        do {
            let name = try core.decodeString()
            core.pendingKey = name
            guard let key = Key(stringValue: name) else {
                core.deferredError = WireError(.unknownKey, at: at, "'\(name)' is not a case of \(Key.self)")
                return []
            }
            return [key]
        } catch {
            core.deferredError = error
            return []
        }
    }

    /// Positional data holds every field, so every key is "present"; optional fields use
    /// `decodeIfPresent`, which reads the presence byte.
    func contains(_ key: Key) -> Bool { true }

    /// Rethrows a coder error with `key` in front of its path. (Plain do/catch in each method:
    /// a shared closure-taking helper cost a runtime generic-metadata lookup per field.)
    private func located(_ error: WireError, _ key: Key) -> WireError { error.prefixed(by: key.stringValue) }

    func decodeNil(forKey key: Key) throws -> Bool {
        do { return !(try core.decodePresence()) } catch { throw located(error, key) }
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        do { return try core.decodeBool() } catch { throw located(error, key) }
    }

    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        do { return try core.decodeString() } catch { throw located(error, key) }
    }

    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        do { return Double(bitPattern: try core.decodeFixed(UInt64.self)) } catch { throw located(error, key) }
    }

    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        do { return Float(bitPattern: try core.decodeFixed(UInt32.self)) } catch { throw located(error, key) }
    }

    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        do { return try core.decodeFixed(type) } catch { throw located(error, key) }
    }

    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        do { return try core.decodeFixed(type) } catch { throw located(error, key) }
    }

    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        do { return try core.decodeFixed(type) } catch { throw located(error, key) }
    }

    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        do { return try core.decodeFixed(type) } catch { throw located(error, key) }
    }

    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        do { return try core.decodeFixed(type) } catch { throw located(error, key) }
    }

    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        do { return try core.decodeFixed(type) } catch { throw located(error, key) }
    }

    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        do { return try core.decodeFixed(type) } catch { throw located(error, key) }
    }

    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        do { return try core.decodeFixed(type) } catch { throw located(error, key) }
    }

    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        do { return try core.decodeFixed(type) } catch { throw located(error, key) }
    }

    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        do { return try core.decodeFixed(type) } catch { throw located(error, key) }
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        do { return try core.decodeValue(type) } catch let error as WireError { throw located(error, key) }
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        do { return try core.decodePresence() ? try core.decodeBool() : nil } catch { throw located(error, key) }
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        do { return try core.decodePresence() ? try core.decodeString() : nil } catch { throw located(error, key) }
    }

    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        do { return try core.decodePresence() ? Double(bitPattern: try core.decodeFixed(UInt64.self)) : nil } catch {
            throw located(error, key)
        }
    }

    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        do { return try core.decodePresence() ? Float(bitPattern: try core.decodeFixed(UInt32.self)) : nil } catch {
            throw located(error, key)
        }
    }

    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        do { return try core.decodePresence() ? try core.decodeFixed(type) : nil } catch { throw located(error, key) }
    }

    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? {
        do { return try core.decodePresence() ? try core.decodeFixed(type) : nil } catch { throw located(error, key) }
    }

    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? {
        do { return try core.decodePresence() ? try core.decodeFixed(type) : nil } catch { throw located(error, key) }
    }

    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? {
        do { return try core.decodePresence() ? try core.decodeFixed(type) : nil } catch { throw located(error, key) }
    }

    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        do { return try core.decodePresence() ? try core.decodeFixed(type) : nil } catch { throw located(error, key) }
    }

    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? {
        do { return try core.decodePresence() ? try core.decodeFixed(type) : nil } catch { throw located(error, key) }
    }

    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? {
        do { return try core.decodePresence() ? try core.decodeFixed(type) : nil } catch { throw located(error, key) }
    }

    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? {
        do { return try core.decodePresence() ? try core.decodeFixed(type) : nil } catch { throw located(error, key) }
    }

    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? {
        do { return try core.decodePresence() ? try core.decodeFixed(type) : nil } catch { throw located(error, key) }
    }

    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? {
        do { return try core.decodePresence() ? try core.decodeFixed(type) : nil } catch { throw located(error, key) }
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        do {
            return try core.decodePresence() ? try core.decodeValue(type) : nil
        } catch let error as WireError {
            throw located(error, key)
        }
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        do { try core.expectKey(key) } catch { throw located(error, key) }
        return try core.container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        do { return try WireUnkeyedDecoder(core: core) } catch { throw located(error, key) }
    }

    func superDecoder() throws -> any Decoder { core }
    func superDecoder(forKey key: Key) throws -> any Decoder { core }
}

/// Unkeyed container: the 4-byte count, then the elements.
struct WireUnkeyedDecoder: UnkeyedDecodingContainer {
    let core: WireDecoderCore
    let count: Int?
    private let total: Int
    private(set) var currentIndex = 0
    var codingPath: [any CodingKey] { [] }
    var isAtEnd: Bool { currentIndex >= total }

    init(core: WireDecoderCore) throws(WireError) {
        self.core = core
        let at = core.source.offset
        // Charged against the message's element budget, not the bytes left: the elements may be
        // empty structs that take no bytes.
        let declared = try core.claimElements(UInt64(try core.decodeFixed(UInt32.self)), at: at, for: "a list")
        total = declared
        count = declared
    }

    private mutating func next<T>(_ read: (WireDecoderCore) throws -> T) throws -> T {
        guard currentIndex < total else {
            throw WireError(.truncated, at: core.source.offset, "read past the \(total) elements of a list")
        }
        do {
            let value = try read(core)
            currentIndex += 1
            return value
        } catch let error as WireError {
            throw error.prefixed(by: String(currentIndex))
        }
    }

    mutating func decodeNil() throws -> Bool {
        // Only advance on nil: a `false` answer leaves the element for the decode that follows.
        guard currentIndex < total else { return false }
        let at = core.source.offset
        if try core.decodePresence() {
            core.source.offset = at
            return false
        }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next { try $0.decodeBool() } }
    mutating func decode(_ type: String.Type) throws -> String { try next { try $0.decodeString() } }
    mutating func decode(_ type: Double.Type) throws -> Double {
        try next { Double(bitPattern: try $0.decodeFixed(UInt64.self)) }
    }
    mutating func decode(_ type: Float.Type) throws -> Float {
        try next { Float(bitPattern: try $0.decodeFixed(UInt32.self)) }
    }
    mutating func decode(_ type: Int.Type) throws -> Int { try next { try $0.decodeFixed(type) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next { try $0.decodeFixed(type) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next { try $0.decodeFixed(type) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next { try $0.decodeFixed(type) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next { try $0.decodeFixed(type) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next { try $0.decodeFixed(type) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next { try $0.decodeFixed(type) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next { try $0.decodeFixed(type) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next { try $0.decodeFixed(type) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next { try $0.decodeFixed(type) } }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // Written out rather than through `next`: a generic closure here cost a metadata lookup
        // per element.
        guard currentIndex < total else {
            throw WireError(.truncated, at: core.source.offset, "read past the \(total) elements of a list")
        }
        do {
            let value = try core.decodeValue(type)
            currentIndex += 1
            return value
        } catch let error as WireError {
            throw error.prefixed(by: String(currentIndex))
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try next { try $0.container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next { try WireUnkeyedDecoder(core: $0) }
    }

    mutating func superDecoder() throws -> any Decoder { try next { $0 } }
}
