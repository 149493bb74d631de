import Foundation
import PoolAdvisor
import Testing

/// A short profile without sampling or scaling: fast, and the figures the tests set by hand stay put.
func quickProfile<Task: ReferenceWorkload>(_ task: Task.Type, count: Int = 8) throws -> TaskProfile {
    var options = ProfilerOptions()
    options.minimumCalls = 5
    options.minimumSeconds = 0.05
    options.maximumSeconds = 1
    options.samplingHertz = 0
    options.scalingMinimumCPURatio = 2  // never run the scaling test
    options.scalesComputeStage = false
    return try Profiler(options: options).profile(task, sample: task.inputs(count: count))
}

let testMachine = MachineProfile(
    host: "test", executableBuild: "test", measuredAtEpochSeconds: 0, usableCores: 2, workerStartSeconds: 0.010,
    roundTripSeconds: 20e-6, ipcBandwidthBytesPerSecond: 600e6, threadStartSeconds: 25e-6,
    threadDispatchSeconds: 0.5e-6, threadMapItemSeconds: 0.01e-6, processMapItemSeconds: 0.8e-6)

/// `profile` changed to a call of `wall` seconds computing `cpuShare` of it, with or without a
/// measured scaling (Karp–Flatt `e`, E_cpu).
func shaped(
    _ base: TaskProfile, wall: Double, cpuShare: Double, serialFraction: Double? = nil, efficiency: Double? = nil,
    shipping: Double = 1e-6
) -> TaskProfile {
    var profile = base
    profile.calls.wallSecondsPerCall = Estimate(value: wall, low: wall, high: wall, observations: 100)
    profile.calls.threadCPUSecondsPerCall = wall * cpuShare
    profile.calls.cpuRatio = Estimate(value: cpuShare, low: cpuShare, high: cpuShare, observations: 100)
    profile.calls.wallCPURatio = cpuShare
    profile.calls.blockedRatio = 1 - cpuShare
    // Measured figures the shape does not decide are zeroed: children's CPU is process-wide
    // (RUSAGE_CHILDREN), so workers other suites reap while the base profile runs would leak in.
    profile.calls.childrenCPURatio = 0
    profile.calls.runQueueRatio = 0
    // The first call's warm-up is whatever this test process had already run: not the shape's.
    profile.calls.firstCallSeconds = nil
    // Other suites run beside this one: the base profile's reading of the host is theirs.
    profile.host.othersBusyCores = nil
    profile.payload.shippingSecondsPerCall = shipping
    profile.payload.shippingToComputeRatio = shipping / max(wall * cpuShare, 1e-12)
    profile.figures = []
    if let efficiency {
        let speedup = serialFraction.map { 2 / (1 + $0) }
        profile.scaling = ScalingProfile(
            threads: 2, rounds: [], cleanRounds: 3,
            speedup: speedup.map { Estimate(value: $0, low: $0, high: $0, observations: 3) },
            serialFraction: serialFraction.map { Estimate(value: $0, low: $0, high: $0, observations: 3) },
            cpuEfficiency: Estimate(value: efficiency, low: efficiency, high: efficiency, observations: 3),
            noisyHost: false, waits: nil, universalScalability: nil)
    } else {
        profile.scaling = nil
    }
    return profile
}

@Suite("Advisor and cost model")
struct AdvisorTests {
    @Test("the facts come from the profile, the declaration and the machine")
    func factsFromProfile() throws {
        let profile = try quickProfile(WaitThenCompute.self, count: 4)
        #expect(profile.declared?.stages == [MixedFetch.name, MixedCompute.name])
        let advice = Advisor(machine: testMachine).recommend(profile, items: 300)
        let facts = advice.evaluation.facts
        #expect(facts["cpu_ratio"] == .number(profile.calls.cpuRatio.value))
        #expect(facts["call_seconds"] == .number(profile.calls.wallSecondsPerCall.value))
        #expect(facts["has_stages"] == .boolean(true))
        #expect(facts["crash_prone"] == .boolean(false))
        #expect(facts["cores"] == .number(2))
        #expect(facts["items"] == .number(300))
        #expect(facts["round_trip_seconds"] == .number(20e-6))
        // Sampling was off and scaling skipped: those facts are unknown, not zero.
        #expect(facts["io_share"] == .unknown)
        #expect(facts["cpu_efficiency"] == .unknown)
        #expect(facts["pipeline_seconds"] != .unknown)
        #expect(advice.predicted.pipeline != nil)
    }

