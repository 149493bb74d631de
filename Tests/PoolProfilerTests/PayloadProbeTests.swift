import Dispatch
import Synchronization
import Testing

@testable import PoolExecutors
@testable import PoolProfiler

/// Counts how often values holding it were encoded.
final class EncodeCounter: Sendable {
    let count = Atomic<Int>(0)
}

/// Bytes whose `encode(to:)` counts itself (a decoded copy counts nothing).
struct CountedBytes: Codable, Sendable {
    var bytes: [UInt8]
    var counter: EncodeCounter?

    init(size: Int, counter: EncodeCounter) {
        bytes = [UInt8](repeating: 7, count: size)
        self.counter = counter
    }

    init(from decoder: any Decoder) throws {
        bytes = try decoder.singleValueContainer().decode([UInt8].self)
        counter = nil
    }

    func encode(to encoder: any Encoder) throws {
        counter?.count.add(1, ordering: .relaxed)
        var container = encoder.singleValueContainer()
        try container.encode(bytes)
    }
}

/// Bytes whose decodes are counted, for the one test that reads the count.
struct DecodeCountedBytes: Codable, Sendable {
    static let decodes = Atomic<Int>(0)
    var bytes: [UInt8]

    init(size: Int) { bytes = [UInt8](repeating: 3, count: size) }

    init(from decoder: any Decoder) throws {
        Self.decodes.add(1, ordering: .relaxed)
        bytes = try decoder.singleValueContainer().decode([UInt8].self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(bytes)
    }
}

/// Plain bytes in, counted bytes out: only the outputs' decodes are counted.
struct DecodeCountedTask: PoolTask {
    static let name = "tests.decode-counted-bytes"
    static func run(_ input: [UInt8]) -> DecodeCountedBytes { DecodeCountedBytes(size: input.count) }
}

struct CountedBytesTask: PoolTask {
    static let name = "tests.counted-bytes"
    static func run(_ input: CountedBytes) -> CountedBytes { input }
}

struct BlockTask: PoolTask {
    static let name = "tests.block-values"
    static func run(_ input: [UInt8]) -> [Double] { [Double(input.count)] }
}

/// The payload phase: sized by bytes, bounded by its budget. Counts encodes, never times.
@Suite struct PayloadProbeTests {
    @Test("a large value is encoded twice at most (once warm, once timed), however generous the budget")
    func largeValuesAreCodedOnce() {
        let counters = (0..<8).map { _ in EncodeCounter() }
        let inputs = counters.map { CountedBytes(size: 256 * 1024, counter: $0) }
        let output = EncodeCounter()
        let payload = PayloadProbe.measure(
            CountedBytesTask.self, inputs: inputs, outputs: [CountedBytes(size: 200_000, counter: output)],
            cpuSecondsPerCall: 0.001, machine: nil, budgetSeconds: 600)
        // One round to warm up, one timed; none is repeated beyond that.
        #expect(counters.map { $0.count.load(ordering: .relaxed) } == Array(repeating: 2, count: 8))
        #expect(output.count.load(ordering: .relaxed) == 2)
        #expect(payload.estimatedValues == nil && payload.coldTimedValues == nil)
        #expect(payload.inputBytes >= 256 * 1024)
        #expect(payload.outputBytes >= 200_000)
        #expect(payload.codecSecondsPerCall > 0)
    }

    @Test("a spent budget codes one input and one output, and estimates the rest from them")
    func spentBudgetStopsTakingValues() {
        let inputCounter = EncodeCounter()
        let outputCounter = EncodeCounter()
        // The first input is the smallest: the estimate must come from it alone.
        let inputs = (0..<8).map { CountedBytes(size: 16 + 1000 * $0, counter: inputCounter) }
        let outputs = (0..<8).map { _ in CountedBytes(size: 100_000, counter: outputCounter) }
        let payload = PayloadProbe.measure(
            CountedBytesTask.self, inputs: inputs, outputs: outputs, cpuSecondsPerCall: 0.001, machine: nil,
            budgetSeconds: 0)
        // Each kind's first value: the small input coded once cold (untimed), once timed; the
        // large output once only, cold, its time an upper bound (the budget held no second round).
        #expect(inputCounter.count.load(ordering: .relaxed) == 2)
        #expect(outputCounter.count.load(ordering: .relaxed) == 1)
        #expect(payload.estimatedValues == 14)
        #expect(payload.coldTimedValues == 1)
        #expect(payload.inputBytes < 100)
        #expect(payload.outputBytes >= 100_000)
        #expect(payload.codecSecondsPerCall > 0)
        let notes = PayloadProbe.budgetNotes(payload)
        #expect(notes.count == 2)
        #expect(notes.first?.contains("14 sampled value(s)") == true)
        #expect(notes.last?.contains("1 large value(s) were coded once, cold") == true)
    }

