import Glibc

/// A heap block that can grow in place: `malloc`, `realloc`, `free`.
///
/// Why not `UnsafeMutableRawPointer.allocate`: a frame reader grows its buffer in steps as a
/// large frame arrives (a header's size is only a claim, so it is never reserved at once), and
/// growing by allocate-and-copy would copy a 64 MB payload about once more in all. `realloc`
/// of a large block moves page mappings instead (`mremap` on Linux): no bytes are copied.
enum Memory {
    /// A block of at least `byteCount` bytes, 16-byte aligned (malloc's alignment here).
    static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        guard let block = malloc(max(1, byteCount)) else {
            fatalError("out of memory allocating \(byteCount) bytes")
        }
        return block
    }

    /// `block` grown (or shrunk) to `byteCount` bytes, its first bytes kept.
    static func reallocate(_ block: UnsafeMutableRawPointer, byteCount: Int) -> UnsafeMutableRawPointer {
        guard let grown = realloc(block, max(1, byteCount)) else {
            fatalError("out of memory growing a buffer to \(byteCount) bytes")
        }
        return grown
    }

    static func free(_ block: UnsafeMutableRawPointer) {
        #if canImport(Glibc)
            Glibc.free(block)
        #else
            Darwin.free(block)
        #endif
    }
}
