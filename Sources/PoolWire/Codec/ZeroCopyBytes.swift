/// Bytes that a worker process reads where they already lie, in the memory it shares with its
/// pool, instead of copying them into memory of its own.
///
/// Take a `ZeroCopyBytes` as a task's input (or as a field of it) in place of `[UInt8]` or
/// `Data` when the bytes are large and the task only reads them:
///
/// ```swift
/// struct Checksum: PoolTask {
///     static func run(_ block: ZeroCopyBytes) -> UInt64 {
///         block.withUnsafeBytes { bytes in bytes.reduce(0) { $0 &+ UInt64($1) } }
///     }
/// }
/// let sums = try pool.map(Checksum.self, blocks.map { ZeroCopyBytes($0) })   // blocks: [[UInt8]]
/// ```
///
/// An input of at least `ProcessPool.Configuration.sharedMemoryThreshold` bytes is encoded
/// into the worker's arguments arena (one copy, in the pool) and the worker's `ZeroCopyBytes`
/// points into that arena: no second copy, and no fresh pages to fault in, where a 64 MB
/// `[UInt8]` costs the worker an allocation and a copy of its own. Everywhere else (threads,
/// small inputs sent through the pipe, results, any coder other than the pool's) it holds its
/// own copy and behaves the same.
///
/// The memory stays valid as long as any copy of the value lives. A task that keeps one past
/// its call (in a cache, say) keeps that span of its worker's arena from being reused until the
/// copy goes; while kept values fill the arena, later large inputs of that worker travel through
/// the pipe instead (copied, not borrowed), and a request too large for the pool's maximum
/// frame then fails with an error that names `ProcessPool.Configuration.maximumFrameBytes`.
public struct ZeroCopyBytes: Sendable {
    private let storage: Storage

    /// A copy of `bytes`.
    public init(_ bytes: some Sequence<UInt8>) {
        let copied: Storage? = bytes.withContiguousStorageIfAvailable { Storage(copying: UnsafeRawBufferPointer($0)) }
        storage = copied ?? Array(bytes).withUnsafeBytes { Storage(copying: $0) }
    }

    /// A copy of the bytes in `buffer`.
    public init(copying buffer: UnsafeRawBufferPointer) {
        storage = Storage(copying: buffer)
    }

    /// Bytes that stay valid while `lender` lives and are not copied (the decoder's path).
    init(borrowing buffer: UnsafeRawBufferPointer, from lender: any AnyObject & Sendable) {
        storage = Storage(base: buffer.baseAddress, count: buffer.count, lender: lender)
    }

    /// Calls `body` with the bytes, valid only inside it.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: storage.base, count: storage.count))
    }

    /// Whether these bytes lie in memory lent by someone else (a worker's arguments arena) rather
    /// than in a copy of their own: true in a worker for a large input, false elsewhere.
    public var isBorrowed: Bool { storage.lender != nil }
}

extension ZeroCopyBytes {
    /// The bytes' home: a copy this storage owns, or memory lent and kept valid by `lender`.
    // @unchecked: the bytes never change after init, and `lender` is Sendable.
    private final class Storage: @unchecked Sendable {
        let base: UnsafeRawPointer?
        let count: Int
        /// Nil when `base` is this storage's own allocation.
        let lender: (any AnyObject & Sendable)?

        init(base: UnsafeRawPointer?, count: Int, lender: (any AnyObject & Sendable)?) {
            self.base = base
            self.count = count
            self.lender = lender
        }

        convenience init(copying buffer: UnsafeRawBufferPointer) {
            guard let source = buffer.baseAddress, buffer.count > 0 else {
                self.init(base: nil, count: 0, lender: nil)
                return
            }
            let memory = UnsafeMutableRawPointer.allocate(byteCount: buffer.count, alignment: 16)
            memory.copyMemory(from: source, byteCount: buffer.count)
            self.init(base: UnsafeRawPointer(memory), count: buffer.count, lender: nil)
        }

        deinit {
            if lender == nil { base?.deallocate() }
        }
    }
}

extension ZeroCopyBytes: RandomAccessCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }

    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < storage.count, "ZeroCopyBytes index \(position) out of range")
        return storage.base!.load(fromByteOffset: position, as: UInt8.self)
    }

    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        try withUnsafeBytes { bytes in try body(bytes.bindMemory(to: UInt8.self)) }
    }
}

extension ZeroCopyBytes: Equatable, Hashable {
    public static func == (left: ZeroCopyBytes, right: ZeroCopyBytes) -> Bool {
        left.count == right.count && left.withUnsafeBytes { a in right.withUnsafeBytes { b in a.elementsEqual(b) } }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

extension ZeroCopyBytes: CustomStringConvertible {
    public var description: String { "ZeroCopyBytes(\(count) bytes\(isBorrowed ? ", borrowed" : ""))" }
}

extension ZeroCopyBytes: Codable {
    /// Through the pool's coder the bytes are one block (and borrowed where they lie in shared
    /// memory); through any other coder, a list of bytes like `[UInt8]`.
    public init(from decoder: any Decoder) throws {
        self.init(try [UInt8](from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try [UInt8](self).encode(to: encoder)
    }
}
