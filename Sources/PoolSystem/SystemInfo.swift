import CPoolPlatform
import Glibc

/// Facts about the machine and the system's configuration (`sysconf`, affinity, host name).
package enum SystemInfo {
    /// CPUs the operating system has online (`sysconf(_SC_NPROCESSORS_ONLN)`), -1 if unknown.
    package static var onlineProcessors: Int {
        sysconf(Int32(_SC_NPROCESSORS_ONLN))
    }

    /// CPUs in the calling thread's affinity mask (`sched_getaffinity`), -1 if unknown.
    package static var affinityProcessors: Int {
        Int(poolsys_affinity_cpu_count())
    }

    /// Clock ticks per second, the unit of `/proc/stat` (`sysconf(_SC_CLK_TCK)`), -1 if unknown.
    package static var clockTicksPerSecond: Int {
        sysconf(Int32(_SC_CLK_TCK))
    }

    /// This machine's host name (`gethostname`), or nil when it cannot be read.
    package static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
