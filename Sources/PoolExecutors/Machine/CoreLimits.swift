/// How many cores this process may really use, and what limits it.
///
/// `ProcessInfo.activeProcessorCount` ignores the affinity mask and cgroup v2, and Swift's
/// cooperative pool ignores both; a pool sized from them oversubscribes a container or a
/// `taskset`. This type takes the smallest of every limit the kernel enforces.
public struct CoreLimits: Sendable, Equatable, Codable {
    /// CPUs the operating system has online.
    public var online: Int
    /// CPUs in this process's affinity mask (`sched_getaffinity`, `taskset`), if known.
    public var affinity: Int?
    /// CPUs' worth of time the cgroup quota allows (v2 `cpu.max` or v1 `cfs_quota_us`), if limited.
    public var cgroupQuota: Double?
    /// The cap set in the `POOL_ADVISOR_CPUS` environment variable, if any.
    public var environmentCap: Int?

    /// Creates limits from readings; ``usable`` derives the answer.
    public init(online: Int, affinity: Int? = nil, cgroupQuota: Double? = nil, environmentCap: Int? = nil) {
        self.online = online
        self.affinity = affinity
        self.cgroupQuota = cgroupQuota
        self.environmentCap = environmentCap
    }

    /// Cores this process may use: the smallest limit, a fractional quota rounded up, at least 1.
    public var usable: Int {
        var count = max(1, online)
        if let affinity { count = min(count, affinity) }
        if let cgroupQuota { count = min(count, Int(cgroupQuota.rounded(.up))) }
        if let environmentCap { count = min(count, environmentCap) }
        return max(1, count)
    }

    /// Which limit decides ``usable``, in words (for reports).
    public var decidingLimit: String {
        let usable = self.usable
        if let environmentCap, environmentCap == usable { return "POOL_ADVISOR_CPUS=\(environmentCap)" }
        if let cgroupQuota, Int(cgroupQuota.rounded(.up)) == usable { return "cgroup CPU quota \(cgroupQuota)" }
        if let affinity, affinity == usable, affinity < online { return "affinity mask (\(affinity) CPUs)" }
        return "online CPUs"
    }
}

/// Facts about the machine this process runs on.
public enum Machine {
    /// Cores this process may actually use (affinity mask, cgroup v2 `cpu.max`, cgroup v1 quota
    /// and `POOL_ADVISOR_CPUS`), read once and cached for the life of the process.
    ///
    /// Every default worker count in pool-advisor comes from here.
    public static let usableCores: Int = currentCoreLimits().usable

    /// Reads every core limit now (uncached).
    public static func currentCoreLimits() -> CoreLimits {
        CoreLimits(
            online: Processors.online,
            affinity: Processors.inAffinityMask,
            cgroupQuota: CgroupQuota.current(),
            environmentCap: SystemFiles.environment("POOL_ADVISOR_CPUS").flatMap(CgroupParsing.positiveInteger)
        )
    }
}
