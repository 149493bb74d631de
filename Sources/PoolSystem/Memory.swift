import CPoolPlatform
// Memory is public, and Glibc imported publicly, for the reason ConditionLock is (see
// Locks.swift): the frame reader's allocations stay inlined only as public @inlinable calls.
public import Glibc

/// A heap block that can grow in place: `malloc`, `realloc`, `free`.
///
/// Why not `UnsafeMutableRawPointer.allocate`: a frame reader grows its buffer in steps as a
/// large frame arrives (a header's size is only a claim, so it is never reserved at once), and
/// growing by allocate-and-copy would copy a 64 MB payload about once more in all. `realloc`
/// of a large block moves page mappings instead (`mremap` on Linux): no bytes are copied.
public enum Memory {
    /// A block of at least `byteCount` bytes, 16-byte aligned (malloc's alignment here).
    @inlinable
    public static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        guard let block = malloc(max(1, byteCount)) else {
            fatalError("out of memory allocating \(byteCount) bytes")
        }
        return block
    }

    /// `block` grown (or shrunk) to `byteCount` bytes, its first bytes kept.
    @inlinable
    public static func reallocate(_ block: UnsafeMutableRawPointer, byteCount: Int) -> UnsafeMutableRawPointer {
        guard let grown = realloc(block, max(1, byteCount)) else {
            fatalError("out of memory growing a buffer to \(byteCount) bytes")
        }
        return grown
    }

    /// Frees a block from ``allocate(byteCount:)`` or ``reallocate(_:byteCount:)``.
    @inlinable
    public static func free(_ block: UnsafeMutableRawPointer) {
        Glibc.free(block)
    }
}

/// Memory shared with another process through a file: an anonymous memory file (`memfd`),
/// inherited or passed as a descriptor, mapped read-write and shared.
package enum SharedMemory {
    /// A new close-on-exec anonymous memory file of `bytes` bytes (`memfd_create` and
    /// `ftruncate`), named `name` where `/proc/<pid>/fd` shows it.
    package static func create(name: String, bytes: Int) throws(SystemCallError) -> Int32 {
        let fd = poolsys_shared_memory(name, bytes)
        guard fd >= 0 else { throw SystemCallError(call: "memfd_create", errno: errno) }
        return fd
    }

    /// A new close-on-exec anonymous memory file of `bytes` bytes whose size is sealed: no
    /// process holding it can shrink it under another's mapping. Its pages are allocated only
    /// when touched or reserved (``reserve(_:offset:bytes:)``), so a large size costs nothing
    /// until used.
    ///
    /// With `allowingWriteSeal`, ``sealWrites(_:)`` can later make it read-only for everyone.
    package static func createSealed(name: String, bytes: Int, allowingWriteSeal: Bool = false) throws(SystemCallError)
        -> Int32
    {
        let fd = poolsys_sealed_shared_memory(name, bytes, allowingWriteSeal ? 0 : 1)
        guard fd >= 0 else { throw SystemCallError(call: "memfd_create", errno: errno) }
        return fd
    }

    /// Forbids every further write to `fd` (made with `allowingWriteSeal`; no writable mapping
    /// may remain).
    package static func sealWrites(_ fd: Int32) throws(SystemCallError) {
        let status = poolsys_seal_writes(fd)
        guard status == 0 else { throw SystemCallError(call: "fcntl(F_ADD_SEALS)", errno: status) }
    }

    /// Whether `fd`'s size is sealed, and whether its writes are; nil if it cannot say (not a
    /// memory file).
    package static func seals(of fd: Int32) -> (size: Bool, writes: Bool)? {
        var size: Int32 = 0
        var writes: Int32 = 0
        guard poolsys_shared_memory_seals(fd, &size, &writes) == 0 else { return nil }
        return (size != 0, writes != 0)
    }

    /// Allocates the pages of `bytes` bytes at `offset` of `fd` (`fallocate`), so that storing
    /// there through a mapping cannot fail for lack of memory: that failure is a SIGBUS, this
    /// one an error.
    package static func reserve(_ fd: Int32, offset: Int, bytes: Int) throws(SystemCallError) {
        let status = poolsys_reserve_shared_memory(fd, offset, bytes)
        guard status == 0 else { throw SystemCallError(call: "fallocate", errno: status) }
    }

    /// The system's page size in bytes.
    package static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Gives the pages of `bytes` bytes at `offset` of `fd` back to the system (a punched hole;
    /// they read as zeros after). Returns whether it did.
    @discardableResult
    package static func release(_ fd: Int32, offset: Int, bytes: Int) -> Bool {
        poolsys_release_shared_memory(fd, offset, bytes) == 0
    }

    /// Allocates and maps the pages of `bytes` bytes at `address` of a shared mapping in one
    /// call (`madvise(MADV_POPULATE_WRITE)`, or `_READ`), instead of a fault per page as they
    /// are first touched; for writing, a failure is an error, not a SIGBUS.
    ///
    /// - Throws: ``SystemCallError`` (`EINVAL` where the kernel predates Linux 5.14).
    package static func populate(_ address: UnsafeRawPointer, bytes: Int, forWriting: Bool) throws(SystemCallError) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = Int(bitPattern: address) & ~(page - 1)
        let end = (Int(bitPattern: address) + bytes + page - 1) & ~(page - 1)
        guard end > start else { return }
        let advice = forWriting ? MADV_POPULATE_WRITE : MADV_POPULATE_READ
        while madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, advice) != 0 {
            guard errno == EINTR else { throw SystemCallError(call: "madvise", errno: errno) }
        }
    }

    /// Maps `bytes` bytes of `fd` read-only and shared.
    package static func mapReadOnly(_ fd: Int32, bytes: Int) throws(SystemCallError) -> UnsafeRawPointer {
        let address = mmap(nil, bytes, PROT_READ, MAP_SHARED, fd, 0)
        guard let address, address != MAP_FAILED else { throw SystemCallError(call: "mmap", errno: errno) }
        return UnsafeRawPointer(address)
    }

    /// Maps `bytes` bytes of `fd` read-write and shared (`mmap`): stores are seen by every
    /// process that maps the same file.
    package static func map(_ fd: Int32, bytes: Int) throws(SystemCallError) -> UnsafeMutableRawPointer {
        let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let address, address != MAP_FAILED else { throw SystemCallError(call: "mmap", errno: errno) }
        return address
    }

    /// Unmaps a mapping from ``map(_:bytes:)`` (`munmap`).
    package static func unmap(_ address: UnsafeRawPointer, bytes: Int) {
        munmap(UnsafeMutableRawPointer(mutating: address), bytes)
    }
}
