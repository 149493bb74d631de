import PoolWorkloads
import Testing

@testable import PoolAdvisor
@testable import PoolProfiler

/// Advice on a host where other programs hold cores: the cost model's share of the cores and
/// the worker count for CPU-bound work. The other programs' load is set by hand; the real
/// host's reading (other suites run beside this one) is never used.
@Suite("A busy host")
struct BusyHostTests {
    /// A CPU-bound profile whose copies scale on threads, with `others` cores held by other programs.
    static func scalingCPU(others: Double?) throws -> TaskProfile {
        var profile = shaped(
            try quickProfile(PureCPU.self), wall: 0.001, cpuShare: 1, serialFraction: 0.03, efficiency: 0.98)
        profile.host.othersBusyCores = others
        return profile
    }

    @Test("on a quiet host every copy has its core; beside a busy program more copies take back more of it")
    func hostShare() throws {
        for quiet in [nil, 0, 0.2, 0.39] as [Double?] {
            let model = CostModel(profile: try Self.scalingCPU(others: quiet), machine: testMachine)
            #expect([1, 2, 4, 64].allSatisfy { model.hostShare($0) == 1 }, "\(String(describing: quiet))")
            #expect(model.cpuWorkers(items: 1000) == 2)
        }
        // One core's worth busy on two: the scheduler shares each core among runnable threads.
        let busy = CostModel(profile: try Self.scalingCPU(others: 1), machine: testMachine)
        #expect(busy.hostShare(1) == 1)  // one copy and the busy one: a core each
        #expect(abs(busy.hostShare(2) - 2.0 / 3) < 1e-12)  // 2 · 2/3 cores among three threads
        #expect(abs(busy.hostShare(4) - 0.8) < 1e-12)  // 2 · 4/5 cores over the two they could use
        #expect(busy.hostShare(64) == busy.hostShare(4))  // no gain counted beyond twice the cores
        #expect(busy.cpuWorkers(items: 1000) == 4)
        #expect(busy.cpuWorkers(items: 3) == 3)
        #expect(busy.cpuWorkers(items: 0) == 1)
        // So twice the cores are predicted faster than one copy per core, and serial is unchanged.
        let quiet = CostModel(profile: try Self.scalingCPU(others: nil), machine: testMachine)
        #expect(busy.seconds(.threads, items: 1000, workers: 4) < busy.seconds(.threads, items: 1000, workers: 2))
        #expect(busy.seconds(.serial, items: 1000) == quiet.seconds(.serial, items: 1000))
        #expect(busy.seconds(.threads, items: 1000, workers: 2) > quiet.seconds(.threads, items: 1000, workers: 2))
    }

    @Test("a load read from a corrupt or hostile profile keeps the share in (0, 1] and the workers in range")
    func hostileLoads() throws {
        for others in [-1, .nan, .infinity, -.infinity, 1e300, 3, 64] as [Double] {
            let model = CostModel(profile: try Self.scalingCPU(others: others), machine: testMachine)
            for k in [0, 1, 2, 4, 1000] {
                let share = model.hostShare(k)
                #expect(share.isFinite && share > 0 && share <= 1, "\(others), \(k): \(share)")
            }
            #expect((1...4).contains(model.cpuWorkers(items: 1000)), "\(others)")
            #expect(model.seconds(.threads, items: 1000, workers: 4).isFinite)
        }
    }

    @Test("the advice for CPU-bound work runs twice the cores beside a busy program, and says how busy")
    func adviceSizesForTheNeighbour() throws {
        let advisor = Advisor(machine: testMachine)
        let quiet = advisor.recommend(try Self.scalingCPU(others: 0.05), items: 1000)
        #expect(quiet.mode == .threads && quiet.workers == 2, "\(quiet.summary)")
        #expect(quiet.evaluation.facts["cpu_workers"] == .number(2))
        let busy = advisor.recommend(try Self.scalingCPU(others: 1), items: 1000)
        #expect(busy.mode == .threads && busy.workers == 4, "\(busy.summary)")
        #expect(busy.evaluation.facts["others_cores"] == .number(1))
        #expect(busy.evaluation.facts["cpu_workers"] == .number(4))
        #expect(busy.predicted.threads.workers >= 4, "\(busy.predicted.threads)")
        let unknown = advisor.recommend(try Self.scalingCPU(others: nil), items: 1000)
        #expect(unknown.evaluation.facts["others_cores"] == .unknown)
        #expect(unknown.workers == 2)
        // The advice says why there are more copies than cores, and only then.
        let why = try #require(busy.advice.first { $0.rule == "busy-host-more-copies" })
        #expect(why.text.contains("1.0 cores") && why.text.contains("4 copies"), "\(why.text)")
        #expect(!quiet.advice.contains { $0.rule == "busy-host-more-copies" })
        let three = advisor.recommend(try Self.scalingCPU(others: 1), items: 3)
        #expect(three.workers == 3 && three.advice.contains { $0.rule == "busy-host-more-copies" })
        let two = advisor.recommend(try Self.scalingCPU(others: 1), items: 2)
        #expect(!two.advice.contains { $0.rule == "busy-host-more-copies" }, "\(two.advice)")
    }

