internal import PoolSystem

/// Small text files from `/proc` and `/sys`, read with plain `open`/`read` (PoolSystem's) so
/// this module does not need Foundation (a worker process that loads Foundation starts several
/// ms slower).
package enum SystemFiles {
    /// The whole file as UTF-8 text, or `nil` if it cannot be opened or read.
    /// Reads at most `limit` bytes: these are kernel files of a few lines.
    static func readText(_ path: String, limit: Int = 1 << 16) -> String? {
        guard let descriptor = try? Files.openForReading(path) else { return nil }
        defer { Descriptor.close(descriptor) }
        guard let bytes = try? Descriptor.readAll(descriptor, limit: limit) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The value of environment variable `name`, if set.
    package static func environment(_ name: String) -> String? { Environment.value(name) }
}

/// Processor counts from the system.
enum Processors {
    /// CPUs the operating system has online (`_SC_NPROCESSORS_ONLN`).
    static var online: Int {
        max(1, SystemInfo.onlineProcessors)
    }

    /// CPUs in this thread's affinity mask (`sched_getaffinity`), or `nil` where unknown.
    static var inAffinityMask: Int? {
        let count = SystemInfo.affinityProcessors
        return count > 0 ? count : nil
    }
}
