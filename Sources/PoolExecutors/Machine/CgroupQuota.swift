/// Reads the CPU quota of this process's cgroup, v2 first, then v1, walking up the hierarchy:
/// a parent's limit binds its children too, so the tightest one on the path wins.
enum CgroupQuota {
    static let root = "/sys/fs/cgroup"
    static let v1Mounts = ["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuacct,cpu"]

    /// CPUs' worth of quota, or `nil` when no cgroup limits this process.
    static func current() -> Double? {
        guard let membership = SystemFiles.readText("/proc/self/cgroup") else { return nil }
        if let path = CgroupParsing.unifiedPath(in: membership) {
            let quota = tightest(mount: root, path: path) { directory in
                SystemFiles.readText(directory + "/cpu.max").flatMap(CgroupParsing.cpuMaxQuota)
            }
            if let quota { return quota }
        }
        if let path = CgroupParsing.v1Path(controller: "cpu", in: membership) {
            for mount in v1Mounts {
                let quota = tightest(mount: mount, path: path) { directory in
                    guard let quota = SystemFiles.readText(directory + "/cpu.cfs_quota_us"),
                        let period = SystemFiles.readText(directory + "/cpu.cfs_period_us")
                    else { return nil }
                    return CgroupParsing.v1Quota(quota: quota, period: period)
                }
                if let quota { return quota }
            }
        }
        return nil
    }

    private static func tightest(mount: String, path: String, read: (String) -> Double?) -> Double? {
        var best: Double?
        for directory in CgroupParsing.ancestors(of: path) {
            if let quota = read(mount + directory) { best = min(best ?? quota, quota) }
        }
        return best
    }
}

/// Pure parsers for the kernel's cgroup and CPU-list formats (tested on sample text).
enum CgroupParsing {
    /// The cgroup v2 path from `/proc/self/cgroup` (the `0::/path` line).
    static func unifiedPath(in membership: String) -> String? {
        for line in membership.split(separator: "\n") where line.hasPrefix("0::") {
            return String(line.dropFirst(3))
        }
        return nil
    }

    /// The cgroup v1 path of `controller` from `/proc/self/cgroup` (`N:cpu,cpuacct:/path`).
    static func v1Path(controller: String, in membership: String) -> String? {
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[1].split(separator: ",").contains(where: { $0 == controller }) {
                return String(fields[2])
            }
        }
        return nil
    }

    /// `/a/b` → `["", "/a", "/a/b"]`: the directories from the mount root down to the cgroup.
    static func ancestors(of path: String) -> [String] {
        var result = [""]
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            result.append(current)
        }
        return result
    }

    /// cgroup v2 `cpu.max` ("150000 100000" → 1.5; "max 100000" → nil).
    static func cpuMaxQuota(_ text: String) -> Double? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 1, fields[0] != "max", let quota = Double(fields[0]), quota > 0 else { return nil }
        let period = fields.count >= 2 ? Double(fields[1]) ?? 100_000 : 100_000
        return period > 0 ? quota / period : nil
    }

    /// cgroup v1 `cpu.cfs_quota_us` over `cpu.cfs_period_us` (a quota of -1 means unlimited).
    static func v1Quota(quota: String, period: String) -> Double? {
        guard let quota = Double(trimmed(quota)), let period = Double(trimmed(period)),
            quota > 0, period > 0
        else { return nil }
        return quota / period
    }

    /// A strictly positive integer, as an environment override must be.
    static func positiveInteger(_ text: String) -> Int? {
        guard let value = Int(trimmed(text)), value > 0 else { return nil }
        return value
    }

    private static func trimmed(_ text: String) -> Substring {
        var result = Substring(text)
        while let first = result.first, first.isWhitespace { result.removeFirst() }
        while let last = result.last, last.isWhitespace { result.removeLast() }
        return result
    }
}
