import Foundation
import PoolProfiler
import Testing

/// Other programs' CPU from two `/proc/stat` readings and this process's own CPU, with fixed
/// numbers (the machine's real counters are only read by the last test, which asserts no load).
@Suite struct HostLoadTests {
    static let procStat = """
        cpu  921451 68 145926 711057 2132 0 943 641 0 0
        cpu0 452853 39 72141 364930 477 0 138 315 0 0
        cpu1 468598 28 73784 346126 1655 0 804 325 0 0
        intr 16851332 0 0 0
        ctxt 123
        btime 1700000000
        """

    func snapshot(busy: Int64, total: Int64, cpus: Int = 2, ownSeconds: Double) -> HostCPUSnapshot {
        HostCPUSnapshot(busyTicks: busy, totalTicks: total, cpus: cpus, ownCPUNanoseconds: Int64(ownSeconds * 1e9))
    }

    @Test("the aggregate line gives busy and total ticks, the cpuN lines the CPU count")
    func parsesProcStat() throws {
        let parsed = try #require(HostCPUSnapshot.parse(procStat: Self.procStat, ownCPUNanoseconds: 42))
        // user + nice + system + irq + softirq + steal; idle and iowait are not busy.
        #expect(parsed.busyTicks == 921451 + 68 + 145926 + 0 + 943 + 641)
        #expect(parsed.totalTicks == parsed.busyTicks + 711057 + 2132)
        #expect(parsed.cpus == 2)
        #expect(parsed.stealTicks == 641)
        #expect(parsed.ownCPUNanoseconds == 42)
        #expect(HostCPUSnapshot.parse(procStat: "intr 1 2 3\n", ownCPUNanoseconds: 0) == nil)
        #expect(HostCPUSnapshot.parse(procStat: "cpu  1 2\n", ownCPUNanoseconds: 0) == nil)
    }

    @Test("others' CPU is the machine's busy time less this process's, over the interval")
    func othersShare() throws {
        // Two CPUs for one second (200 ticks at 100 a second); 1.5 s busy, 0.5 s of it ours.
        let start = snapshot(busy: 1000, total: 5000, ownSeconds: 3)
        let loaded = snapshot(busy: 1150, total: 5200, ownSeconds: 3.5)
        #expect(try #require(HostLoad.othersCores(from: start, to: loaded, ticksPerSecond: 100)) == 1.0)
        // Only this process worked: nobody else.
        let alone = snapshot(busy: 1150, total: 5200, ownSeconds: 4.5)
        #expect(HostLoad.othersCores(from: start, to: alone, ticksPerSecond: 100) == 0)
        // Own CPU a little above the sampled ticks is not negative load.
        let overCounted = snapshot(busy: 1150, total: 5200, ownSeconds: 4.6)
        #expect(HostLoad.othersCores(from: start, to: overCounted, ticksPerSecond: 100) == 0)
        // A fifth of a core over two seconds on four CPUs.
        let four = snapshot(busy: 0, total: 0, cpus: 4, ownSeconds: 0)
        let fifth = snapshot(busy: 240, total: 800, cpus: 4, ownSeconds: 2)
        let share = try #require(HostLoad.othersCores(from: four, to: fifth, ticksPerSecond: 100))
        #expect(abs(share - 0.2) < 1e-12)
        // No tick passed: no judgement.
        #expect(HostLoad.othersCores(from: start, to: start, ticksPerSecond: 100) == nil)
    }

