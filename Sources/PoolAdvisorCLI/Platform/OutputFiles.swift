internal import Glibc
internal import PoolSystem

/// The few file calls ``OutputWriter`` needs; each failure comes back as `strerror`'s text.
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
        var info = stat()
        guard lstat(path, &info) == 0 else { return errno == ENOENT ? .missing : .unreadable(lastErrorText) }
        return kind(mode: info.st_mode)
    }

    /// What `path` leads to after every symbolic link (`stat`).
    static func finalKind(_ path: String) -> Kind {
        var info = stat()
        guard stat(path, &info) == 0 else { return errno == ENOENT ? .missing : .unreadable(lastErrorText) }
        return kind(mode: info.st_mode)
    }

    private static func kind(mode: mode_t) -> Kind {
        switch mode & S_IFMT {
        case S_IFREG: .regular
        case S_IFDIR: .directory
        case S_IFLNK: .symbolicLink
        default: .special
        }
    }

    /// True when this process may write `path` (`access(W_OK)`).
    static func isWritable(_ path: String) -> Bool { access(path, W_OK) == 0 }

    /// Creates `path` for writing (mode 0666 less the umask); -1 when it exists in any form,
    /// a symbolic link included, or cannot be created.
    static func createExclusive(_ path: String) -> Int32 {
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o666)
    }

    /// Opens an existing device or FIFO for writing where it is: no creation, no truncation,
    /// never becoming the controlling terminal; -1 on failure. A FIFO blocks until a reader opens it.
    static func openInPlace(_ path: String) -> Int32 {
        SystemCall.retryingInterrupts { open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC) }
    }

    /// What an open descriptor is.
    static func kind(of descriptor: Int32) -> Kind {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return .unreadable(lastErrorText) }
        return kind(mode: info.st_mode)
    }

    /// True when `path` (not followed) is still the file open as `descriptor`.
    static func isSameFile(_ path: String, as descriptor: Int32) -> Bool {
        var named = stat()
        var opened = stat()
        guard lstat(path, &named) == 0, fstat(descriptor, &opened) == 0 else { return false }
        return named.st_dev == opened.st_dev && named.st_ino == opened.st_ino
    }

    /// Why the last call failed.
    static var lastErrorText: String { String(cString: strerror(errno)) }

    /// Writes every byte, through short writes and `EINTR`; the error's text, or nil.
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> String? {
        do throws(SystemCallError) {
            try Descriptor.writeAll(descriptor, bytes)
            return nil
        } catch {
            return String(cString: strerror(error.errno))
        }
    }

    static func rename(_ from: String, to: String) -> String? {
        Glibc.rename(from, to) == 0 ? nil : lastErrorText
    }

    static func remove(_ path: String) { unlink(path) }

    static func close(_ descriptor: Int32) { _ = Glibc.close(descriptor) }
}
