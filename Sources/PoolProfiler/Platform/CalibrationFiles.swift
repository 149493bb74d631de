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

    static let hostName: String = SystemInfo.hostName() ?? "unknown-host"

    static func now() -> Double { WallClock.seconds() }

    /// A file's identity without a build id: path, size and change time.
    static func fileKey(_ path: String) -> String {
        guard let info = try? Files.status(path) else { return safe(path) }
        return safe("\(path)-\(info.size)-\(info.changedSeconds)")
    }

    /// `text` with everything but letters, digits, `-` and `.` replaced, for a file name.
    static func safe(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
    }

    /// What reading the cache found.
    enum Reading<Profile> {
        case missing
        /// The file is there but not used; the text says why.
        case rejected(String)
        case found(Profile)
    }

    /// A cache file is a few hundred bytes; anything much larger is not one.
    static let maximumBytes = 64 << 10

    /// Reads the cache without following a symbolic link and without trusting its size.
    static func read<Profile: Decodable>(_ path: String, as type: Profile.Type = MachineProfile.self) -> Reading<
        Profile
    > {
        let info: FileStatus
        do throws(SystemCallError) {
            info = try Files.status(path, followingLinks: false)
        } catch {
            return error.isMissingFile ? .missing : .rejected("it cannot be examined (\(error.reason))")
        }
        guard info.kind == .regular else {
            let what = info.kind == .symbolicLink ? "a symbolic link" : "not a regular file"
            return .rejected("it is \(what)")
        }
        guard info.size <= maximumBytes else { return .rejected("it is \(info.size) bytes, not a calibration") }
        // Non-blocking, and checked again once open: a FIFO swapped in after the lstat must not
        // make the read wait for ever, nor a file grown since be read whole.
        let descriptor: Int32
        do throws(SystemCallError) {
            descriptor = try Files.openForReading(path, followingLinks: false, nonBlocking: true)
        } catch {
            return .rejected("it cannot be opened (\(error.reason))")
        }
        defer { Descriptor.close(descriptor) }
        guard let opened = try? Files.status(of: descriptor), opened.kind == .regular, opened.size <= maximumBytes
        else { return .rejected("it changed while being opened") }
        let bytes: [UInt8]
        do throws(SystemCallError) {
            bytes = try Descriptor.readAll(descriptor, limit: maximumBytes + 1)
        } catch {
            return .rejected("it cannot be read (\(error.reason))")
        }
        guard bytes.count <= maximumBytes else { return .rejected("it grew past \(maximumBytes) bytes while read") }
        do {
            return .found(try JSONDecoder().decode(Profile.self, from: Data(bytes)))
        } catch {
            return .rejected("it is not a calibration this version can read")
        }
    }

    /// Writes to a temporary file created exclusively (never through a link) and renames it
    /// over `path`, so a reader never sees half a file and nothing but the cache file is replaced.
    static func write(_ profile: some Encodable, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(profile)
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = "\(path).\(ProcessControl.currentID).\(UInt32.random(in: 0...UInt32.max)).tmp"
        guard let opened = try? Files.createExclusive(temporary, permissions: 0o644) else {
            throw CalibrationError.cannotWrite(path: temporary)
        }
        let file = OwnedDescriptor(opened)
        let written = (try? Descriptor.writeAll(file.rawValue, [UInt8](data))) != nil
        file.close()
        guard written, (try? Files.rename(temporary, to: path)) != nil else {
            try? Files.remove(temporary)
            throw CalibrationError.cannotWrite(path: path)
        }
    }

    /// The whole machine's busy and total CPU time so far, in seconds summed over its CPUs
    /// (the first line of `/proc/stat`); nil where there is no such file.
    static func machineCPUSeconds() -> (busy: Double, total: Double)? {
        guard let descriptor = try? Files.openForReading("/proc/stat") else { return nil }
        defer { Descriptor.close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 512)  // the first line is all that is needed
        let count = bytes.withUnsafeMutableBytes { buffer -> Int in
            let progress = try? Descriptor.read(descriptor, into: buffer.baseAddress!, count: buffer.count)
            guard case .moved(let count)? = progress else { return -1 }
            return count
        }
        guard count > 0, let line = String(decoding: bytes.prefix(count), as: UTF8.self).split(separator: "\n").first,
            line.hasPrefix("cpu ")
        else { return nil }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 4 else { return nil }
        // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
        let idle = ticks[3] + (ticks.count > 4 ? ticks[4] : 0)
        let total = ticks.prefix(8).reduce(0, +)
        let perSecond = Double(max(1, SystemInfo.clockTicksPerSecond))
        return ((total - idle) / perSecond, total / perSecond)
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
