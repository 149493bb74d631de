#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// The few file calls ``OutputWriter`` needs; each failure comes back as `strerror`'s text.
enum OutputFiles {
    static let standardOutput: Int32 = 1

    /// Creates or truncates `path` for writing (mode 0666 less the umask); -1 on failure.
    static func create(_ path: String) -> Int32 {
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
    }

    /// Why the last call failed.
    static var lastErrorText: String { String(cString: strerror(errno)) }

    /// Writes every byte, retrying short writes and `EINTR`; the error's text, or nil.
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> String? {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return lastErrorText
            }
            offset += written
        }
        return nil
    }

    static func rename(_ from: String, to: String) -> String? {
        Glibc.rename(from, to) == 0 ? nil : lastErrorText
    }

    static func remove(_ path: String) { unlink(path) }

    static func close(_ descriptor: Int32) { _ = Glibc.close(descriptor) }
}
