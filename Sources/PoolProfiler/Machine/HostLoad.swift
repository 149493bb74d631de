/// The machine's CPU counters and this process's own CPU at one moment: two of them tell how much
/// CPU other programs took in between, which is how a measurement knows it was disturbed.
///
/// ```swift
/// let before = HostCPUSnapshot.now()
/// runTheJob()
/// if let before, let after = HostCPUSnapshot.now() {
///     print(HostLoad.othersCores(from: before, to: after) ?? 0)   // 0.97: a busy loop elsewhere
/// }
/// ```
public struct HostCPUSnapshot: Sendable, Equatable {
    /// Ticks every CPU spent busy (user, nice, system, irq, softirq and steal: time a hypervisor
    /// gave to other machines counts as taken by others), from `/proc/stat`.
    public var busyTicks: Int64
    /// Every tick of every CPU: busy, idle and iowait.
    public var totalTicks: Int64
    /// The steal ticks among ``busyTicks``: time this virtual machine's CPUs were ready to run
    /// and the hypervisor ran something else. On a VM it also grows with this process's own
    /// wake-ups (a vCPU woken from idle waits for the host), so it says little about programs here.
    public var stealTicks: Int64 = 0
    /// CPUs the ticks were counted on.
    public var cpus: Int
    /// This process's CPU time (every thread) plus its reaped children's, in nanoseconds.
    public var ownCPUNanoseconds: Int64

    /// A snapshot from its parts.
    public init(busyTicks: Int64, totalTicks: Int64, cpus: Int, ownCPUNanoseconds: Int64, stealTicks: Int64 = 0) {
        self.busyTicks = busyTicks
        self.totalTicks = totalTicks
        self.stealTicks = stealTicks
        self.cpus = cpus
        self.ownCPUNanoseconds = ownCPUNanoseconds
    }

    /// The counters now; nil where there is no readable `/proc/stat` (not Linux).
    public static func now() -> HostCPUSnapshot? {
        // Own CPU first: the machine's ticks then include all of it.
        let own = Clocks.processCPU() + Clocks.childrenCPU()
        return ProcFS.machineStatistics().flatMap { parse(procStat: $0, ownCPUNanoseconds: own) }
    }

    /// Reads the aggregate `cpu` line of `/proc/stat` text and counts its `cpuN` lines; nil when
    /// the text has no such line.
    public static func parse(procStat text: String, ownCPUNanoseconds: Int64) -> HostCPUSnapshot? {
        var aggregate: [Int64]?
        var cpus = 0
        for line in text.split(separator: "\n") where line.hasPrefix("cpu") {
            let fields = line.split(separator: " ")
            guard let name = fields.first else { continue }
            if name == "cpu" {
                aggregate = fields.dropFirst().compactMap { Int64($0) }
            } else if Int(name.dropFirst(3)) != nil {
                cpus += 1
            }
        }
        // user nice system idle iowait irq softirq steal (guest time is already in user).
        guard let ticks = aggregate, ticks.count >= 4 else { return nil }
        // Counters no machine reaches (a corrupt or hostile text) must not overflow the sums.
        func field(_ index: Int) -> Int64 { index < ticks.count ? min(max(ticks[index], 0), Int64.max / 16) : 0 }
        let busy = field(0) + field(1) + field(2) + field(5) + field(6) + field(7)
        return HostCPUSnapshot(
            busyTicks: busy, totalTicks: busy + field(3) + field(4), cpus: max(cpus, 1),
            ownCPUNanoseconds: ownCPUNanoseconds, stealTicks: field(7))
    }
}

/// How much CPU other programs took between two ``HostCPUSnapshot``s.
public enum HostLoad {
    /// Other programs' CPU from which a host counts as busy, in cores' worth. Not lower: the
    /// kernel's own threads working for this process's I/O (journal commits after `fsync`) count
    /// as others too, and held a third of a core in quiet runs of `disk-fsync`.
    public static let busyOthersCores = 0.4

    /// The unit of `/proc/stat`'s counters on this machine (usually 100 a second).
    public static var ticksPerSecond: Double { ProcFS.ticksPerSecond }

    /// Other programs' CPU over the interval, in cores' worth held on average (1.0: one core busy
    /// all the time); the machine's busy time minus this process's and its children's, over the
    /// interval's wall time, which is the machine's ticks over its CPU count. Nil when no tick
    /// passed (an interval shorter than `1 / ticksPerSecond` cannot be judged).
    ///
    /// With `countingSteal` false, a hypervisor's steal time is left out: only programs on this
    /// machine, the ones that compete with this process's threads for its cores, count.
    ///
    /// With `leastOnly`, the least the ticks allow: busy ticks are sampled (a CPU counts a
    /// whole tick to whoever holds it at the tick) while this process's own time is exact, so
    /// each CPU's count can be a tick over, and the reading is taken a tick per CPU lower. Over
    /// a second that is 0.02 of a core on two; over a 12 ms profile one stray tick alone read
    /// as 0.8 of a core, a busy host that was not there.
    public static func othersCores(
        from start: HostCPUSnapshot, to end: HostCPUSnapshot, ticksPerSecond: Double = HostLoad.ticksPerSecond,
        countingSteal: Bool = true, leastOnly: Bool = false
    ) -> Double? {
        // Differences in floating point: snapshots built from hostile numbers cannot overflow.
        let total = Double(end.totalTicks) - Double(start.totalTicks)
        guard total > 0, ticksPerSecond > 0, ticksPerSecond.isFinite else { return nil }
        let wall = total / Double(max(end.cpus, 1)) / ticksPerSecond
        let steal = countingSteal ? 0 : max(Double(end.stealTicks) - Double(start.stealTicks), 0)
        let margin = leastOnly ? Double(max(end.cpus, 1)) : 0
        let busy = max(Double(end.busyTicks) - Double(start.busyTicks) - steal - margin, 0) / ticksPerSecond
        let own = max(Double(end.ownCPUNanoseconds) - Double(start.ownCPUNanoseconds), 0) / 1e9
        // Ticks are sampled, own time exact: a quiet machine can come out a little negative.
        return max(0, busy - own) / wall
    }
}
