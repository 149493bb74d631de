internal import PoolSystem

/// The few file calls ``OutputWriter`` needs (PoolSystem's); each failure comes back as
/// `strerror`'s text.
///
/// Nothing here follows a symbolic link it did not check, and nothing creates a file that
/// already exists: the partial file is created with `O_EXCL | O_NOFOLLOW`.
enum OutputFiles {
    static let standardOutput: Int32 = 1

    /// What a path names, looked at without following a final symbolic link.
    enum Kind: Equatable {
        case missing
        case regular
        case directory
        case symbolicLink
        /// A device, FIFO or socket: written in place, never replaced.
        case special
        /// `lstat` failed for another reason than a missing file (the text says why).
        case unreadable(String)
    }

    /// What `path` itself is (`lstat`).
    static func kind(_ path: String) -> Kind {
        kind { () throws(SystemCallError) in try Files.status(path, followingLinks: false) }
    }

    /// What `path` leads to after every symbolic link (`stat`).
    static func finalKind(_ path: String) -> Kind {
        kind { () throws(SystemCallError) in try Files.status(path) }
    }

    /// What an open descriptor is.
    static func kind(of descriptor: Int32) -> Kind {
        kind { () throws(SystemCallError) in try Files.status(of: descriptor) }
    }

    /// The kind `status` reads, or why it could not be read.
    private static func kind(from status: () throws(SystemCallError) -> FileStatus) -> Kind {
        do throws(SystemCallError) {
            switch try status().kind {
            case .regular: return .regular
            case .directory: return .directory
            case .symbolicLink: return .symbolicLink
            case .special: return .special
            }
        } catch {
            return error.isMissingFile ? .missing : .unreadable(error.reason)
        }
    }

    /// True when this process may write `path` (`access(W_OK)`); when not, ``lastErrorText``
    /// says why.
    static func isWritable(_ path: String) -> Bool { Files.isAccessible(path, forWriting: true) }

    /// Creates `path` for writing (mode 0666 less the umask); -1 when it exists in any form,
    /// a symbolic link included, or cannot be created.
    static func createExclusive(_ path: String) -> Int32 {
        (try? Files.createExclusive(path, permissions: 0o666)) ?? -1
    }

    /// Opens a regular file to append to it, never through a symbolic link; -1 on failure.
    static func openForAppending(_ path: String) -> Int32 {
        (try? Files.openForAppending(path)) ?? -1
    }

    /// Makes the open regular file end in a whole line before appending: a last line without
    /// its newline is cut. Anything that is not a regular file is refused. Returns the error's
    /// text, or nil.
    static func endWithWholeLine(_ descriptor: Int32) -> String? {
        do throws(SystemCallError) {
            let status = try Files.status(of: descriptor)
            guard status.kind == .regular else { return "it is not a regular file" }
            let whole = try Files.sizeOfWholeLines(descriptor) ?? status.size
            if whole < status.size { try Files.truncate(descriptor, to: whole) }
            return nil
        } catch {
            return error.reason
        }
    }

    /// Opens an existing device or FIFO for writing where it is: no creation, no truncation,
    /// never becoming the controlling terminal; -1 on failure. A FIFO blocks until a reader opens it.
    static func openInPlace(_ path: String) -> Int32 {
        (try? Files.openForWritingInPlace(path)) ?? -1
    }

    /// True when `path` (not followed) is still the file open as `descriptor`.
    static func isSameFile(_ path: String, as descriptor: Int32) -> Bool {
        guard let named = try? Files.status(path, followingLinks: false),
            let opened = try? Files.status(of: descriptor)
        else { return false }
        return named.device == opened.device && named.inode == opened.inode
    }

    /// Why the last call failed (its `errno`, in words).
    static var lastErrorText: String { SystemCall.lastErrorText }

    /// Writes every byte, through short writes and `EINTR`; the error's text, or nil.
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> String? {
        do throws(SystemCallError) {
            try Descriptor.writeAll(descriptor, bytes)
            return nil
        } catch {
            return error.reason
        }
    }

    static func rename(_ from: String, to: String) -> String? {
        do throws(SystemCallError) {
            try Files.rename(from, to: to)
            return nil
        } catch {
            return error.reason
        }
    }

    static func remove(_ path: String) { try? Files.remove(path) }

    static func close(_ descriptor: Int32) { Descriptor.close(descriptor) }
}