    @Test("declared traits reach the rules: a crash-prone task runs in processes whatever it measures")
    func declaredTraits() throws {
        var profile = try quickProfile(BlockingSleep.self, count: 2)
        #expect(profile.declared == TaskDeclaration())
        profile.declared = TaskDeclaration(crashProne: true)
        let advice = Advisor(machine: testMachine).recommend(profile, items: 100)
        #expect(advice.mode == .processes)
        #expect(advice.decidingRule?.rule == "declared-crash-prone")
        #expect(TaskDeclaration(of: CrashProneTask.self) == TaskDeclaration(crashProne: true, notThreadSafe: true))
    }

    @Test("the recommendation's sizes, predicted time and summary follow the deciding rule")
    func recommendationShape() throws {
        let base = try quickProfile(PureCPU.self, count: 4)
        let waiting = Advisor(machine: testMachine).recommend(shaped(base, wall: 0.005, cpuShare: 0.01), items: 1000)
        #expect(waiting.mode == .threads)
        #expect(waiting.workers == 64)
        #expect(waiting.summary == "threads × 64 (rule waiting-dominates)")
        #expect(waiting.predictedSeconds < waiting.predicted.serial.seconds / 10)
        let spinning = Advisor(machine: testMachine).recommend(
            shaped(base, wall: 0.002, cpuShare: 1, serialFraction: 0.85, efficiency: 0.55), items: 1000)
        #expect(spinning.mode == .processes)
        #expect(spinning.workers == 2)
        #expect(spinning.chunkSize == 1)
        #expect(spinning.predicted.processes.seconds < spinning.predicted.threads.seconds)
        let json = try JSONEncoder().encode(spinning)
        let decoded = try JSONDecoder().decode(Recommendation.self, from: json)
        #expect(decoded.summary == spinning.summary)
        #expect(decoded.evaluation == spinning.evaluation)
    }

