import PoolAdvisorTestTasks
import PoolRules
import Testing

@testable import PoolAdvisor

/// Decisions the auto executor must get right whatever the budget and the host's load: cases
/// whose answer is not in doubt on a 2-core machine. Only the plan it ends on is asserted,
/// never a time. Serialized: both tests call the same lock, and one test's calls would make the
/// other's serial phase wait on it.
@Suite("Auto executor decisions", .serialized)
struct AutoDecisionTests {
    /// The plan in force at the end of a run: the last switch's, else the first recommendation's.
    static func finalPlan(_ report: AutoReport) -> ExecutionPlan? {
        report.switches.last?.to ?? report.recommendation.map(ExecutionPlan.init)
    }

    static let inputs = Array(0..<160)

    @Test(
        "copies that queue on a lock whose waiters sleep never keep auto on threads, however short the profile",
        arguments: [0.02, 0.000_001])
    func sleepyLockEndsOnProcesses(minimumProfileSeconds: Double) throws {
        var options = quickAuto
        options.maximumSampleSize = 64
        options.minimumProfileSeconds = minimumProfileSeconds
        if minimumProfileSeconds < 0.001 {
            // No budget at all: the scaling test cannot run, the speed-up is unknown.
            options.profileShare = 0
        }
        options.minimumBatchSeconds = 0.005
        options.driftMinimumSeconds = 0.02
        let auto = AutoExecutor(advisor: Advisor(machine: testMachine), options: options)
        let run = try auto.run(SleepyLockTask.self, Self.inputs)
        #expect(run.outputs == Self.inputs.map(SleepyLockTask.run))
        // Processes, or serial when so little of the job is left that no pool pays.
        let plan = try #require(Self.finalPlan(run.report))
        #expect(
            plan.mode != .threads,
            "\(run.recommendation?.explanation ?? "no recommendation"); switches: \(run.switches.map(\.reason))")
    }

    @Test("a staged task whose computing part queues on a lock starts on threads and leaves them for the pipeline")
    func lockedComputeStageLeavesThreads() throws {
        // The split pipeline whatever the profile reads (a host loaded by other suites can make
        // this task look CPU-bound), under the name of the rule whose plan is insurance.
        let rules = try RuleSet(
            source: """
                rule mixed-split-pipeline priority 1 when true then pipeline fetch_workers = 4 compute_workers = 2 compute = processes
                """, schema: AdvisorFacts.schema, actions: DecisionMode.actions)
        var options = quickAuto
        options.minimumBatchSeconds = 0.005
        options.driftMinimumSeconds = 0.02
        // No re-profiles: a window slowed by other suites must not start the run over.
        options.maximumSwitches = 0
        let auto = AutoExecutor(advisor: Advisor(rules: rules, machine: testMachine), options: options)
        let inputs = Array(0..<240)
        let run = try auto.run(NapThenLockedChurn.self, inputs)
        #expect(try run.outputs == inputs.map(NapThenLockedChurn.run))
        let why = "switches: \(run.switches.map(\.reason))"
        let profile = try #require(run.report.profile)
        // Threads first (their count from the profile's CPU ratio: sized to fill the cores while
        // the copies wait), unless the profile read the host as busy.
        let busy = profile.scaling?.noisyHost == true || (profile.host.othersBusyCores ?? 0) >= 0.4
        if !busy, profile.calls.cpuRatio.value >= 0.3 {
            #expect(run.switches.first?.to.mode == .threads, "\(why)")
            let plan = try #require(Self.finalPlan(run.report))
            #expect(plan.mode == .pipeline, "\(why)")
        } else {
            // Beside a busy program the idle check would blame the task for the neighbour: no
            // threads first (a trial window may still time threads against the pipeline).
            #expect(run.switches.allSatisfy { !$0.reason.hasPrefix("threads first") }, "\(why)")
        }
    }

    @Test("a thread plan whose process keeps one core busy for a computing task is reconsidered on the wall clock")
    func idleThreadsAreReconsidered() throws {
        // Threads unless a serial fraction is known: the profile never measures one (no
        // scaling test), so only the running job's figures can move the plan.
        let rules = try RuleSet(
            source: """
                rule serialised priority 2 when known(serial_fraction) and serial_fraction > 0.5 then processes workers = 2
                rule computes priority 1 when true then threads workers = 2
                """, schema: AdvisorFacts.schema, actions: DecisionMode.actions)
        var options = quickAuto
        options.profiler.scalingMinimumCPURatio = 2
        options.profiler.scalesComputeStage = false
        // No re-profiles: a window slowed by other suites must not bring the threads rule back.
        options.maximumSwitches = 0
        // Other suites' worker processes, children of this process not yet reaped, would read
        // as other programs and lower what the threads are expected to keep busy.
        options.countsOtherPrograms = false
        options.minimumBatchSeconds = 0.005
        options.driftMinimumSeconds = 0.02
        let auto = AutoExecutor(advisor: Advisor(rules: rules, machine: testMachine), options: options)
        let run = try auto.run(SleepyLockTask.self, Self.inputs)
        #expect(run.outputs == Self.inputs.map(SleepyLockTask.run))
        let calls = try #require(run.profile).calls
        // The check runs only on a profile that read the task as computing enough to fill the
        // cores (`ObservedScaling.isChecked`); a host busy enough to block the short profile's
        // calls (page faults, other suites' spawns) can read it lower, and then threads are
        // rightly left as advised. The thresholds themselves are tested with fixed figures in
        // `AutoPoliciesTests`.
        guard
            ObservedScaling.isChecked(
                cpuRatio: calls.cpuRatio.value, threads: 2,
                cores: Machine.usableCores)
        else {
            #expect(run.switches.allSatisfy { !$0.reason.contains("cores busy") })
            return
        }
        #expect(run.recommendation?.decidingRule?.rule == "serialised")
        let first = try #require(
            run.switches.first,
            "no switch: \(run.recommendation?.summary ?? ""); profile cpu ratio \(calls.cpuRatio.value), run queue \(calls.runQueueRatio), calls \(calls.calls)"
        )
        #expect(first.from.mode == .threads && first.to.mode == .processes)
        #expect(first.reason.contains("cores busy"), "\(first.reason)")
        #expect(first.atIndex > 0 && first.atIndex < Self.inputs.count)
    }
}
