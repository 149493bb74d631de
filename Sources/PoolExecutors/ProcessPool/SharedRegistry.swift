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
    /// In a worker, the pool's pid: the one process whose shared values it reads.
    static let trustedOwner = Atomic<Int32>(0)

    /// The value `reference` names: this process's own, or, in a worker, its pool's.
    ///
    /// - Throws: `DecodingError` naming the reference and the fix when it names another
    ///   process, or its memory cannot be read (the owner is gone, `/proc` is not readable), is
    ///   not the sealed memory file it claims to be, or does not decode as `Value`.
    static func resolve<Value: Decodable & Sendable>(_ reference: SharedReference, as type: Value.Type) throws
        -> Value
    {
        guard reference.count >= 0, reference.descriptor >= 0 else {
            throw failure(reference, "its size or descriptor is negative")
        }
        if reference.owner == Processes.currentPID() {
            guard let value = owned.withLock({ $0[reference.id] }) as? Value else {
                throw failure(reference, "this process holds no shared value of that id and type")
            }
            return value
        }
        let trusted = trustedOwner.load(ordering: .acquiring)
        guard trusted > 0, reference.owner == trusted else {
            throw failure(reference, "it belongs to another process, whose memory this one does not read")
        }
        if let value = cached(reference) {
            guard let value = value as? Value else {
                throw failure(reference, "it holds a \(Swift.type(of: value)), not a \(Value.self)")
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

    /// A value decoded before, moved to the end of the cache (the last evicted is the least
    /// recently used).
    private static func cached(_ reference: SharedReference) -> (any Sendable)? {
        decoded.withLock { cache in
            guard let index = cache.lastIndex(where: { $0.owner == reference.owner && $0.id == reference.id }) else {
                return nil
            }
            let entry = cache.remove(at: index)
            cache.append(entry)
            return entry.value
        }
    }

    /// Maps the owner's memory file read-only and decodes it, once it is sure the descriptor is
    /// that file: the sealed memory file named after the value, of at least `count` bytes.
    private static func map<Value: Decodable>(_ reference: SharedReference, as type: Value.Type) throws -> Value {
        let path = "/proc/\(reference.owner)/fd/\(reference.descriptor)"
        let fd: Int32
        do {
            // Non-blocking: a FIFO in its place must not hang the worker.
            fd = try Files.openForReading(path, nonBlocking: true)
        } catch {
            throw failure(
                reference,
                "\(path) cannot be opened (\(error)): is /proc mounted, and may this process read its parent's descriptors?"
            )
        }
        defer { Descriptor.close(fd) }
        // What this process opened, checked on its own descriptor (the number in the parent
        // may have been reused since): the value's memory file, sealed against size changes and
        // writes, holding the bytes the reference counts.
        let expected = "/memfd:\(fileName(reference.id)) (deleted)"
        let target = (try? Files.linkTarget("/proc/self/fd/\(fd)", capacity: 256)) ?? ""
        guard target == expected, let seals = SharedMemory.seals(of: fd), seals.size, seals.writes,
            let status = try? Files.status(of: fd), status.kind == .regular, status.size >= max(1, reference.count)
        else {
            throw failure(reference, "\(path) is not the value's sealed memory file (it is \(target))")
        }
        let size = max(1, reference.count)
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
