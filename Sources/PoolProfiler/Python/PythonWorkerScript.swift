internal import PoolSystem

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// pool-advisor's Python worker, a stdlib-only script compiled into the binary (``source``),
/// and its reference workloads (``workloadsSource``), written out where `python3` can run them.
///
/// They go to `$XDG_CACHE_HOME/pool-advisor/python/<hash of their texts>/` (or `~/.cache/…`)
/// as `pool_advisor_worker.py` and `pool_advisor_workloads.py`. What is already there is used
/// only when it is a directory or regular file (never a link), owned by this user, writable by
/// no one else, and, for a file, byte for byte the embedded text; anything else is an error
/// naming the path, never replaced.
public enum PythonWorkerScript {
    /// The written-out worker script's path, writing both files first if needed.
    /// - Throws: ``PythonError`` naming the path and the reason when they cannot be written or
    ///   what is there is not theirs.
    public static func installedPath(directory: String? = nil) throws(PythonError) -> String {
        try installedDirectory(base: directory) + "/pool_advisor_worker.py"
    }

    /// The directory holding the worker and `pool_advisor_workloads` (an import path for the
    /// reference workloads), writing them first if needed.
    public static func installedDirectory(base: String? = nil) throws(PythonError) -> String {
        guard let root = base ?? CalibrationFiles.defaultDirectory.map({ "\($0)/python" }) else {
            throw PythonError(
                "no place for the Python worker script: set HOME or XDG_CACHE_HOME to a directory you can write")
        }
        let directory = "\(root)/\(fingerprint)"
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw PythonError("cannot create \(directory) for the Python worker script: \(error)")
        }
        if let info = try? Files.status(directory, followingLinks: false),
            info.kind != .directory || info.ownerID != ProcessControl.currentUserID || info.permissions & 0o022 != 0
        {
            throw PythonError(
                "\(directory) is not a directory of this user's that only it may write: remove it, and pool-advisor writes it again"
            )
        }
        try install(source, at: "\(directory)/pool_advisor_worker.py")
        try install(workloadsSource, at: "\(directory)/pool_advisor_workloads.py")
        return directory
    }

    /// Writes `text` at `path` unless it is there already, exactly.
    private static func install(_ text: String, at path: String) throws(PythonError) {
        let bytes = Array(text.utf8)
        switch checkExisting(path, expected: bytes) {
        case nil: return
        case "missing"?: break
        case let problem?:
            throw PythonError("\(path) \(problem): remove it, and pool-advisor writes it again")
        }
        let temporary = "\(path).\(ProcessControl.currentID).\(UInt32.random(in: 0...UInt32.max)).tmp"
        guard let opened = try? Files.createExclusive(temporary, permissions: 0o644) else {
            throw PythonError("cannot write \(path): is its directory writable?")
        }
        let file = OwnedDescriptor(opened)
        let written = (try? Descriptor.writeAll(file.rawValue, bytes)) != nil
        file.close()
        // Renamed only onto a name still free: a file another process put there meanwhile is
        // checked like any other, never replaced.
        switch written ? checkExisting(path, expected: bytes) : "could not be written" {
        case nil:
            try? Files.remove(temporary)
        case "missing"? where (try? Files.link(temporary, to: path)) != nil:
            // A second name, never a replacement: a file that appeared meanwhile makes `link`
            // fail, and is checked on the next run like any other.
            try? Files.remove(temporary)
        case let problem:
            try? Files.remove(temporary)
            throw PythonError("cannot write \(path): \(problem ?? "rename failed")")
        }
    }

    /// Nil when `path` is the script as embedded, "missing" when nothing is there, otherwise
    /// what is wrong with it.
    static func checkExisting(_ path: String, expected: [UInt8]) -> String? {
        let info: FileStatus
        do throws(SystemCallError) {
            info = try Files.status(path, followingLinks: false)
        } catch {
            return error.isMissingFile ? "missing" : "cannot be examined (\(error.reason))"
        }
        guard info.kind == .regular else {
            return info.kind == .symbolicLink ? "is a symbolic link" : "is not a regular file"
        }
        guard info.size == expected.count else { return "is not the script this build embeds" }
        guard info.ownerID == ProcessControl.currentUserID, info.permissions & 0o022 == 0 else {
            return "belongs to another user or is writable by others"
        }
        guard let descriptor = try? Files.openForReading(path, followingLinks: false, nonBlocking: true) else {
            return "cannot be opened"
        }
        defer { Descriptor.close(descriptor) }
        guard let content = try? Descriptor.readAll(descriptor, limit: expected.count + 1), content == expected else {
            return "is not the script this build embeds"
        }
        return nil
    }

    /// 16 hex digits of FNV-1a over the two texts: new texts get a new directory.
    static let fingerprint: String = {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in source.utf8 + [0] + workloadsSource.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }()
}