    @Test("beside a busy program the scaling test runs as many copies as a pool would, twice the cores")
    func scalingCopiesBesideALoad() {
        let options = ProfilerOptions()
        func copies(_ cores: Int, _ others: Double?, runQueue: Bool = true, left: Int? = nil) -> Int {
            options.scalingCopies(
                cores: cores, othersDuringSerial: others, measuresRunQueue: runQueue, inputsLeft: left)
        }
        #expect(copies(2, nil) == 2)
        #expect(copies(2, 0.39) == 2)
        #expect(copies(2, 0.4) == 4)
        #expect(copies(2, 1) == 4)
        #expect(copies(16, nil) == 4)
        #expect(copies(16, 3) == 8)
        #expect(copies(3, 1) == 6)
        // One core has nothing to scale onto, loaded or not; a hostile reading changes nothing.
        #expect(copies(1, 5) == 1)
        #expect(copies(0, 5) == 1)
        #expect(copies(.max, 5) == 8)
        #expect(copies(2, .nan) == 2)
        // Without the run queue measured, oversubscribed rounds would pass for clean ones.
        #expect(copies(2, 1, runQueue: false) == 2)
        // Each input called once: three rounds of one and four copies need 15 inputs.
        #expect(copies(2, 1, left: 15) == 4)
        #expect(copies(2, 1, left: 14) == 2)
        var fixed = ProfilerOptions()
        fixed.scalingThreads = 3
        #expect(fixed.scalingCopies(cores: 2, othersDuringSerial: 1, measuresRunQueue: true, inputsLeft: nil) == 3)
        var hostile = ProfilerOptions()
        hostile.minimumScalingRounds = .max  // counted as a million rounds: no overflow
        #expect(
            hostile.scalingCopies(cores: 2, othersDuringSerial: 1, measuresRunQueue: true, inputsLeft: .max) == 4)
        #expect(
            hostile.scalingCopies(cores: 2, othersDuringSerial: 1, measuresRunQueue: true, inputsLeft: 1000) == 2)
    }

    @Test("the fair speed-up under load is each side's share of the cores; unknown without a reading")
    func fairSpeedupUnderLoad() throws {
        func fair(_ others: Double?, copies: Int) throws -> Double? {
            CostModel(profile: try Self.scalingCPU(others: others), machine: testMachine)
                .fairSpeedupUnderLoad(copies: copies)
        }
        // One busy program on two cores: one copy gets a core; four get 2 · 4/5 of them.
        #expect(try fair(1, copies: 4).map { abs($0 - 1.6) < 1e-12 } == true)
        #expect(try fair(1, copies: 2).map { abs($0 - 4.0 / 3) < 1e-12 } == true)
        // Quiet: four copies on two cores go twice as fast as one.
        #expect(try fair(0, copies: 4) == 2)
        #expect(try fair(nil, copies: 4) == nil)
        for hostile in [Double.nan, .infinity, -1, 1e300] {
            let value = try fair(hostile, copies: .max)
            #expect(value.map { $0.isFinite && $0 >= 1 } ?? true, "\(hostile): \(String(describing: value))")
        }
    }

    @Test("a process speed-up measured beside a busy program is compared by the rules, never priced")
    func loadedProcessSpeedupIsNotPriced() throws {
        var profile = try Self.scalingCPU(others: nil)
        profile.scaling?.processSpeedup = Estimate(value: 1.05, low: 1.0, high: 1.1, observations: 3)
        let quiet = CostModel(profile: profile, machine: testMachine)
        #expect(quiet.processSpeedup(2) < 1.1)  // a quiet reading carries over
        profile.scaling?.noisyHost = true
        profile.scaling?.speedup = nil  // a noisy profile reports none
        profile.scaling?.serialFraction = nil
        let loaded = CostModel(profile: profile, machine: testMachine)
        #expect(loaded.processSpeedup(2) == 2)
    }

    @Test("beside a busy program, copies that keep their fair share go to threads and copies on a lock to processes")
    func decidesOnTheSpeedupUnderLoad() throws {
        func profile(loaded: Double, processes: Double?, efficiency: Double = 0.98) throws -> TaskProfile {
            var profile = try Self.scalingCPU(others: 1)
            profile.scaling?.threads = 4
            profile.scaling?.noisyHost = true
            profile.scaling?.cleanRounds = 0
            profile.scaling?.speedup = nil
            profile.scaling?.serialFraction = nil
            profile.scaling?.cpuEfficiency = Estimate(
                value: efficiency, low: efficiency, high: efficiency, observations: 8)
            profile.scaling?.speedupUnderLoad = Estimate(value: loaded, low: loaded, high: loaded, observations: 8)
            profile.scaling?.processSpeedup = processes.map { Estimate(value: $0, low: $0, high: $0, observations: 3) }
            return profile
        }
        let advisor = Advisor(machine: testMachine)
        // The reference workloads' figures with one busy loop on this machine's two cores.
        let scales = advisor.recommend(try profile(loaded: 1.45, processes: 1.4), items: 1000)
        #expect(
            scales.decidingRule?.rule == "cpu-busy-host-copies-keep-up" && scales.mode == .threads, "\(scales.summary)")
        #expect(scales.workers == 4)
        if case .number(let fair) = scales.evaluation.facts["fair_speedup_under_load"] {
            #expect(abs(fair - 1.6) < 1e-9)
        } else {
            Issue.record(
                "fair_speedup_under_load is not a number: \(scales.evaluation.facts["fair_speedup_under_load"])")
        }
        let lock = advisor.recommend(try profile(loaded: 0.97, processes: 1.4), items: 1000)
        #expect(lock.decidingRule?.rule == "cpu-busy-host-processes-further", "\(lock.summary)")
        #expect(lock.mode == .processes)
        let lockUntested = advisor.recommend(try profile(loaded: 0.97, processes: nil), items: 1000)
        #expect(lockUntested.decidingRule?.rule == "cpu-busy-host-copies-queue", "\(lockUntested.summary)")
        #expect(lockUntested.mode == .processes)
        // Near the fair share, yet processes went a quarter further under the same load.
        let further = advisor.recommend(try profile(loaded: 1.2, processes: 1.6), items: 1000)
        #expect(further.decidingRule?.rule == "cpu-busy-host-processes-further", "\(further.summary)")
        // Short of the fair share, but processes measured no further: the shortfall is the
        // machine's or the neighbour's (one in another session is weighed as a group), not a lock.
        let shared = advisor.recommend(try profile(loaded: 1.0, processes: 1.05), items: 1000)
        #expect(shared.decidingRule?.rule == "cpu-busy-host-processes-no-better", "\(shared.summary)")
        #expect(shared.mode == .threads)
        // memory-scan beside a busy loop: the memory bus costs the copies CPU (E_cpu 0.8, under
        // keep-up's 0.85), and processes measured under the same load went no further.
        let bus = advisor.recommend(try profile(loaded: 1.33, processes: 1.26, efficiency: 0.8), items: 1000)
        #expect(bus.decidingRule?.rule == "cpu-busy-host-processes-no-better", "\(bus.summary)")
        #expect(bus.mode == .threads)
        // Below 0.7 the copies burn CPU for nothing (a spinner), whatever processes measured.
        let spinner = advisor.recommend(try profile(loaded: 1.33, processes: 1.26, efficiency: 0.69), items: 1000)
        #expect(spinner.decidingRule?.rule == "cpu-copies-burn-cpu", "\(spinner.summary)")
        #expect(spinner.mode == .processes)
        // Every reason quotes measured figures, none unknown.
        for advice in [scales, lock, lockUntested, further, shared, bus] {
            let why = advice.decidingRule?.reason ?? ""
            #expect(!why.isEmpty && !why.contains("unknown"), "\(why)")
        }
        // Copies that burn CPU without progress are settled by E_cpu first.
        let spins = advisor.recommend(try profile(loaded: 0.35, processes: 1.5, efficiency: 0.35), items: 1000)
        #expect(spins.decidingRule?.rule == "cpu-copies-burn-cpu", "\(spins.summary)")
        // With one copy per core the two readings look alike: the hedging rules decide.
        var two = try profile(loaded: 1.3, processes: nil)
        two.scaling?.threads = 2
        let hedged = advisor.recommend(two, items: 1000)
        #expect(hedged.decidingRule?.rule.hasPrefix("cpu-scaling-unmeasured") == true, "\(hedged.summary)")
    }

    @Test("a machine of absurd size from a file, beside a busy program, is priced without a trap")
    func absurdCores() throws {
        for cores in [Int.max, Int.max / 2 + 1, -5, 0] {
            var machine = testMachine
            machine.usableCores = cores
            let model = CostModel(profile: try Self.scalingCPU(others: 1), machine: machine)
            #expect(model.cpuWorkers(items: .max) >= 1)
            #expect(model.hostShare(.max) > 0 && model.hostShare(.max) <= 1)
            let advice = Advisor(machine: machine).recommend(try Self.scalingCPU(others: 1), items: 1000)
            #expect((advice.workers ?? 1) >= 1)
        }
    }
}
