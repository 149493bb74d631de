/// The one `Decoder` behind every decoding container; it mirrors ``WireEncoderCore`` and
/// checks every length against the bytes that remain.
final class WireDecoderCore: Decoder {
    // Single-owner state; see WireEncoderCore on exclusivity.
    @exclusivity(unchecked) var source: ByteSource
    @exclusivity(unchecked) var kinds = WireKindCache()
    @exclusivity(unchecked) private var containers = ContainerCache()
    /// Set when an `Optional`'s presence byte has been read: its `decodeNil()` answers from it.
    @exclusivity(unchecked) var optionalState: OptionalState = .none
    /// The key an enum's `allKeys` read ahead; its `nestedContainer(forKey:)` consumes it.
    var pendingKey: String?
    /// A problem found where the protocol cannot throw (`allKeys`); reported instead of the
    /// generic error the caller then throws.
    var deferredError: WireError?
    /// List elements and dictionary entries the rest of the message may still declare. It starts
    /// at one per input byte plus the allowance for elements that take no bytes, and every count
    /// read is charged against it before a single element is decoded: a count cannot be checked
    /// against the bytes left when its elements may be empty structs, so this is what keeps the
    /// work of a hostile message linear in its length (a `[[Empty]]` whose inner lists each
    /// claimed the whole remainder once cost time quadratic in the input).
    @exclusivity(unchecked) private(set) var elementBudget: Int
    /// The budget this decode started with (for ``WireDecodeCost``).
    let elementLimit: Int
    /// Bytes of collection storage set aside from counts read in the input (for ``WireDecodeCost``).
    @exclusivity(unchecked) var reservedBytes = 0
    /// Bytes of storage the rest of the message may still set aside ahead of its elements:
    /// twice the input, drawn down by every list and dictionary. Per collection, twice the
    /// input *left* would not do: lists nested in a recursive type each reserve against the
    /// same remaining bytes (a `children: [Tree]` chain of 4-byte counts reserved 256 times its
    /// input that way).
    @exclusivity(unchecked) private var reserveAllowance: Int

    enum OptionalState { case none, absent, present }

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// Values being decoded inside one another now (structs, enums, lists, classes).
    @exclusivity(unchecked) private var depth = 0
    /// The deepest nesting accepted before the stack could run out.
    let maximumDepth: Int

    /// What keeps the input's bytes valid, when they may be borrowed: ``ZeroCopyBytes`` then
    /// point into the input and hold it, instead of copying.
    let lender: (any AnyObject & Sendable)?

    init(
        _ bytes: UnsafeRawBufferPointer, settings: WireDecoder = WireDecoder(),
        lender: (any AnyObject & Sendable)? = nil
    ) {
        source = ByteSource(bytes)
        self.lender = lender
        let (limit, overflow) = bytes.count.addingReportingOverflow(Swift.max(settings.emptyElementAllowance, 0))
        elementLimit = overflow ? Int.max : limit
        elementBudget = elementLimit
        reserveAllowance = bytes.count.multipliedReportingOverflow(by: 2).overflow ? Int.max : 2 * bytes.count
        maximumDepth = settings.maximumDepth
    }

    /// Checks a count of list elements or dictionary entries read at `offset` against what the
    /// message may still declare, and charges it.
    @inline(__always)
    func claimElements(_ declared: UInt64, at offset: Int, for what: @autoclosure () -> String) throws(WireError)
        -> Int
    {
        guard declared <= UInt64(elementBudget) else { throw tooManyElements(declared, at: offset, for: what()) }
        elementBudget &-= Int(declared)
        return Int(declared)
    }

    /// How many elements of `stride` bytes a collection that declared `count` may reserve
    /// storage for ahead of decoding them: at most twice the input left, and no more than the
    /// message may still set aside (both charged here). A genuine collection past that grows
    /// as it decodes.
    @inline(__always)
    func reservation(for count: Int, stride: Int) -> Int {
        let stride = Swift.max(stride, 1)
        let reserve = Swift.min(count, 2 * source.remaining / stride, reserveAllowance / stride)
        reserveAllowance &-= reserve &* stride
        reservedBytes &+= reserve &* stride
        return reserve
    }