    @Test("a large value encoded past the budget is not decoded: its decode counts at the encode's time")
    func largeValuePastBudgetIsNotDecoded() {
        let before = DecodeCountedBytes.decodes.load(ordering: .relaxed)
        let spent = PayloadProbe.measure(
            DecodeCountedTask.self, inputs: [[1, 2, 3]], outputs: [DecodeCountedBytes(size: 1 << 20)],
            cpuSecondsPerCall: 0.001, machine: nil, budgetSeconds: 0)
        let afterSpent = DecodeCountedBytes.decodes.load(ordering: .relaxed)
        // Encoded once, past a budget of nothing, and never decoded; timed all the same.
        #expect(afterSpent == before)
        #expect(spent.coldTimedValues == 1)
        #expect(spent.outputBytes >= Double(1 << 20) && spent.codecSecondsPerCall > 0)
        // With room, the same output is decoded twice: cold, then timed.
        let roomy = PayloadProbe.measure(
            DecodeCountedTask.self, inputs: [[1, 2, 3]], outputs: [DecodeCountedBytes(size: 1 << 20)],
            cpuSecondsPerCall: 0.001, machine: nil, budgetSeconds: 600)
        #expect(DecodeCountedBytes.decodes.load(ordering: .relaxed) - afterSpent == 2)
        #expect(roomy.coldTimedValues == nil)
    }

    @Test("with a machine profile, large block values are priced from their size, never coded; other values are coded")
    func largeBlocksArePricedBySize() {
        let machine = MachineProfile.typical(cores: 2)
        let argument = [UInt8](repeating: 5, count: 1 << 20)
        let priced = PayloadProbe.measure(
            BlockTask.self, inputs: [argument, argument], outputs: [[Double](repeating: 1, count: 100_000)],
            cpuSecondsPerCall: 0.001, machine: machine, budgetSeconds: 600)
        // Sizes exact, no codec time: the transfer's calibrated rate carries the copies.
        #expect(priced.sizedValues == 3)
        #expect(priced.inputBytes == Double(1 << 20 + 3))
        #expect(priced.outputBytes == Double(800_000 + 3))
        #expect(priced.codecSecondsPerCall == 0)
        let transfer =
            machine.transferSeconds(bytes: priced.inputBytes) + machine.transferSeconds(bytes: priced.outputBytes)
        #expect(priced.transferSecondsPerCall == transfer && priced.shippingSecondsPerCall == transfer)
        #expect(PayloadProbe.budgetNotes(priced).contains { $0.contains("3 large value(s) are one block of memory") })
        // Without a machine no rate covers the copies: they are coded and timed.
        let coded = PayloadProbe.measure(
            BlockTask.self, inputs: [argument], outputs: [[1.0]], cpuSecondsPerCall: 0.001, machine: nil,
            budgetSeconds: 600)
        #expect(coded.sizedValues == nil && coded.codecSecondsPerCall > 0)
        // A struct holding the bytes is more than one copy: coded even with a machine.
        let counter = EncodeCounter()
        let wrapped = PayloadProbe.measure(
            CountedBytesTask.self, inputs: [CountedBytes(size: 1 << 20, counter: counter)],
            outputs: [CountedBytes(size: 16, counter: EncodeCounter())], cpuSecondsPerCall: 0.001, machine: machine,
            budgetSeconds: 600)
        #expect(wrapped.sizedValues == nil && counter.count.load(ordering: .relaxed) == 2)
        // A small block value is timed: the calibrated rate is a large block's.
        let small = PayloadProbe.measure(
            BlockTask.self, inputs: [[1, 2, 3]], outputs: [[1.0]], cpuSecondsPerCall: 0.001, machine: machine,
            budgetSeconds: 600)
        #expect(small.sizedValues == nil && small.codecSecondsPerCall > 0)
    }

    @Test("a small value's cold first round never counts, though the budget is spent")
    func coldRoundIsNotTimed() {
        // The value's first encode waits 0.2 s at its gate, as a type's first use costs (a
        // hundred times its steady cost was seen); every round after it passes at once.
        let gate = EncodeGate()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { gate.open() }
        let payload = PayloadProbe.measure(
            FailsWhileInputsAreCoded.self, inputs: [GatedValue(gate: gate)], outputs: [0], cpuSecondsPerCall: 0.001,
            machine: nil, budgetSeconds: 0)
        #expect(gate.started.wait(timeout: .now()) == .success)
        #expect(payload.codecSecondsPerCall < 0.1, "\(payload.codecSecondsPerCall)")
    }

    @Test("the budget is 5 % of the maximum, never past the profile's deadline")
    func budgetIsAShareOfTheMaximum() {
        let second: Int64 = 1_000_000_000
        #expect(PayloadProbe.budget(maximumSeconds: 10, origin: 5 * second, now: 6 * second) == 0.5)
        #expect(abs(PayloadProbe.budget(maximumSeconds: 10, origin: 0, now: 9_800_000_000) - 0.2) < 1e-9)
        #expect(PayloadProbe.budget(maximumSeconds: 10, origin: 0, now: 11 * second) == 0)
        #expect(abs(PayloadProbe.budget(maximumSeconds: 1.5, origin: 0, now: 0) - 0.075) < 1e-12)
    }
}

/// Holds the encoding of every value that carries it until the test opens it.
final class EncodeGate: Sendable {
    let started = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    /// Encodes begun and not yet ended.
    let inFlight = Atomic<Int>(0)
    let startSeen = Atomic<Bool>(false)
    private let opened = Atomic<Bool>(false)

