import CPoolPlatform
import Glibc
internal import PoolSystem

/// Small text files from `/proc` and `/sys`, read with plain `open`/`read` so this module does
/// not need Foundation (a worker process that loads Foundation starts several ms slower).
package enum SystemFiles {
    /// The whole file as UTF-8 text, or `nil` if it cannot be opened or read.
    /// Reads at most `limit` bytes: these are kernel files of a few lines.
    static func readText(_ path: String, limit: Int = 1 << 16) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let count = bytes.withUnsafeMutableBytes { buffer in
                SystemCall.retryingInterrupts { read(descriptor, buffer.baseAddress! + filled, limit - filled) }
            }
            if count < 0 { return nil }
            if count == 0 { break }
            filled += count
        }
        return String(decoding: bytes[..<filled], as: UTF8.self)
    }

    /// The value of environment variable `name`, if set.
    package static func environment(_ name: String) -> String? { Environment.value(name) }
}

/// Processor counts from the C library.
enum Processors {
    /// CPUs the operating system has online (`_SC_NPROCESSORS_ONLN`).
    static var online: Int {
        max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// CPUs in this thread's affinity mask (`sched_getaffinity`), or `nil` where unknown.
    static var inAffinityMask: Int? {
        let count = Int(poolsys_affinity_cpu_count())
        return count > 0 ? count : nil
    }
}