    /// The error for a count beyond the element budget, built out of line to keep callers lean.
    @inline(never)
    func tooManyElements(_ declared: UInt64, at offset: Int, for what: String) -> WireError {
        WireError(
            .lengthOutOfRange, at: offset,
            "\(what) claims \(declared) elements, but only \(source.remaining) bytes remain and the message may "
                + "declare \(elementBudget) more elements in all (one per input byte plus "
                + "\(elementLimit - source.end) that take no bytes); if the data is genuine, raise "
                + "WireDecoder's emptyElementAllowance")
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        // Reused per key type, as in WireEncoderCore; the bit casts assume the container is one
        // object reference: see ContainerCache.
        if let box = containers.box(for: type) { return unsafeBitCast(box, to: KeyedDecodingContainer<Key>.self) }
        let container = KeyedDecodingContainer(WireKeyedDecoder<Key>(core: self))
        precondition(
            MemoryLayout<KeyedDecodingContainer<Key>>.size == MemoryLayout<AnyObject>.size,
            "BUG: container layout changed")
        containers.store(unsafeBitCast(container, to: AnyObject.self), for: type)
        return container
    }

    /// Drops the cached keyed containers, which hold this core: called once a decode is over,
    /// or the two would keep each other alive for ever.
    func releaseContainers() {
        containers = ContainerCache()
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try WireUnkeyedDecoder(core: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        WireSingleValueDecoder(core: self)
    }

    // MARK: Values

    @inline(__always)
    func decodeString() throws(WireError) -> String {
        let start = source.offset
        let length = try source.readLength(unitSize: 1, for: "a String")
        let bytes = try source.take(length, for: "a String")
        return try Self.makeString(bytes, at: start)
    }

    /// A String from UTF-8 bytes, validated. ASCII (the common case) skips the generic
    /// validator, which costs a runtime metadata lookup per call.
    @inline(__always)
    static func makeString(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(WireError) -> String {
        let units = bytes.bindMemory(to: UInt8.self)
        var high: UInt8 = 0
        for byte in units { high |= byte }
        if high < 0x80 { return String(decoding: units, as: UTF8.self) }
        guard let string = String(validating: units, as: UTF8.self) else {
            throw WireError(.invalidUTF8, at: offset, "a String of \(bytes.count) bytes is not valid UTF-8")
        }
        return string
    }

    @inline(__always)
    func decodeBool() throws(WireError) -> Bool {
        let at = source.offset
        switch try source.readByte(for: "a Bool") {
        case 0: return false
        case 1: return true
        case let other: throw WireError(.invalidValue, at: at, "a Bool must be 0 or 1, found \(other)")
        }
    }

    @inline(__always)
    func decodeFixed<T: FixedWidthInteger>(_ type: T.Type) throws(WireError) -> T {
        try source.readFixed(type)
    }

    /// Reads a presence byte (0 absent, 1 present).
    @inline(__always)
    func decodePresence() throws(WireError) -> Bool {
        let at = source.offset
        switch try source.readByte(for: "an optional's presence marker") {
        case 0: return false
        case 1: return true
        case let other:
            throw WireError(.invalidValue, at: at, "an optional's presence marker must be 0 or 1, found \(other)")
        }
    }

    /// Decodes any value, taking the fast path its kind allows.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        switch kinds.kind(of: type) {
        case .plain:
            // Every way a type can contain itself passes through here; a recursive type nested
            // deeper than the stack can hold (a few bytes per level of input) must be an error,
            // not a stack overflow.
            depth &+= 1
            defer { depth &-= 1 }
            guard depth <= maximumDepth else { throw tooDeep(T.self) }
            return try T(from: self)
        case .optional:
            optionalState = try decodePresence() ? .present : .absent
            return try T(from: self)
        case .string:
            return unsafeBitCast(try decodeString(), to: T.self)
        case .int:
            return unsafeBitCast(try decodeFixed(Int.self), to: T.self)
        case .double:
            return unsafeBitCast(Double(bitPattern: try decodeFixed(UInt64.self)), to: T.self)
        case .bool:
            return unsafeBitCast(try decodeBool(), to: T.self)
        case .bulkArray:
            // Its storage is exactly the bytes it copies out of the input.
            let start = source.offset
            let array = try (type as! any WireBulkArray.Type).wireRead(from: &source)
            reservedBytes &+= source.offset &- start
            return array as! T
        case .byteCollection:
            let count = try source.readLength(unitSize: 1, for: "\(type)")
            let bytes = try source.take(count, for: "\(type)")
            reservedBytes &+= count
            return (type as! any RangeReplaceableCollection<UInt8>.Type).wireMake(copying: bytes) as! T
        case .zeroCopyBytes:
            let count = try source.readLength(unitSize: 1, for: "ZeroCopyBytes")
            let bytes = try source.take(count, for: "ZeroCopyBytes")
            guard let lender else {
                reservedBytes &+= count
                return ZeroCopyBytes(copying: bytes) as! T
            }
            return ZeroCopyBytes(borrowing: bytes, from: lender) as! T
        case .dictionary:
            guard let dictionary = type as? any WireDictionaryDecodable.Type else { return try T(from: self) }
            return try dictionary.wireDecode(from: self) as! T
        case .array:
            guard let array = type as? any WireArrayDecodable.Type else { return try T(from: self) }
            depth &+= 1
            defer { depth &-= 1 }
            guard depth <= maximumDepth else { throw tooDeep(T.self) }
            return try array.wireDecodeElements(from: self) as! T
        }
    }

