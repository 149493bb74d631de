import PoolProfiler
import PoolWorkloads
import Testing

@testable import PoolAdvisor

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
