import Foundation
import PoolExecutors
import PoolProfiler
import Testing

/// Pure, so declared idempotent: the profiler may call an input more than once.
struct Doubler: PoolTask {
    static var isIdempotent: Bool { true }
    static func run(_ input: Int) -> Int { input * 2 }
}

struct NoThrees: Error, CustomStringConvertible {
    let value: Int
    var description: String { "no multiples of three, got \(value)" }
}

/// Throws for multiples of three.
struct Picky: PoolTask {
    static func run(_ input: Int) throws -> Int {
        if input % 3 == 0 { throw NoThrees(value: input) }
        return input
    }
}

struct AlwaysThrows: PoolTask {
    static func run(_ input: Int) throws -> Int { throw NoThrees(value: input) }
}

/// A short serial-only profile: these tests are about what the profile holds, not timing.
func quickOptions(sampling: Bool = true) -> ProfilerOptions {
    var options = ProfilerOptions()
    options.minimumCalls = 5
    options.minimumSeconds = 0.05
    options.maximumSeconds = 1
    options.samplingHertz = sampling ? 1000 : 0
    options.scalingMinimumCPURatio = 2
    options.scalesComputeStage = false
    return options
}

@Suite struct ProfilerBehaviourTests {
    @Test func profilingOutputsAreReturnedByInputIndex() throws {
        let run = try Profiler(options: quickOptions()).measure(Doubler.self, sample: Array(0..<10))
        for index in 0..<10 { #expect(try run.output(at: index) == index * 2) }
        #expect(run.profile.calls.calls >= 10)
        #expect(run.profile.failures.isEmpty)
        #expect(run.profile.task == Doubler.name)
    }

    // The limit catches a hang, not slowness: a test's time counts from when it was queued, and
    // with the whole suite on two busy cores this one, a fraction of a second alone, once
    // waited 96 s for a thread (every limit in the suites is 10 minutes for that reason).
    @Test(
        "budgets and sampling rates of NaN, ±infinity, 10³⁰⁰ or below zero give a profile: never a trap, never a hang",
        .timeLimit(.minutes(10)))
    func hostileOptionNumbers() throws {
        let odd: [Double] = [.nan, -.infinity, -1, 0, 1e-300, 1e300, .infinity]
        for value in odd {
            var options = quickOptions()
            options.maximumSeconds = value
            options.minimumSeconds = value > 1 ? 0.05 : value
            options.samplingHertz = value
            // Repeats off: the sample, called once each, bounds the profile whatever the budget.
            options.repeatsIdempotentInputs = false
            let run = try Profiler(options: options).measure(Doubler.self, sample: Array(0..<12))
            #expect(run.profile.calls.calls >= 1, "budget \(value)")
            for index in 0..<12 where run.outputs[index] != nil { #expect(try run.output(at: index) == index * 2) }
        }
    }

    @Test func aTaskThatThrowsSometimesIsReported() throws {
        let run = try Profiler(options: quickOptions()).measure(Picky.self, sample: Array(0..<7))
        let indexes = Set(run.profile.failures.map(\.inputIndex))
        #expect(indexes == [0, 3, 6])
        let failure = try #require(run.profile.failures.first { $0.inputIndex == 3 })
        #expect(failure.message == "no multiples of three, got 3")
        #expect(failure.errorType.hasSuffix("NoThrees"))
        #expect(throws: NoThrees.self) { try run.output(at: 3) }
        #expect(try run.output(at: 4) == 4)
    }

    @Test func aTaskThatAlwaysThrowsFailsTheProfile() throws {
        #expect {
            try Profiler(options: quickOptions()).profile(AlwaysThrows.self, sample: [1, 2, 3])
        } throws: { error in
            guard case .everyCallFailed(let task, _, let first) = error as? ProfilerError else { return false }
            return task == AlwaysThrows.name && first.message.hasPrefix("no multiples of three")
                && "\(error)".contains("threw")
        }
        #expect(throws: ProfilerError.emptySample(task: Doubler.name)) {
            try Profiler().profile(Doubler.self, sample: [])
        }
    }

    @Test func profileJSONRoundTrips() throws {
        let profile = try Profiler(options: quickOptions()).profile(Doubler.self, sample: Array(0..<4))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let encoded = try encoder.encode(profile)
        let decoded = try JSONDecoder().decode(TaskProfile.self, from: encoded)
        #expect(try encoder.encode(decoded) == encoded)
        #expect(decoded.calls.calls == profile.calls.calls)
        #expect(decoded.figures.map(\.name) == ["cpu_ratio"])
        let text = String(decoding: encoded, as: UTF8.self)
        for field in ["wallSecondsPerCall", "inputBytes", "shippingToComputeRatio", "profilingSeconds"] {
            #expect(text.contains("\"\(field)\""))
        }
    }

    @Test func withoutSamplingTheProfileSaysWaitsAreUnclassified() throws {
        let profile = try Profiler(options: quickOptions(sampling: false)).profile(Doubler.self, sample: [1, 2])
        #expect(profile.waits == nil)
        #expect(profile.notes.contains { $0.contains("waits are not classified") })
        #expect(profile.calls.cpuRatio.observations >= 5)
    }

    @Test func payloadIsMeasuredWithTheWireCodec() throws {
        struct Blob: PoolTask {
            static func run(_ input: [UInt8]) -> Int { input.count }
        }
        let blob = [UInt8](repeating: 7, count: 100_000)
        let profile = try Profiler(options: quickOptions()).profile(Blob.self, sample: [blob])
        // 100 000 bytes and a varint length; the output is one 8-byte Int.
        #expect(profile.payload.inputBytes >= 100_000 && profile.payload.inputBytes < 100_010)
        #expect(profile.payload.outputBytes == 8)
        #expect(profile.payload.codecSecondsPerCall > 0)
        #expect(!profile.payload.includesTransfer)
    }

    @Test func asyncProfileRunsOffTheCooperativePool() async throws {
        let run = try await Profiler(options: quickOptions()).measure(Doubler.self, sample: [5])
        #expect(try run.output(at: 0) == 10)
    }
}
