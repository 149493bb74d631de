import Glibc
import PoolExecutors
internal import PoolSystem

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The calibration cache's file handling: where it lives, careful reading and atomic writing.
enum CalibrationFiles {
    static var defaultDirectory: String? {
        if let cache = SystemFiles.environment("XDG_CACHE_HOME"), cache.hasPrefix("/") {
            return "\(cache)/pool-advisor"
        }
        guard let home = SystemFiles.environment("HOME"), !home.isEmpty else { return nil }
        return "\(home)/.cache/pool-advisor"
    }

    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown-host" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// A file's identity without a build id: path, size and change time.
    static func fileKey(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return safe(path) }
        return safe("\(path)-\(info.st_size)-\(info.st_ctim.tv_sec)")
    }

    /// `text` with everything but letters, digits, `-` and `.` replaced, for a file name.
    static func safe(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
    }

    /// What reading the cache found.
    enum Reading {
        case missing
        /// The file is there but not used; the text says why.
        case rejected(String)
        case found(MachineProfile)
    }

    /// A cache file is a few hundred bytes; anything much larger is not one.
    static let maximumBytes = 64 << 10

    /// Reads the cache without following a symbolic link and without trusting its size.
    static func read(_ path: String) -> Reading {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            return errno == ENOENT ? .missing : .rejected("it cannot be examined (\(errorText))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            let what = info.st_mode & S_IFMT == S_IFLNK ? "a symbolic link" : "not a regular file"
            return .rejected("it is \(what)")
        }
        guard info.st_size <= maximumBytes else { return .rejected("it is \(info.st_size) bytes, not a calibration") }
        // Non-blocking, and checked again once open: a FIFO swapped in after the lstat must not
        // make the read wait for ever, nor a file grown since be read whole.
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return .rejected("it cannot be opened (\(errorText))") }
        defer { close(descriptor) }
        var opened = stat()
        guard fstat(descriptor, &opened) == 0, opened.st_mode & S_IFMT == S_IFREG, opened.st_size <= maximumBytes
        else { return .rejected("it changed while being opened") }
        var bytes = [UInt8](repeating: 0, count: maximumBytes + 1)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                SystemCall.retryingInterrupts {
                    Glibc.read(descriptor, buffer.baseAddress! + count, buffer.count - count)
                }
            }
            if got < 0 { return .rejected("it cannot be read (\(errorText))") }
            if got == 0 { break }
            count += got
        }
        guard count <= maximumBytes else { return .rejected("it grew past \(maximumBytes) bytes while read") }
        do {
            return .found(try JSONDecoder().decode(MachineProfile.self, from: Data(bytes.prefix(count))))
        } catch {
            return .rejected("it is not a calibration this version can read")
        }
    }

    /// Writes to a temporary file created exclusively (never through a link) and renames it
    /// over `path`, so a reader never sees half a file and nothing but the cache file is replaced.
    static func write(_ profile: MachineProfile, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(profile)
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let opened = SystemCall.retryingInterrupts {
            open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        }
        guard opened >= 0 else { throw CalibrationError.cannotWrite(path: temporary) }
        let file = OwnedDescriptor(opened)
        let written = (try? Descriptor.writeAll(file.rawValue, [UInt8](data))) != nil
        file.close()
        guard written, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CalibrationError.cannotWrite(path: path)
        }
    }

    /// The whole machine's busy and total CPU time so far, in seconds summed over its CPUs
    /// (the first line of `/proc/stat`); nil where there is no such file.
    static func machineCPUSeconds() -> (busy: Double, total: Double)? {
        let descriptor = open("/proc/stat", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 512)  // the first line is all that is needed
        let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress!, $0.count) }
        guard count > 0, let line = String(decoding: bytes.prefix(count), as: UTF8.self).split(separator: "\n").first,
            line.hasPrefix("cpu ")
        else { return nil }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 4 else { return nil }
        // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
        let idle = ticks[3] + (ticks.count > 4 ? ticks[4] : 0)
        let total = ticks.prefix(8).reduce(0, +)
        let perSecond = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
        return ((total - idle) / perSecond, total / perSecond)
    }

    private static var errorText: String { String(cString: strerror(errno)) }
}

/// The calibration cache could not be written.
public enum CalibrationError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotWrite(path: String)

    public var description: String {
        switch self {
        case .cannotWrite(let path): "cannot write the machine calibration cache at \(path)"
        }
    }
}
