import Foundation
import PoolExecutors
import PoolProfiler
import Testing

/// Waits 2 ms, the first stage of the staged tasks below.
struct NapFetch: PoolTask {
    static var isIdempotent: Bool { true }
    static func run(_ input: Int) -> Int {
        Thread.sleep(forTimeInterval: 0.002)
        return input
    }
}

/// Computes about a millisecond on its input: a pure function.
struct ChurnCompute: PoolTask {
    static var isIdempotent: Bool { true }
    static func run(_ input: Int) -> Int {
        var value = UInt64(truncatingIfNeeded: input) | 1
        for _ in 0..<400_000 { value = value &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
        return Int(truncatingIfNeeded: value >> 1)
    }
}

/// The same computation, declared not idempotent: it may not be called again on an input.
struct ChurnComputeOnce: PoolTask {
    static func run(_ input: Int) -> Int { ChurnCompute.run(input) }
}

/// A compute stage that fails on every fetched value.
struct ChurnComputeThrows: PoolTask {
    static var isIdempotent: Bool { true }
    static func run(_ input: Int) throws -> Int { throw NoThrees(value: input) }
}

/// Waits, then computes: mostly waiting, with two idempotent stages.
struct NapThenChurn: StagedTask {
    static var isIdempotent: Bool { true }
    typealias Fetch = NapFetch
    typealias Compute = ChurnCompute
}

/// As ``NapThenChurn``, its compute stage not idempotent.
struct NapThenChurnOnce: StagedTask {
    static var isIdempotent: Bool { true }
    typealias Fetch = NapFetch
    typealias Compute = ChurnComputeOnce
}

/// The same waiting without stages: the profiler has no computing part to measure alone.
struct NapAndChurn: PoolTask {
    static var isIdempotent: Bool { true }
    static func run(_ input: Int) -> Int { ChurnCompute.run(NapFetch.run(input)) }
}

/// The whole task works; its compute stage alone throws (a stage that needs the other's state).
struct NapThenBrokenChurn: StagedTask {
    static var isIdempotent: Bool { true }
    typealias Fetch = NapFetch
    typealias Compute = ChurnComputeThrows
    static func run(_ input: Int) -> Int { ChurnCompute.run(NapFetch.run(input)) }
}

/// The thread-scaling test of a staged task's compute stage: when it runs, what it reports, and
/// when it must not run. Only the presence of figures and notes is asserted, never their values
/// (the host may be busy with other suites).
@Suite("Compute stage scaling", .enabled(if: Machine.usableCores >= 2, "needs two cores to scale onto"))
struct ComputeStageTests {
    func options(repeats: Bool = true) -> ProfilerOptions {
        var options = ProfilerOptions()
        options.minimumCalls = 5
        options.minimumSeconds = 0.2
        options.maximumSeconds = 2
        options.samplingHertz = 0
        options.repeatsIdempotentInputs = repeats
        // Fixed: other suites' workers beside this one must not make it test twice the cores.
        options.scalingThreads = min(Machine.usableCores, 4)
        // Every task here counts as mostly waiting, however fast this host runs the loop.
        options.scalingMinimumCPURatio = 2
        // And its computing part always matters: the stage is measured whatever share of the
        // call this host's loop takes (below the lowest `cpu_ratio` threshold it would not be;
        // on this machine the share sits near 0.3, on either side from run to run).
        options.thresholds["cpu_ratio"] = [0.01]
        return options
    }

    func profile<Task: PoolTask>(_ task: Task.Type, repeats: Bool = true) throws -> TaskProfile
    where Task.Input == Int {
        try Profiler(options: options(repeats: repeats)).profile(task, sample: Array(1...12))
    }

    @Test("a mostly waiting staged task has its compute stage scaling-tested alone, and says so")
    func measuresTheComputeStage() throws {
        let measured = try profile(NapThenChurn.self)
        let scaling = try #require(measured.scaling, "\(measured.scalingSkippedReason ?? "")")
        #expect(scaling.threads == min(Machine.usableCores, 4))
        #expect(!scaling.rounds.isEmpty)
        #expect(measured.scalingSkippedReason == nil)
        #expect(measured.notes.contains { $0.contains("compute stage alone") }, "\(measured.notes)")
        // The process-scaling test would run the whole task: not against the stage's figure.
        #expect(scaling.processSpeedup == nil)
    }

    @Test("without stages, with inputs called once, or with a compute stage that may not repeat: not measured")
    func notMeasured() throws {
        for (name, measured) in [
            ("no stages", try profile(NapAndChurn.self)),
            ("inputs once", try profile(NapThenChurn.self, repeats: false)),
            ("compute not idempotent", try profile(NapThenChurnOnce.self)),
        ] {
            #expect(measured.scaling == nil, "\(name)")
            #expect(measured.scalingSkippedReason?.contains("waits overlap on threads") == true, "\(name)")
        }
    }

    @Test("a compute stage that fails on the fetched values gives no figure and a note, not a failed profile")
    func failingStage() throws {
        let measured = try profile(NapThenBrokenChurn.self)
        #expect(measured.scaling == nil)
        #expect(measured.failures.isEmpty)
        #expect(measured.notes.contains { $0.contains("stage threw") }, "\(measured.notes)")
        #expect(measured.scalingSkippedReason != nil)
    }
}
