internal import PoolSystem
import PoolWire
import Synchronization

/// Where ``Shared`` references are resolved: in the process that owns a value, straight from
/// its live `Shared`; in a worker, from the owner's memory file, decoded once and kept among
/// the last few.
package enum SharedRegistry {
    static let nextID = Atomic<UInt64>(0)
    /// Values a worker decoded, newest last.
    static let workerCacheLimit = 8
    private static let decoded = Locked<[(owner: Int32, id: UInt64, value: any Sendable)]>([])
    /// This process's own shared values, by id, for references decoded where they were made.
    private static let owned = Locked<[UInt64: any Sendable]>([:])

    /// How many times this process mapped and decoded another's shared value (for the tests
    /// that check a worker does so once per value).
    package static var mappedCount: Int { mapped.load(ordering: .relaxed) }
    private static let mapped = Atomic<Int>(0)

    static func fileName(_ id: UInt64) -> String { "pool-advisor-shared-\(id)" }

    static func remember(_ id: UInt64, value: any Sendable) {
        owned.withLock { $0[id] = value }
    }

    static func forget(_ id: UInt64) {
        _ = owned.withLock { $0.removeValue(forKey: id) }
    }

    /// The value `reference` names.
    ///
    /// - Throws: `DecodingError` naming the reference and the fix when its memory cannot be
    ///   read (the owner is gone, `/proc` is not readable) or does not decode as `Value`.
    static func resolve<Value: Decodable & Sendable>(_ reference: SharedReference, as type: Value.Type) throws
        -> Value
    {
        if reference.owner == Processes.currentPID() {
            guard let value = owned.withLock({ $0[reference.id] }) as? Value else {
                throw failure(reference, "this process holds no such shared value any more")
            }
            return value
        }
        if let value = decoded.withLock({ cache in cache.last { $0.owner == reference.owner && $0.id == reference.id } }
        ) {
            guard let value = value.value as? Value else {
                throw failure(reference, "it holds a \(Swift.type(of: value.value)), not a \(Value.self)")
            }
            return value
        }
        let value = try map(reference, as: type)
        decoded.withLock { cache in
            cache.append((reference.owner, reference.id, value))
            if cache.count > workerCacheLimit { cache.removeFirst(cache.count - workerCacheLimit) }
        }
        return value
    }

    /// Maps the owner's memory file read-only and decodes it.
    private static func map<Value: Decodable>(_ reference: SharedReference, as type: Value.Type) throws -> Value {
        let path = "/proc/\(reference.owner)/fd/\(reference.descriptor)"
        // The descriptor must still be the file the reference names: a number can be reused.
        let target = (try? Files.linkTarget(path, capacity: 256)) ?? ""
        guard target.contains("memfd:\(fileName(reference.id)) ") || target.hasSuffix("memfd:\(fileName(reference.id))")
        else {
            throw failure(
                reference,
                target.isEmpty
                    ? "\(path) cannot be read (is /proc mounted, and may this process read its parent's descriptors?)"
                    : "\(path) is \(target), not the value's memory")
        }
        let fd: Int32
        do {
            fd = try Files.openForReading(path)
        } catch {
            throw failure(reference, "\(path) cannot be opened: \(error)")
        }
        defer { Descriptor.close(fd) }
        guard let size = try? Files.status(of: fd).size, size == max(1, reference.count) else {
            throw failure(reference, "\(path) is not \(reference.count) bytes long")
        }
        let mapped: UnsafeRawPointer
        do {
            mapped = try SharedMemory.mapReadOnly(fd, bytes: size)
        } catch {
            throw failure(reference, "mapping it failed: \(error)")
        }
        defer { SharedMemory.unmap(mapped, bytes: size) }
        Self.mapped.add(1, ordering: .relaxed)
        return try WireDecoder().decode(type, from: UnsafeRawBufferPointer(start: mapped, count: reference.count))
    }

    private static func failure(_ reference: SharedReference, _ why: String) -> DecodingError {
        DecodingError.dataCorrupted(
            DecodingError.Context(
                codingPath: [],
                debugDescription:
                    "shared value \(reference.id) of process \(reference.owner) cannot be read: \(why); pass the value itself instead of Shared if workers cannot read their parent's /proc/<pid>/fd"
            ))
    }
}