    @Test("the least the ticks allow: a stray tick over a short profile is not a busy host")
    func leastOthers() throws {
        // A profile of 15 ms on two CPUs (3 ticks in all), ours 14.4 ms of CPU: the sampled busy
        // ticks came to 3 (30 ms), and read as a whole core of others.
        let start = snapshot(busy: 1000, total: 5000, ownSeconds: 0)
        let short = HostCPUSnapshot(
            busyTicks: 1003, totalTicks: 5003, cpus: 2, ownCPUNanoseconds: 14_400_000, stealTicks: 0)
        let coarse = try #require(HostLoad.othersCores(from: start, to: short, ticksPerSecond: 100))
        #expect(coarse > 0.4)
        #expect(HostLoad.othersCores(from: start, to: short, ticksPerSecond: 100, leastOnly: true) == 0)
        // A busy loop beside a 40 ms profile (8 ticks in all, 10 busy, ours 56 ms): 1.1 cores of
        // others as read, 0.6 at least, still a busy host.
        let loop = HostCPUSnapshot(
            busyTicks: 1010, totalTicks: 5008, cpus: 2, ownCPUNanoseconds: 56_000_000, stealTicks: 0)
        let least = try #require(HostLoad.othersCores(from: start, to: loop, ticksPerSecond: 100, leastOnly: true))
        #expect(least >= HostLoad.busyOthersCores, "\(least)")
        // Over a second the tick per CPU taken off is 0.02 of a core.
        let loaded = snapshot(busy: 1150, total: 5200, ownSeconds: 0.5)
        let whole = try #require(HostLoad.othersCores(from: start, to: loaded, ticksPerSecond: 100))
        let lower = try #require(HostLoad.othersCores(from: start, to: loaded, ticksPerSecond: 100, leastOnly: true))
        #expect(abs(whole - lower - 0.02) < 1e-12)
    }

    @Test("steal time counts as others' unless left out: more threads cannot take it back")
    func stealLeftOut() throws {
        // Two CPUs for one second; 0.9 s busy, 0.4 s of it steal, 0.2 s ours.
        let start = HostCPUSnapshot(busyTicks: 1000, totalTicks: 5000, cpus: 2, ownCPUNanoseconds: 0, stealTicks: 70)
        let end = HostCPUSnapshot(
            busyTicks: 1090, totalTicks: 5200, cpus: 2, ownCPUNanoseconds: 200_000_000, stealTicks: 110)
        let all = try #require(HostLoad.othersCores(from: start, to: end, ticksPerSecond: 100))
        let local = try #require(HostLoad.othersCores(from: start, to: end, ticksPerSecond: 100, countingSteal: false))
        #expect(abs(all - 0.7) < 1e-12)
        #expect(abs(local - 0.3) < 1e-12)
        // Steal that went backwards (a hostile snapshot) removes nothing.
        var backwards = end
        backwards.stealTicks = 0
        #expect(HostLoad.othersCores(from: start, to: backwards, ticksPerSecond: 100, countingSteal: false) == all)
    }

    @Test("a snapshot of this machine reads where /proc/stat exists")
    func readsThisMachine() {
        guard FileManager.default.isReadableFile(atPath: "/proc/stat") else { return }
        let now = HostCPUSnapshot.now()
        #expect(now != nil)
        #expect((now?.cpus ?? 0) >= 1)
        #expect((now?.totalTicks ?? 0) > 0)
    }

    @Test("counters at the edge of Int64, or hostile snapshots, give a figure or nil, never a trap")
    func hugeCounters() {
        let max = Int64.max
        let text = "cpu  \(max) \(max) \(max) \(max) \(max) \(max) \(max) \(max)\ncpu0 1 2 3 4\n"
        let parsed = HostCPUSnapshot.parse(procStat: text, ownCPUNanoseconds: 0)
        if let parsed {
            #expect(parsed.busyTicks >= 0 && parsed.totalTicks >= parsed.busyTicks)
        }
        let low = HostCPUSnapshot(busyTicks: .min, totalTicks: .min, cpus: .min, ownCPUNanoseconds: .min)
        let high = HostCPUSnapshot(busyTicks: max, totalTicks: max, cpus: .max, ownCPUNanoseconds: max)
        for (start, end) in [(low, high), (high, low), (low, low)] {
            for ticks in [100, .nan, .infinity, -1] {
                if let cores = HostLoad.othersCores(from: start, to: end, ticksPerSecond: ticks) {
                    #expect(cores.isFinite && cores >= 0, "\(cores)")
                }
            }
        }
    }
}
