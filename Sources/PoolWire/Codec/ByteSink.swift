/// A growable byte buffer the encoder appends to: raw memory, no per-byte bounds or
/// uniqueness checks (the cost that makes `Data.append` slow byte by byte).
///
/// Single-owner and not thread-safe; the encoder that owns it frees it.
///
/// A sink can also start in memory it borrows (``init(borrowing:)``, say a span of shared
/// memory): it writes there until the bytes no longer fit, then moves them to memory of its own
/// and goes on (``isBorrowing`` tells which happened).
struct ByteSink {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count = 0
    private(set) var capacity: Int
    /// Whether `base` is borrowed memory, not to be freed or grown in place.
    private(set) var isBorrowing = false

    init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    /// A sink that writes into `region` while its bytes fit there.
    init(borrowing region: UnsafeMutableRawBufferPointer) {
        base = region.baseAddress!
        capacity = region.count
        isBorrowing = true
    }

    func free() {
        if !isBorrowing { base.deallocate() }
    }

    /// Drops the contents but keeps the memory (large buffers are given back).
    mutating func reset(keepingAtMost limit: Int = 1 << 20) {
        count = 0
        if capacity > limit || isBorrowing {
            free()
            isBorrowing = false
            capacity = 256
            base = .allocate(byteCount: capacity, alignment: 16)
        }
    }

    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count &+ extra > capacity { grow(to: count + extra) }
    }

    @inline(never)
    private mutating func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        free()
        isBorrowing = false
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    /// Appends `value` in little-endian order, `T.bitWidth / 8` bytes.
    @inline(__always)
    mutating func append<T: FixedWidthInteger>(fixed value: T) {
        let size = MemoryLayout<T>.size
        reserve(size)
        base.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
        count &+= size
    }

    /// The bytes ``append(varint:)`` writes for `value`: one per started 7 bits, at least one.
    static func varintSize(_ value: UInt64) -> Int { max(1, (64 - value.leadingZeroBitCount + 6) / 7) }

    /// Appends an unsigned LEB128 varint: 7 bits per byte, high bit set on all but the last.
    @inline(__always)
    mutating func append(varint value: UInt64) {
        reserve(10)
        var rest = value
        while rest >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: rest) | 0x80, toByteOffset: count, as: UInt8.self)
            count &+= 1
            rest >>= 7
        }
        base.storeBytes(of: UInt8(rest), toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    @inline(__always)
    mutating func append(bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count &+= bytes.count
    }

    /// Reserves `byteCount` bytes to be filled in later with ``patch(_:at:)``; returns their offset.
    @inline(__always)
    mutating func appendPlaceholder(byteCount: Int) -> Int {
        reserve(byteCount)
        let offset = count
        (base + count).initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        count &+= byteCount
        return offset
    }

    @inline(__always)
    func patch<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }

    /// The bytes written so far, valid until the next append.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// A copy of the bytes written so far as an array.
    func makeArray(from start: Int = 0) -> [UInt8] {
        let length = count - start
        return [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            if length > 0 {
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: base + start, byteCount: length)
            }
            initialized = length
        }
    }
}

extension ByteSink {
    /// Forgets everything after the first `newCount` bytes.
    mutating func truncate(to newCount: Int) {
        precondition(newCount <= count, "BUG: truncating a sink forward")
        count = newCount
    }
}
