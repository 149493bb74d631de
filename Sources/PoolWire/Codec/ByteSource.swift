/// A bounds-checked cursor over borrowed bytes, for the decoder.
///
/// Every read checks the bytes that remain first and throws a ``WireError`` naming the offset,
/// so no input can make it read past the end or allocate more than the input could hold.
struct ByteSource {
    let base: UnsafeRawPointer?
    let end: Int
    var offset: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        base = bytes.baseAddress.map { UnsafeRawPointer($0) }
        end = bytes.count
        offset = 0
    }

    var remaining: Int { end - offset }

    @inline(__always)
    func require(_ count: Int, for what: @autoclosure () -> String) throws(WireError) {
        guard count <= end - offset else {
            throw WireError(
                .truncated, at: offset,
                "needed \(count) bytes for \(what()), only \(end - offset) remain")
        }
    }

    @inline(__always)
    mutating func readByte(for what: @autoclosure () -> String) throws(WireError) -> UInt8 {
        try require(1, for: what())
        let byte = base!.load(fromByteOffset: offset, as: UInt8.self)
        offset &+= 1
        return byte
    }

    @inline(__always)
    mutating func readFixed<T: FixedWidthInteger>(_: T.Type) throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        try require(size, for: String(describing: T.self))
        let value = base!.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset &+= size
        return T(littleEndian: value)
    }

    /// Reads an unsigned LEB128 varint of at most 10 bytes.
    @inline(__always)
    mutating func readVarint(for what: @autoclosure () -> String) throws(WireError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else {
                throw WireError(.truncated, at: start, "the length of \(what()) is cut off")
            }
            let byte = base!.load(fromByteOffset: offset, as: UInt8.self)
            offset &+= 1
            if shift == 63 && byte > 1 {
                throw WireError(.invalidValue, at: start, "the length of \(what()) overflows 64 bits")
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    /// Reads a varint length and checks that `length × unitSize` bytes remain.
    ///
    /// A `unitSize` below 1 counts as 1: a length is returned only when that many bytes remain,
    /// so it always fits an `Int` (a count of things that may take no bytes goes through
    /// ``WireDecoderCore/claimElements(_:at:for:)`` instead).
    @inline(__always)
    mutating func readLength(unitSize: Int, for what: @autoclosure () -> String) throws(WireError) -> Int {
        let start = offset
        let raw = try readVarint(for: what())
        let (bytes, overflow) = raw.multipliedReportingOverflow(by: UInt64(Swift.max(unitSize, 1)))
        guard !overflow, bytes <= UInt64(end - offset) else {
            throw WireError(
                .lengthOutOfRange, at: start,
                "\(what()) claims \(raw) elements of \(unitSize) bytes but only \(end - offset) bytes remain")
        }
        return Int(raw)
    }

    /// The next `count` bytes, after a bounds check; the cursor moves past them.
    @inline(__always)
    mutating func take(_ count: Int, for what: @autoclosure () -> String) throws(WireError) -> UnsafeRawBufferPointer {
        try require(count, for: what())
        let slice = UnsafeRawBufferPointer(start: base.map { $0 + offset }, count: count)
        offset &+= count
        return slice
    }
}
