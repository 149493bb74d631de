internal import PoolSystem
import PoolWire
import Synchronization

/// A read-only value that many calls need, shipped to each worker process once instead of with
/// every call: a lookup table, a model, a dictionary.
///
/// Put it in your inputs in place of the value itself, and read `value` in the task:
///
/// ```swift
/// struct Row: Codable, Sendable { var table: Shared<[Double]>; var index: Int }
/// struct Score: PoolTask {
///     static func run(_ row: Row) -> Double { row.table.value[row.index] * 2 }
/// }
/// let table = Shared(weights)                       // encoded once, into shared memory
/// let scores = try pool.map(Score.self, (0..<n).map { Row(table: table, index: $0) })
/// ```
///
/// Sent to a worker process, a `Shared` is a 28-byte reference: the first time a worker meets
/// it, it maps the encoded value read-only from this process (an anonymous memory file named by
/// the reference, opened through `/proc/<pid>/fd`) and decodes it once; later calls in that
/// worker reuse the decoded value. On threads, and through any coder other than the pool's
/// (JSON, say), it is simply the value. The memory is freed when the last `Shared` holding it
/// goes away. Like Ray's `ray.put` or the initializer argument of Python's executors, without
/// global variables.
///
/// A worker keeps the eight values it met last; one that falls out is mapped and decoded again
/// when next needed. Where the memory file cannot be made (no memfd) the value travels with
/// each call, as if it were not shared.
public final class Shared<Value: Codable & Sendable>: Codable, Sendable {
    /// The value.
    public let value: Value
    private let id = SharedRegistry.nextID.add(1, ordering: .relaxed).newValue
    private let segment = Locked<SharedSegment?>(nil)
    /// Set on a copy decoded from a reference: sent on, it is that same reference again.
    private let adopted: SharedReference?

    /// Wraps `value` for sharing. Nothing is encoded until it is first sent to a worker.
    public init(_ value: Value) {
        self.value = value
        adopted = nil
    }

    deinit {
        let made = segment.withLock { segment -> Bool in
            segment?.close()
            return segment != nil
        }
        if made { SharedRegistry.forget(id) }
    }

    /// Whether this is a copy made from another's reference (its memory is the other's).
    package var isCopy: Bool { adopted != nil }

    /// The name its memory file has (or will have) in `/proc/<pid>/fd` (for the leak tests).
    package var memoryFileName: String { SharedRegistry.fileName(id) }

    private enum WireForm: Codable {
        case inline(Value)
        case reference(SharedReference)
    }

    public func encode(to encoder: any Encoder) throws {
        guard encoder is any WireCoding else { return try value.encode(to: encoder) }
        var container = encoder.singleValueContainer()
        // A worker's own Shared goes back by value: its memory file dies with the worker.
        if !WorkerEntry.isWorkerProcess, let reference = adopted ?? reference() {
            try container.encode(WireForm.reference(reference))
        } else {
            try container.encode(WireForm.inline(value))
        }
    }

    public init(from decoder: any Decoder) throws {
        guard decoder is any WireCoding else {
            value = try Value(from: decoder)
            adopted = nil
            return
        }
        switch try decoder.singleValueContainer().decode(WireForm.self) {
        case .inline(let value):
            self.value = value
            adopted = nil
        case .reference(let reference):
            value = try SharedRegistry.resolve(reference, as: Value.self)
            adopted = reference
        }
    }

    /// The reference workers resolve, the memory file made on first use; nil if it cannot be.
    private func reference() -> SharedReference? {
        segment.withLock { segment -> SharedReference? in
            if segment == nil {
                segment = try? SharedSegment(encoding: value, id: id)
                if segment != nil { SharedRegistry.remember(id, value: value) }
            }
            return segment.map {
                SharedReference(owner: Processes.currentPID(), id: id, descriptor: $0.descriptor, count: $0.count)
            }
        }
    }
}

/// What crosses the pipe for a ``Shared`` value: where its encoded bytes are.
struct SharedReference: Codable, Sendable {
    var owner: Int32
    var id: UInt64
    var descriptor: Int32
    var count: Int
}

/// A value's encoded bytes in a sealed anonymous memory file, open for as long as its
/// ``Shared`` lives.
struct SharedSegment: Sendable {
    let descriptor: Int32
    let count: Int

    init<Value: Encodable>(encoding value: Value, id: UInt64) throws {
        let bytes = try WireEncoder().encode(value)
        count = bytes.count
        descriptor = try SharedMemory.createSealed(
            name: SharedRegistry.fileName(id), bytes: max(1, count), allowingWriteSeal: true)
        do {
            let mapped = try SharedMemory.map(descriptor, bytes: max(1, count))
            bytes.withUnsafeBytes { mapped.copyMemory(from: $0.baseAddress!, byteCount: count) }
            SharedMemory.unmap(mapped, bytes: max(1, count))
            // Read-only for everyone from now on: a worker decodes exactly what was encoded.
            try SharedMemory.sealWrites(descriptor)
        } catch {
            Descriptor.close(descriptor)
            throw error
        }
    }

    func close() { Descriptor.close(descriptor) }
}
