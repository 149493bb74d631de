import CPoolPlatform
import Glibc

/// What `stat` says about a file: the few fields pool-advisor reads.
package struct FileStatus: Sendable {
    /// The file's type, from `st_mode`.
    package enum Kind: Sendable, Equatable {
        /// A regular file.
        case regular
        /// A directory.
        case directory
        /// A symbolic link (only from `lstat`, which does not follow it).
        case symbolicLink
        /// A device, FIFO or socket.
        case special
    }

    /// The file's type.
    package let kind: Kind
    /// Its size in bytes (`st_size`).
    package let size: Int
    /// The device and inode that name it: equal for two paths or descriptors of one file.
    package let device: UInt64
    /// See ``device``.
    package let inode: UInt64
    /// When its status last changed, in whole seconds since the epoch (`st_ctim`).
    package let changedSeconds: Int
    /// Bytes of storage it holds (`st_blocks`, in 512-byte units): less than its size when sparse.
    package let allocatedBytes: Int
    /// Its owner's user id (`st_uid`).
    package let ownerID: UInt32
    /// Its permission bits (`st_mode & 0o7777`).
    package let permissions: UInt32

    /// The fields of a filled `stat` structure.
    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .special
        }
        size = Int(info.st_size)
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        changedSeconds = Int(info.st_ctim.tv_sec)
        allocatedBytes = Int(info.st_blocks) * 512
        ownerID = UInt32(info.st_uid)
        permissions = UInt32(info.st_mode) & 0o7777
    }
}