    @Test("a recommendation and each predicted cost hold one plan, written in the flat form reports always had")
    func recommendationHoldsOnePlan() throws {
        let base = try quickProfile(PureCPU.self, count: 4)
        let profile = shaped(base, wall: 0.002, cpuShare: 1, serialFraction: 0.85, efficiency: 0.55)
        let spinning = Advisor(machine: testMachine).recommend(profile, items: 1000)
        #expect(spinning.plan == .processes(workers: 2, chunk: 1))
        let model = CostModel(profile: profile, machine: testMachine)
        #expect(abs(spinning.predictedSeconds - model.seconds(for: spinning.plan, items: 1000)) < 1e-12)
        let object = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(spinning)) as? [String: Any])
        #expect(object["mode"] as? String == "processes" && object["workers"] as? Int == 2)
        #expect(object["chunkSize"] as? Int == 1 && object["plan"] == nil)
        let threads = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(spinning.predicted.threads)) as? [String: Any])
        #expect(Set(threads.keys) == ["mode", "workers", "chunkSize", "fetchWorkers", "computeStage", "seconds"])
        let cost = try JSONDecoder().decode(PlanCost.self, from: JSONEncoder().encode(spinning.predicted.threads))
        #expect(cost == spinning.predicted.threads)

        // A pipeline comes back as the one pipeline plan; a stage of 0 workers is an error.
        var json = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(spinning)) as? [String: Any])
        json["mode"] = "pipeline"
        json["fetchWorkers"] = 6
        json["workers"] = 3
        json["computeStage"] = "threads"
        let pipeline = try JSONDecoder().decode(
            Recommendation.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(pipeline.plan == .pipeline(fetchWorkers: 6, compute: .threads(workers: 3)))
        #expect(pipeline.pipeline?.computeWorkers == 3 && pipeline.workers == 3)
        json["fetchWorkers"] = 0
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Recommendation.self, from: JSONSerialization.data(withJSONObject: json))
        }
        json["fetchWorkers"] = 1
        json["mode"] = "threads"
        json["workers"] = -1
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Recommendation.self, from: JSONSerialization.data(withJSONObject: json))
        }
    }

    @Test("cost model: waits overlap on threads, copies that contend gain nothing, shipping costs processes")
    func costModel() throws {
        let base = try quickProfile(PureCPU.self, count: 4)
        let waits = CostModel(profile: shaped(base, wall: 0.005, cpuShare: 0.01), machine: testMachine)
        #expect(waits.seconds(.threads, items: 1000, workers: 50) < waits.seconds(.threads, items: 1000, workers: 5))
        #expect(abs(waits.seconds(.serial, items: 1000) - 5) < 1e-9)
        let scales = CostModel(
            profile: shaped(base, wall: 0.002, cpuShare: 1, serialFraction: 0, efficiency: 1), machine: testMachine)
        let serial = scales.seconds(.serial, items: 1000)
        let threads = scales.seconds(.threads, items: 1000, workers: 2)
        #expect(abs(threads - (serial / 2 + 2 * testMachine.threadStartSeconds)) < 1e-9)
        // Four threads on two cores are no faster than two.
        #expect(scales.seconds(.threads, items: 1000, workers: 4) >= threads)
        let atomic = CostModel(
            profile: shaped(base, wall: 0.002, cpuShare: 1, serialFraction: 8.5, efficiency: 0.11), machine: testMachine
        )
        #expect(atomic.seconds(.threads, items: 1000, workers: 2) > serial)
        let heavy = CostModel(
            profile: shaped(base, wall: 100e-6, cpuShare: 1, serialFraction: 0, efficiency: 1, shipping: 8e-3),
            machine: testMachine)
        #expect(heavy.seconds(.processes, items: 1000, workers: 2) > heavy.seconds(.serial, items: 1000))
        #expect(heavy.predict(items: 1000).bestParallel.mode == .threads)
        // Chunks: 2 % overhead, at least four chunks per worker.
        #expect(scales.chunk(items: 1000, workers: 2, overhead: 0.5e-6) == 1)
        let tiny = CostModel(profile: shaped(base, wall: 1e-6, cpuShare: 1), machine: testMachine)
        #expect(tiny.chunk(items: 100_000, workers: 2, overhead: 0.5e-6) == 25)
        #expect(tiny.chunk(items: 40, workers: 2, overhead: 0.5e-6) == 5)
    }

    @Test("without a machine profile the advisor says which costs it assumed")
    func withoutMachine() throws {
        let profile = try quickProfile(PureCPU.self, count: 2)
        let advice = Advisor().recommend(profile, items: 10)
        if MachineCalibration().cachedProfile() == nil {
            #expect(advice.warnings.first?.text.contains("no machine calibration") == true)
        } else {
            #expect(!advice.warnings.contains { $0.text.contains("no machine calibration") })
        }
    }

    @Test("a user's rules file is loaded and checked against the advisor's facts")
    func userRules() throws {
        let path = NSTemporaryDirectory() + "advisor-rules-\(getpid()).rules"
        try "rule always when true then processes workers = cores * 2\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let rules = try Advisor.loadRules(contentsOf: path)
        let advice = Advisor(rules: rules, machine: testMachine).recommend(try quickProfile(TinyTask.self), items: 100)
        #expect(advice.mode == .processes)
        #expect(advice.workers == 4)
        #expect(throws: RuleLoadingError.self) { try Advisor.loadRules(contentsOf: path + ".missing") }
        try "rule a when corez > 1 then serial\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: RuleFileError.self) { try Advisor.loadRules(contentsOf: path) }
    }

    @Test("rules of another vocabulary that decide no mode run serially, with a warning that says why")
    func decisionThatIsNoMode() throws {
        let actions = ActionSchema([ActionDefinition("launch", parameters: [.number("rockets")])])
        let rules = try RuleSet(
            source: "rule go when true then launch rockets = 3\n", schema: AdvisorFacts.schema, actions: actions)
        let advice = Advisor(rules: rules, machine: testMachine).recommend(try quickProfile(TinyTask.self), items: 100)
        #expect(advice.mode == .serial)
        #expect(advice.decidingRule?.action == "launch")
        let warning = try #require(advice.warnings.first)
        #expect(warning.text.hasPrefix("rule 'go' decided 'launch', which is not a mode"), "\(warning.text)")
    }
}

struct CrashProneTask: PoolTask {
    static let traits: TaskTraits = [.crashProne, .notThreadSafe]
    static func run(_ input: Int) -> Int { input }
}
