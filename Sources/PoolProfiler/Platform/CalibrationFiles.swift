import PoolExecutors

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The calibration cache's file handling: where it lives, reading and atomic writing.
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

    static func read(_ path: String) -> MachineProfile? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(MachineProfile.self, from: data)
    }

    /// Writes to a temporary file and renames it, so a reader never sees half a file.
    static func write(_ profile: MachineProfile, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(profile)
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = "\(path).\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw CalibrationError.cannotWrite(path: temporary)
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CalibrationError.cannotWrite(path: path)
        }
    }
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
