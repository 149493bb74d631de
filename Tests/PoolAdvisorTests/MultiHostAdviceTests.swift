import PoolAdvisor
import PoolProfiler
import Testing

/// The advisor with other hosts: the cost model's multi-host plan and the rules that choose it
/// only when it wins after the hosts' start and shipping.
@Suite("Advice with other hosts")
struct MultiHostAdviceTests {
    /// A host measured through ssh: `cores` cores, a start of `start` s, 0.2 ms round trips and
    /// 100 MB/s streams.
    static func host(cores: Int = 8, start: Double = 0.3, bandwidth: Double = 100e6) -> HostProfile {
        HostProfile(
            host: "node\(cores)", launcher: "ssh node", reportedHostName: "node", executableBuild: "test",
            measuredAtEpochSeconds: 0, usableCores: cores, workerStartSeconds: start, roundTripSeconds: 0.000_2,
            bandwidthBytesPerSecond: bandwidth)
    }

    static func cpuBound(wall: Double, inputBytes: Double = 16) throws -> TaskProfile {
        var profile = shaped(
            try quickProfile(PureCPU.self), wall: wall, cpuShare: 1, serialFraction: 0.02, efficiency: 0.98)
        profile.payload.inputBytes = inputBytes
        profile.payload.outputBytes = 8
        return profile
    }

    @Test("a long CPU-bound job goes to two 8-core hosts, and the reason names the figures")
    func longJobGoesToHosts() throws {
        var advisor = Advisor(machine: testMachine)
        advisor.hosts = [RemoteHost(Self.host()), RemoteHost(Self.host())]
        advisor.localWorkersWithHosts = 2
        let advice = advisor.recommend(try Self.cpuBound(wall: 0.010), items: 20_000)
        #expect(advice.runsOnHosts, "\(advice.explanation)")
        #expect(advice.decidingRule?.rule == "other-hosts-pay")
        #expect(advice.mode == .processes && advice.workers == 18)
        let multiHost = try #require(advice.predicted.multiHost)
        // 18 workers against 2 cores here: close to 9 times faster, less the start.
        #expect(multiHost.seconds < advice.predicted.bestParallel.seconds / 5)
        #expect(advice.predictedSeconds == multiHost.seconds)
        #expect(advice.decidingRule?.reason?.contains("18 worker processes") == true)
        #expect(advice.summary.contains("on the hosts"))
    }

    @Test("a short job stays here: the hosts' start outweighs their cores, and the advice says so")
    func shortJobStaysHere() throws {
        var advisor = Advisor(machine: testMachine)
        advisor.hosts = [RemoteHost(Self.host(start: 0.4))]
        let advice = advisor.recommend(try Self.cpuBound(wall: 0.001), items: 200)
        #expect(!advice.runsOnHosts)
        #expect(advice.decidingRule?.rule != "other-hosts-pay")
        #expect(advice.advice.contains { $0.rule == "other-hosts-do-not-pay" }, "\(advice.explanation)")
    }

    @Test(
        "large arguments stay here: 4 MB a call through 20 MB/s streams costs more than the hosts save; the bytes bound the model"
    )
    func shippingKeepsItHere() throws {
        var advisor = Advisor(machine: testMachine)
        advisor.hosts = [RemoteHost(Self.host(bandwidth: 20e6))]
        let profile = try Self.cpuBound(wall: 0.005, inputBytes: 4e6)
        let advice = advisor.recommend(profile, items: 5_000)
        #expect(!advice.runsOnHosts, "\(advice.explanation)")
        let model = CostModel(profile: profile, machine: testMachine)
        let slow = try #require(model.multiHostSeconds(items: 5_000, hosts: advisor.hosts, localWorkers: 0))
        let fast = try #require(
            model.multiHostSeconds(items: 5_000, hosts: [RemoteHost(Self.host(bandwidth: 2e9))], localWorkers: 0))
        // Through 20 MB/s streams the bytes bound the job (8 workers: 160 MB/s); through fast
        // ones, what this machine's 2 cores push through the launchers (2 × 150 MB/s).
        #expect(slow >= 5_000 * 4e6 / 160e6)
        #expect(fast >= 5_000 * 4e6 / 300e6 && fast < slow / 1.5)
    }

    @Test("without hosts nothing changes: no multi-host plan, the host facts say 0")
    func withoutHosts() throws {
        let advice = Advisor(machine: testMachine).recommend(try Self.cpuBound(wall: 0.010), items: 20_000)
        #expect(advice.predicted.multiHost == nil && !advice.runsOnHosts)
        #expect(
            CostModel(profile: try Self.cpuBound(wall: 0.01), machine: testMachine)
                .multiHostSeconds(items: 10, hosts: [], localWorkers: 2) == nil)
    }

    @Test("the model's rate adds up: twice the hosts, about half the time on a long job")
    func hostsAddUp() throws {
        let model = CostModel(profile: try Self.cpuBound(wall: 0.010), machine: testMachine)
        let ten = try #require(
            model.multiHostSeconds(
                items: 1_000_000, hosts: Array(repeating: RemoteHost(Self.host()), count: 10), localWorkers: 0))
        let twenty = try #require(
            model.multiHostSeconds(
                items: 1_000_000, hosts: Array(repeating: RemoteHost(Self.host()), count: 20), localWorkers: 0))
        #expect(abs(ten / twenty - 2) < 0.1, "10 hosts \(ten) s, 20 hosts \(twenty) s")
    }
}
