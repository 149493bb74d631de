import PoolWorkloads
import Testing

@testable import PoolAdvisor

/// The advice for a task with two stages, decided by what its compute stage's scaling shows
/// (figures set by hand on a real profile of the mixed workload).
@Suite("Advice for staged tasks")
struct StagedAdviceTests {
    /// The mixed workload's shape: 8.4 ms a call, computing 38 % of it.
    static func mixed(efficiency: Double?, serialFraction: Double?) throws -> TaskProfile {
        shaped(
            try quickProfile(WaitThenCompute.self, count: 4), wall: 0.0084, cpuShare: 0.38,
            serialFraction: serialFraction, efficiency: efficiency)
    }

    @Test(
        "a compute stage measured to scale runs on one stage of threads; unmeasured or serialised, the split pipeline")
    func computeStageDecides() throws {
        let advisor = Advisor(machine: testMachine)
        let scales = advisor.recommend(try Self.mixed(efficiency: 0.98, serialFraction: 0.03), items: 300)
        #expect(scales.mode == .threads && scales.decidingRule?.rule == "mixed-one-stage", "\(scales.summary)")
        let facts = scales.evaluation.facts
        guard case .number(let split) = facts["split_pipeline_seconds"],
            case .number(let threads) = facts["threads_seconds"]
        else {
            Issue.record("split_pipeline_seconds or threads_seconds missing: \(facts)")
            return
        }
        #expect(split >= threads)
        let unmeasured = advisor.recommend(try Self.mixed(efficiency: nil, serialFraction: nil), items: 300)
        #expect(
            unmeasured.mode == .pipeline && unmeasured.pipeline?.computeStage == .processes, "\(unmeasured.summary)")
        let serialised = advisor.recommend(try Self.mixed(efficiency: 0.95, serialFraction: 0.8), items: 300)
        #expect(
            serialised.mode == .pipeline && serialised.pipeline?.computeStage == .processes, "\(serialised.summary)")
    }

    @Test("the split pipeline's price is the pipeline with its compute stage on processes")
    func splitPipelinePrice() throws {
        let profile = try Self.mixed(efficiency: 0.98, serialFraction: 0.03)
        let prediction = CostModel(profile: profile, machine: testMachine).predict(items: 300)
        let split = try #require(prediction.splitPipeline)
        let best = try #require(prediction.pipeline)
        #expect(split.computeStage == .processes)
        #expect(best.seconds <= split.seconds)
        // No stages, no pipeline of either kind.
        let plain = shaped(try quickProfile(PureCPU.self), wall: 0.0084, cpuShare: 0.38)
        let none = CostModel(profile: plain, machine: testMachine).predict(items: 300)
        #expect(none.pipeline == nil && none.splitPipeline == nil)
    }
}