    func open() {
        if !opened.exchange(true, ordering: .relaxed) { release.signal() }
    }
}

/// A value whose `encode(to:)` waits at its ``EncodeGate`` (a decoded copy has none).
struct GatedValue: Codable, Sendable {
    var gate: EncodeGate?

    init(gate: EncodeGate) { self.gate = gate }

    init(from decoder: any Decoder) throws {
        _ = try decoder.singleValueContainer().decode(Int.self)
        gate = nil
    }

    func encode(to encoder: any Encoder) throws {
        if let gate {
            gate.inFlight.add(1, ordering: .relaxed)
            gate.started.signal()
            gate.release.wait()
            gate.release.signal()  // every later encode passes
            gate.inFlight.subtract(1, ordering: .relaxed)
        }
        var container = encoder.singleValueContainer()
        try container.encode(0)
    }
}

/// Fails every call, the first once the background coding of its inputs has begun.
struct FailsWhileInputsAreCoded: PoolTask {
    struct Failed: Error {}
    static let name = "tests.fails-while-inputs-are-coded"
    static func run(_ input: GatedValue) throws -> Int {
        if let gate = input.gate, !gate.startSeen.exchange(true, ordering: .relaxed) {
            _ = gate.started.wait(timeout: .now() + 30)
        }
        throw Failed()
    }
}

@Suite struct PayloadBackgroundThreadTests {
    @Test("coding stopped in the background leaves its remaining values to the payload phase, none lost or coded twice")
    func stoppedCodingLeavesTheRestToThePayloadPhase() {
        let counters = (0..<PayloadProbe.sampledValues).map { _ in EncodeCounter() }
        let values = counters.map { CountedBytes(size: 16, counter: $0) }
        // A budget of an hour: only the stop ends the background coding early.
        let background = PayloadProbe.BackgroundCoding(
            values, budgetSeconds: 3600, inBackground: true, pricesBlocks: false)
        var coding = background.finish()
        let codedInBackground = coding.measured
        // Values the background reached were coded (a cold round and a timed one at least);
        // the rest, none yet, and the payload phase takes them from there.
        for (index, counter) in counters.enumerated() {
            let encodes = counter.count.load(ordering: .relaxed)
            #expect(index < codedInBackground ? encodes >= 2 : encodes == 0, "value \(index): \(encodes)")
        }
        #expect(!coding.isDone || codedInBackground == values.count)
        while !coding.isDone { coding.codeNext(deadline: .max) }
        #expect(coding.measured == values.count && coding.unmeasured == 0)
        // None left out: every value was encoded (a cold round and a timed one at least).
        for counter in counters { #expect(counter.count.load(ordering: .relaxed) >= 2) }
        // finish() again returns the same coding at once (the thread is joined once).
        #expect(background.finish().measured == codedInBackground)
    }

    @Test("a profile that throws joins the thread coding its inputs: no coding outlives measure")
    func throwingProfileJoinsTheCodingThread() throws {
        guard Machine.usableCores >= 2 else { return }  // no background thread on one core
        let gate = EncodeGate()
        let returned = DispatchSemaphore(value: 0)
        // Opens the gate once measure has returned, or after a while if it waits for the
        // coding (as it must): then the join ends.
        DispatchQueue.global().async {
            _ = returned.wait(timeout: .now() + 2)
            gate.open()
        }
        var options = ProfilerOptions()
        options.minimumCalls = 3
        options.minimumSeconds = 0.01
        options.maximumSeconds = 2
        let sample = (0..<4).map { _ in GatedValue(gate: gate) }
        #expect(throws: ProfilerError.self) {
            _ = try Profiler(options: options).measure(FailsWhileInputsAreCoded.self, sample: sample)
        }
        let codingAtReturn = gate.inFlight.load(ordering: .relaxed)
        returned.signal()
        gate.open()
        #expect(codingAtReturn == 0, "measure returned while its payload thread was still coding an input")
    }

    @Test(
        "a profile with a machine prices its large block arguments by size, in the background coder too; without one it codes them"
    )
    func profilerPricesBlocksWithAMachine() throws {
        var options = ProfilerOptions()
        options.minimumCalls = 3
        options.minimumSeconds = 0.01
        options.maximumSeconds = 2
        let sample = (0..<4).map { [UInt8](repeating: UInt8($0), count: 256 * 1024) }
        let priced = try Profiler(options: options, machine: MachineProfile.typical(cores: 2))
            .profile(BlockTask.self, sample: sample)
        // Every sampled input is a block past 64 KiB: all sized, none coded.
        let sized = try #require(priced.payload.sizedValues)
        #expect(sized >= 1 && sized <= 4)
        #expect(priced.payload.inputBytes == Double(256 * 1024 + 3))
        #expect(priced.notes.contains { $0.contains("one block of memory") }, "\(priced.notes)")
        let coded = try Profiler(options: options).profile(BlockTask.self, sample: sample)
        #expect(coded.payload.sizedValues == nil && coded.payload.codecSecondsPerCall > 0)
    }
}