/// The path and file calls: open, stat, access, rename, unlink, links, positioned reads and
/// writes, sync, temporary files. Every open is close-on-exec (a worker or command spawned
/// meanwhile must not inherit it), and the calls that can be interrupted are retried on `EINTR`.
package enum Files {
    /// `stat(2)` of `path`, or with `followingLinks: false`, `lstat(2)`: a final symbolic link
    /// is then described itself, not followed.
    package static func status(_ path: String, followingLinks: Bool = true) throws(SystemCallError) -> FileStatus {
        var info = stat()
        if followingLinks {
            _ = try SystemCall.value("stat") { stat(path, &info) }
        } else {
            _ = try SystemCall.value("lstat") { lstat(path, &info) }
        }
        return FileStatus(info)
    }

    /// `fstat(2)`: what an open descriptor is.
    package static func status(of descriptor: Int32) throws(SystemCallError) -> FileStatus {
        var info = stat()
        _ = try SystemCall.value("fstat") { fstat(descriptor, &info) }
        return FileStatus(info)
    }

    /// Opens `path` read-only. `followingLinks: false` adds `O_NOFOLLOW` (a final symbolic
    /// link fails with `ELOOP`); `nonBlocking` adds `O_NONBLOCK`, so that a FIFO put in a
    /// file's place cannot make the open or a read wait for ever.
    package static func openForReading(_ path: String, followingLinks: Bool = true, nonBlocking: Bool = false)
        throws(SystemCallError) -> Int32
    {
        var flags = O_RDONLY | O_CLOEXEC
        if !followingLinks { flags |= O_NOFOLLOW }
        if nonBlocking { flags |= O_NONBLOCK }
        return try SystemCall.value("open") { open(path, flags) }
    }

    /// Creates `path` for writing with `permissions` (less the umask), failing with `EEXIST`
    /// when it exists in any form: `O_EXCL | O_NOFOLLOW`, so no symbolic link is followed and
    /// no file this program did not create is ever written.
    package static func createExclusive(_ path: String, permissions: UInt32) throws(SystemCallError) -> Int32 {
        try SystemCall.value("open") {
            open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(permissions))
        }
    }

    /// Opens `path` to append to it, creating it (with `permissions` less the umask) when it
    /// does not exist: `O_APPEND | O_NOFOLLOW`, so a final symbolic link fails with `ELOOP`
    /// and nothing already in the file is ever overwritten; `O_NONBLOCK`, so a FIFO put in its
    /// place cannot make the open wait (check the kind of what was opened). Opened for reading
    /// too, so the end of what is there can be checked (``sizeOfWholeLines(_:)``).
    package static func openForAppending(_ path: String, permissions: UInt32 = 0o666) throws(SystemCallError) -> Int32 {
        try SystemCall.value("open") {
            open(
                path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, mode_t(permissions))
        }
    }

    /// Opens an existing file (a device or FIFO) for writing where it is: no creation, no
    /// truncation, never becoming the controlling terminal. A FIFO blocks until a reader opens it.
    package static func openForWritingInPlace(_ path: String) throws(SystemCallError) -> Int32 {
        try SystemCall.value("open") { open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC) }
    }

    /// Whether this process may read (or, with `forWriting`, write) `path`: `access(2)`, whose
    /// failure leaves its reason in `errno` for ``SystemCall/lastErrorText``.
    package static func isAccessible(_ path: String, forWriting: Bool = false) -> Bool {
        access(path, forWriting ? W_OK : R_OK) == 0
    }

    /// `rename(2)`: replaces `destination` atomically.
    package static func rename(_ source: String, to destination: String) throws(SystemCallError) {
        _ = try SystemCall.value("rename") { Glibc.rename(source, destination) }
    }

    /// `link(2)`: a second name for `source`, failing with `EEXIST` when `destination` exists
    /// (never replacing it, unlike `rename`).
    package static func link(_ source: String, to destination: String) throws(SystemCallError) {
        _ = try SystemCall.value("link") { Glibc.link(source, destination) }
    }

    /// `unlink(2)`.
    package static func remove(_ path: String) throws(SystemCallError) {
        _ = try SystemCall.value("unlink") { unlink(path) }
    }

    /// The target of the symbolic link `path` (`readlink(2)`), at most `capacity` - 1 bytes.
    package static func linkTarget(_ path: String, capacity: Int) throws(SystemCallError) -> String {
        var buffer = [UInt8](repeating: 0, count: capacity)
        let length = buffer.withUnsafeMutableBytes { bytes in
            SystemCall.retryingInterrupts { readlink(path, bytes.baseAddress!, bytes.count - 1) }
        }
        guard length >= 0 else { throw SystemCallError(call: "readlink", errno: errno) }
        return String(decoding: buffer.prefix(length), as: UTF8.self)
    }

    /// `pread(2)`: reads up to `buffer.count` bytes at `offset` without moving the file offset
    /// (which a descriptor shared with a child would otherwise race on). 0 means end of file.
    package static func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int)
        throws(SystemCallError) -> Int
    {
        try SystemCall.value("pread") { pread(descriptor, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// `flock(2)` with `LOCK_EX | LOCK_NB`: an exclusive lock on the open file, held until the
    /// descriptor is closed; fails at once with `EWOULDBLOCK` when another holds it.
    package static func lockExclusively(_ descriptor: Int32) throws(SystemCallError) {
        _ = try SystemCall.value("flock") { flock(descriptor, LOCK_EX | LOCK_NB) }
    }

    /// `ftruncate(2)`: cuts (or extends with zeros) the open file to `size` bytes.
    package static func truncate(_ descriptor: Int32, to size: Int) throws(SystemCallError) {
        _ = try SystemCall.value("ftruncate") { ftruncate(descriptor, off_t(size)) }
    }

    /// The size the open file would have without a last line that lacks its newline (a write
    /// cut short): its size when it is empty or ends in `\n`. Reads back from the end, 64 KiB
    /// at a time, until it finds a newline; nil when none is within `scanningAtMost` bytes of
    /// the end (and the file is longer than that).
    package static func sizeOfWholeLines(_ descriptor: Int32, scanningAtMost limit: Int = .max)
        throws(SystemCallError) -> Int?
    {
        let size = try status(of: descriptor).size
        var end = size
        while end > 0 {
            guard size - end < limit else { return nil }
            let start = max(0, end - (1 << 16))
            let chunk = try bytes(descriptor, count: end - start, at: start)
            guard chunk.count == end - start else { return size }  // the file changed under us: leave it be
            if end == size, chunk.last == UInt8(ascii: "\n") { return size }
            if let newline = chunk.lastIndex(of: UInt8(ascii: "\n")) { return start + newline + 1 }
            end = start
        }
        return size <= limit ? 0 : nil
    }

    /// Up to `count` bytes read at `offset` (`pread`, retried until the count or end of file):
    /// fewer only at the end of the file.
    package static func bytes(_ descriptor: Int32, count: Int, at offset: Int) throws(SystemCallError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            // `withUnsafeMutableBytes` rethrows untyped errors: the outcome is carried out as a value.
            let outcome = bytes.withUnsafeMutableBytes { buffer -> Result<Int, SystemCallError> in
                do throws(SystemCallError) {
                    let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])
                    return .success(try read(descriptor, into: rest, at: offset + filled))
                } catch {
                    return .failure(error)
                }
            }
            let moved = try outcome.get()
            if moved == 0 { break }
            filled += moved
        }
        return Array(bytes[..<filled])
    }

    /// `pwrite(2)`: writes up to `bytes.count` bytes at `offset`; returns how many it wrote.
    package static func write(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int)
        throws(SystemCallError) -> Int
    {
        try SystemCall.value("pwrite") { pwrite(descriptor, bytes.baseAddress, bytes.count, off_t(offset)) }
    }

    /// Writes all of `bytes` at `offset` with `pwrite(2)`: a short write goes on with the rest,
    /// so a write that cannot (a full disk) fails with its own error. One that moves nothing and
    /// sets no error fails with `ENOSPC`, the file's inability to grow.
    package static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], at offset: Int) throws(SystemCallError) {
        // `withUnsafeBytes` rethrows untyped errors: the failure is carried out as a value.
        let failure = bytes.withUnsafeBytes { buffer -> SystemCallError? in
            var done = 0
            while done < buffer.count {
                do throws(SystemCallError) {
                    let written = try write(
                        descriptor, UnsafeRawBufferPointer(rebasing: buffer[done...]), at: offset + done)
                    guard written > 0 else { return SystemCallError(call: "pwrite", errno: ENOSPC) }
                    done += written
                } catch {
                    return error
                }
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// `fsync(2)`: waits until the file's data and metadata are on the device.
    package static func synchronize(_ descriptor: Int32) throws(SystemCallError) {
        _ = try SystemCall.value("fsync") { fsync(descriptor) }
    }

    /// Creates and opens a new file named `prefix` plus six random characters (`mkstemp(3)`,
    /// mode 0600); returns its descriptor and path.
    package static func createTemporary(prefix: String) throws(SystemCallError) -> (descriptor: Int32, path: String) {
        var template = Array("\(prefix)XXXXXX".utf8CString)
        let descriptor = try SystemCall.value("mkstemp") { mkstemp(&template) }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return (descriptor, path)
    }
}

extension SystemCallError {
    /// Whether the call failed because the path does not exist (`ENOENT`).
    package var isMissingFile: Bool { errno == ENOENT }
}
