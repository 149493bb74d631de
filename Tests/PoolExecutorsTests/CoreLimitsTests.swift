import Testing

@testable import PoolExecutors

@Suite struct CoreLimitsTests {
    @Test func usableIsTheTightestLimitAndAtLeastOne() {
        #expect(CoreLimits(online: 8).usable == 8)
        #expect(CoreLimits(online: 8, affinity: 3).usable == 3)
        #expect(CoreLimits(online: 8, affinity: 6, cgroupQuota: 1.5).usable == 2)
        #expect(CoreLimits(online: 8, affinity: 6, cgroupQuota: 4, environmentCap: 1).usable == 1)
        #expect(CoreLimits(online: 4, cgroupQuota: 0.1).usable == 1)
        #expect(CoreLimits(online: 0).usable == 1)
    }

    @Test func decidingLimitNamesTheBindingOne() {
        #expect(CoreLimits(online: 8, affinity: 6, cgroupQuota: 1.5).decidingLimit == "cgroup CPU quota 1.5")
        #expect(CoreLimits(online: 8, affinity: 2).decidingLimit == "affinity mask (2 CPUs)")
        #expect(CoreLimits(online: 2, affinity: 2).decidingLimit == "online CPUs")
    }

    @Test func parsesCgroupV2CpuMax() {
        #expect(CgroupParsing.cpuMaxQuota("150000 100000\n") == 1.5)
        #expect(CgroupParsing.cpuMaxQuota("max 100000\n") == nil)
        #expect(CgroupParsing.cpuMaxQuota("50000") == 0.5)
        #expect(CgroupParsing.cpuMaxQuota("garbage") == nil)
    }

    @Test func parsesCgroupV1Quota() {
        #expect(CgroupParsing.v1Quota(quota: "-1\n", period: "100000\n") == nil)
        #expect(CgroupParsing.v1Quota(quota: "200000\n", period: "100000\n") == 2)
        #expect(CgroupParsing.v1Quota(quota: "x", period: "100000") == nil)
    }

    @Test func findsCgroupPathsForBothVersions() {
        let v1 = "4:memory:/a\n3:cpu,cpuacct:/docker/abc\n0::/\n"
        #expect(CgroupParsing.v1Path(controller: "cpu", in: v1) == "/docker/abc")
        #expect(CgroupParsing.v1Path(controller: "cpuset", in: v1) == nil)
        #expect(CgroupParsing.unifiedPath(in: "0::/user.slice/app.scope\n") == "/user.slice/app.scope")
        #expect(CgroupParsing.ancestors(of: "/a/b") == ["", "/a", "/a/b"])
        #expect(CgroupParsing.ancestors(of: "/") == [""])
    }

    @Test func environmentCapMustBeAPositiveInteger() {
        #expect(CgroupParsing.positiveInteger(" 3\n") == 3)
        #expect(CgroupParsing.positiveInteger("0") == nil)
        #expect(CgroupParsing.positiveInteger("two") == nil)
    }

    @Test func thisMachineHasAtLeastOneUsableCore() {
        let limits = Machine.currentCoreLimits()
        #expect(Machine.usableCores >= 1)
        #expect(Machine.usableCores <= limits.online)
        #expect(limits.affinity != nil, "sched_getaffinity should answer on Linux")
    }
}