    /// The error for nesting past ``maximumDepth``, built out of line to keep `decodeValue` lean.
    @inline(never)
    func tooDeep(_ type: Any.Type) -> WireError {
        WireError(
            .nestedTooDeep, at: source.offset,
            "values are nested more than \(maximumDepth) deep (at \(type)); if the data is genuine, raise "
                + "WireDecoder's maximumDepth and make sure the decoding thread's stack can hold it")
    }

    /// Reads a nested container's key, or takes the one `allKeys` already read, and checks it.
    func expectKey(_ key: some CodingKey) throws(WireError) {
        let at = source.offset
        let found: String
        if let pending = pendingKey {
            found = pending
            pendingKey = nil
        } else {
            found = try decodeString()
        }
        guard found == key.stringValue else {
            throw WireError(.unknownKey, at: at, "expected the key '\(key.stringValue)', found '\(found)'")
        }
    }
}

struct WireSingleValueDecoder: SingleValueDecodingContainer {
    let core: WireDecoderCore
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool {
        switch core.optionalState {
        case .absent:
            core.optionalState = .none
            return true
        case .present:
            core.optionalState = .none
            return false
        case .none:
            // Not inside an Optional: a presence byte written by a custom encodeNil() pairing.
            guard let present = try? core.decodePresence() else { return false }
            return !present
        }
    }

    func decode(_ type: Bool.Type) throws -> Bool { try core.decodeBool() }
    func decode(_ type: String.Type) throws -> String { try core.decodeString() }
    func decode(_ type: Double.Type) throws -> Double { Double(bitPattern: try core.decodeFixed(UInt64.self)) }
    func decode(_ type: Float.Type) throws -> Float { Float(bitPattern: try core.decodeFixed(UInt32.self)) }
    func decode(_ type: Int.Type) throws -> Int { try core.decodeFixed(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try core.decodeFixed(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try core.decodeFixed(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try core.decodeFixed(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try core.decodeFixed(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try core.decodeFixed(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try core.decodeFixed(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try core.decodeFixed(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try core.decodeFixed(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try core.decodeFixed(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try core.decodeValue(type) }
}

extension RangeReplaceableCollection<UInt8> {
    /// A collection holding a copy of `bytes` (how `Data` and friends are decoded in one block).
    static func wireMake(copying bytes: UnsafeRawBufferPointer) -> Self {
        var result = Self()
        result.append(contentsOf: bytes.bindMemory(to: UInt8.self))
        return result
    }
}
