import PoolExecutors
import PoolProfiler
import PoolTestFixtures
import PoolWorkloads
import Testing

/// Profiles `workload`, again while `isSettled` says a deciding measurement is still unclear
/// (at most three times): a borderline reading is repeated, the bar is never lowered.
func profile<W: ReferenceWorkload>(
    _ workload: W.Type, options: ProfilerOptions = ProfilerOptions(),
    until isSettled: (TaskProfile) -> Bool = { _ in true }
) throws -> TaskProfile {
    var last = try Profiler(options: options).profile(workload, sample: workload.inputs(count: 8))
    // The serial phase's CPU ratio is a deciding measurement too: for the computing workloads
    // (all but those that sleep or wait on I/O) a reading under the rules' 0.8 is repeated.
    let computes = ![BlockingSleep.workloadName, PipeRead.workloadName, DiskSync.workloadName].contains(
        workload.workloadName)
    for _ in 0..<2 where !isSettled(last) || (computes && last.calls.cpuRatio.value < 0.8) {
        last = try Profiler(options: options).profile(workload, sample: workload.inputs(count: 8))
    }
    return last
}

/// Each reference workload gets the reading a person would give it. The suite runs its tests
/// one at a time (they measure the cores); other suites may still load the machine, so every
/// assertion is on a separation that holds when the other core is busy.
@Suite(.serialized) struct WorkloadProfileTests {
    @Test func pureComputationComputesAndScales() throws {
        // Settled only when E_cpu is clearly high: a neighbour computing on the other vCPU (often
        // the same physical core's sibling) lowers a reading for as long as it runs, so a low
        // one is measured again rather than taken.
        let profile = try profile(PureCPU.self) { ($0.scaling?.cpuEfficiency.low ?? 0) > 0.85 }
        #expect(profile.calls.cpuRatio.value >= 0.8, "cpu ratio \(profile.calls.cpuRatio)")
        let waits = try #require(profile.waits)
        #expect(waits.fraction(.running).value >= 0.8)
        if Machine.usableCores >= 2 {
            let scaling = try #require(profile.scaling)
            #expect(scaling.cpuEfficiency.value >= 0.8, "E_cpu \(scaling.cpuEfficiency)")
        }
    }

    @Test func sleepingIsSleepAndIsNotScaleTested() throws {
        let profile = try profile(BlockingSleep.self)
        #expect(profile.calls.cpuRatio.value < 0.2, "cpu ratio \(profile.calls.cpuRatio)")
        #expect(profile.calls.blockedRatio > 0.5)
        let waits = try #require(profile.waits)
        #expect(waits.dominantWait == .sleep)
        #expect(waits.fraction(.sleep).value >= 0.5)
        #expect(profile.scaling == nil)
        #expect(profile.scalingSkippedReason?.contains("waits overlap") == true)
    }

    @Test func pipeReadIsInputOutput() throws {
        let profile = try profile(PipeRead.self)
        #expect(profile.calls.cpuRatio.value < 0.3)
        let waits = try #require(profile.waits)
        #expect(waits.dominantWait == .pipeIO)
        #expect(waits.ioFraction.value >= 0.5, "io \(waits.ioFraction)")
    }

    @Test func diskSyncWaitsOnTheDisk() throws {
        let profile = try profile(DiskSync.self)
        let waits = try #require(profile.waits)
        #expect(waits.dominantWait == .diskIO, "waits \(waits.counts)")
    }

    @Test(.enabled(if: Machine.usableCores >= 2, "needs two cores to contend"))
    func blockingLockShowsLockWaitsWithTwoCopies() throws {
        try withMachineMeasurement {
            try withContendedWorkloads { try checkBlockingLock() }
        }
    }

    private func checkBlockingLock() throws {
        let baseline = try profile(PureCPU.self)
        let locked = try profile(BlockingLock.self) { profile in
            guard let scaling = profile.scaling else { return false }
            return !scaling.noisyHost && (scaling.waits?.fraction(.lockWait).low ?? 0) > 0.05
        }
        let scaling = try #require(locked.scaling)
        let lockWaits = try #require(scaling.waits).fraction(.lockWait)
        let baselineWaits = try #require(baseline.scaling?.waits).fraction(.lockWait)
        if scaling.noisyHost {
            // Two copies sharing one free core take turns and seldom meet at the lock; the
            // profile must flag the scaling figures instead of calling the task lock-free.
            #expect(locked.figure("cpu_efficiency")?.isBorderline == true)
        } else {
            #expect(lockWaits.low > 0.05, "lock waits with two copies \(lockWaits)")
            #expect(lockWaits.value >= baselineWaits.value + 0.05)
        }
        // One copy never waits for the lock: the serial phase computes.
        #expect(locked.calls.cpuRatio.value >= 0.8)
    }

    @Test(.enabled(if: Machine.usableCores >= 2, "needs two cores to contend"))
    func spinningMutexAndSharedAtomicWasteCPU() throws {
        try withMachineMeasurement {
            try withContendedWorkloads { try checkSpinners() }
        }
    }

    private func checkSpinners() throws {
        let independent = try profile(PureCPU.self) { $0.scaling?.cpuEfficiency.isClear(of: 0.85) ?? false }
        let reference = try #require(independent.scaling).cpuEfficiency
        // Independent copies read E_cpu near 1 on a host that leaves them the cores. A baseline
        // that never settled above 0.85 in three profiles (other suites held the cores: 0.60
        // was seen) measures the host, not the task, and no spinner can be told apart from it.
        let baselineSettled = reference.isClear(of: 0.85) && reference.value > 0.85
        let baseline = reference.value
        for workload in [SpinningMutex.self, SharedAtomic.self] as [any ReferenceWorkload.Type] {
            let measured = try separated(workload, below: baseline - 0.2)
            let scaling = try #require(measured.scaling)
            let efficiency = scaling.cpuEfficiency
            if !baselineSettled {
                // Nothing to separate from: only the CPU-ratio check below applies this run.
            } else if scaling.noisyHost {
                // Other programs held the cores in most rounds, three profiles running: a
                // spinner then has no rival running to spin against, and the profile must
                // say its reading cannot be trusted rather than report a clean figure.
                #expect(measured.figure("cpu_efficiency")?.isBorderline == true)
                #expect(measured.notes.contains { $0.hasPrefix("noisy host") })
            } else {
                #expect(
                    efficiency.value <= baseline - 0.2, "\(workload.workloadName): E_cpu \(efficiency) vs \(baseline)")
            }
            // They look busy: a CPU ratio alone cannot tell them from useful work (far from
            // the waiting workloads' < 0.3). On a host other programs hold (a busy loop on each
            // core read 0.56–0.72 here in this test process, 0.99 through `pool-advisor
            // profile`), the reading is the host's as much as the task's, and the profile must
            // say the host was busy instead.
            let others = measured.host.othersBusyCores ?? 0
            #expect(
                measured.calls.cpuRatio.value >= 0.6 || others >= 0.4 || measured.calls.runQueueRatio >= 0.1,
                "cpu ratio \(measured.calls.cpuRatio) on a host the profile saw quiet (others \(others) cores, run queue \(measured.calls.runQueueRatio))"
            )
        }
    }

    private func separated<W: ReferenceWorkload>(_ workload: W.Type, below bar: Double) throws -> TaskProfile {
        try profile(workload) { profile in
            guard let scaling = profile.scaling else { return false }
            return !scaling.noisyHost && scaling.cpuEfficiency.value <= bar
        }
    }
}
