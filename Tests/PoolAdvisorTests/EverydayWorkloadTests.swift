import Foundation
import PoolAdvisor
import Testing

/// Positional bytes of `values`: unlike JSON's, they do not depend on a key order that may change
/// from one encoding to the next.
private func wireBytes<Value: Encodable>(_ values: [Value]) throws -> [UInt8] { try WireEncoder().encode(values) }

/// The everyday reference workloads: inputs that are deterministic, cross the wire intact and
/// refuse hostile sizes; outputs that are the same serially, on threads and in worker
/// processes (the `pool-advisor-test-tool` workers register them through the CLI's task list);
/// and a phase change that the inputs themselves carry. Nothing here is timed.
@Suite("Everyday reference workloads", .timeLimit(.minutes(10)))
struct EverydayWorkloadTests {
    static let names = ["json-coding", "text-words", "sort-array", "memory-scan", "phase-change"]

    @Test("the catalogue lists the everyday workloads, and their tasks are registered for workers")
    func catalogued() {
        let taskNames = Set(ReferenceWorkloads.tasks.map { $0.name })
        for name in Self.names {
            let workload = ReferenceWorkloads.named(name)
            #expect(workload != nil, "\(name) is not in ReferenceWorkloads.all")
            if let workload { #expect(taskNames.contains(workload.name), "\(name) is not in ReferenceWorkloads.tasks") }
        }
    }

    @Test("inputs are deterministic, distinct and round-trip through the wire codec", arguments: names)
    func inputsRoundTrip(_ name: String) throws {
        let workload = try #require(ReferenceWorkloads.named(name))
        try checkInputs(workload)
    }

    private func checkInputs<Workload: ReferenceWorkload>(_ workload: Workload.Type) throws {
        let first = Workload.inputs(count: 16)
        let second = Workload.inputs(count: 16)
        #expect(first.count == 16)
        #expect(try wireBytes(first) == wireBytes(second), "two calls gave different inputs")
        let bytes = try WireEncoder().encode(first)
        let decoded = try WireDecoder().decode([Workload.Input].self, from: bytes)
        #expect(try wireBytes(decoded) == wireBytes(first), "the wire codec changed the inputs")
        // Distinct seeds: a pool that ran one input sixteen times would not go unnoticed.
        let distinct = Set(try first.map { try WireEncoder().encode($0) })
        #expect(distinct.count == 16, "only \(distinct.count) distinct inputs")
        #expect(Workload.inputs(count: 0).isEmpty)
    }

    /// The wire format is positional, so a struct of the same field types encodes exactly as the
    /// real input would: here with values no honest caller sends.
    struct RawSeeded: Codable {
        var seed: UInt64
        var size: Int
    }

    struct RawPhase: Codable {
        var seed: UInt64
        var iterations: Int
        var serialised: Bool
    }

    @Test("a negative or huge size decodes to an error that names the field, never a trap")
    func hostileSizes() throws {
        for size in [-1, Int.min, SeededWork.limit + 1, Int.max] {
            let bytes = try WireEncoder().encode(RawSeeded(seed: 7, size: size))
            #expect(throws: (any Error).self, "size \(size)") { try WireDecoder().decode(SeededWork.self, from: bytes) }
            let json = try JSONEncoder().encode(RawSeeded(seed: 7, size: size))
            do {
                _ = try JSONDecoder().decode(SeededWork.self, from: json)
                Issue.record("size \(size) decoded")
            } catch let DecodingError.dataCorrupted(context) {
                #expect(context.debugDescription.contains("size must be between 0 and"), "\(context.debugDescription)")
                #expect(context.codingPath.last?.stringValue == "size")
            }
        }
        for iterations in [-5, PhaseWork.maximumIterations + 1] {
            let bytes = try WireEncoder().encode(RawPhase(seed: 1, iterations: iterations, serialised: true))
            #expect(throws: (any Error).self, "iterations \(iterations)") {
                try WireDecoder().decode(PhaseWork.self, from: bytes)
            }
        }
        // The bounds themselves are accepted.
        let largest = try WireEncoder().encode(RawSeeded(seed: 7, size: SeededWork.limit))
        #expect(try WireDecoder().decode(SeededWork.self, from: largest).size == SeededWork.limit)
    }

    @Test("disk-fsync refuses a negative or huge block with an error that says the bound, never a trap")
    func hostileDiskBlocks() throws {
        for bytes in [-1, Int.min, (64 << 20) + 1, Int.max] {
            do {
                _ = try DiskSync.run(bytes)
                Issue.record("a block of \(bytes) bytes was written")
            } catch let error as WorkloadError {
                #expect("\(error)".contains("invalid input"), "\(error)")
            }
        }
        // A small block is written and synced four times.
        #expect(try DiskSync.run(512) == 2048)
    }

    @Test("a size made in code is clamped before anything is allocated")
    func clampedInCode() throws {
        #expect(try SortArray.run(SeededWork(seed: 3, size: -10)) == SortArray.run(SeededWork(seed: 3, size: 0)))
        #expect(TextWords.run(SeededWork(seed: 3, size: -1)).words == 0)
        #expect(try JSONCoding.run(SeededWork(seed: 3, size: -1)) == JSONCoding.run(SeededWork(seed: 3, size: 0)))
        let value = PhaseChange.run(PhaseWork(seed: 3, iterations: -4, serialised: false)).value
        #expect(value == churn(3, iterations: 0))
    }

    @Test("serial, ThreadPool and ProcessPool give the same outputs", arguments: names)
    func sameEverywhere(_ name: String) throws {
        let workload = try #require(ReferenceWorkloads.named(name))
        try checkPools(workload)
    }

    private func checkPools<Workload: ReferenceWorkload>(_ workload: Workload.Type) throws {
        let inputs = Workload.inputs(count: 12)
        let serial = try inputs.map { try Workload.run($0) }
        let threads = ThreadPool(workers: 3, name: "everyday")
        defer { threads.shutdown() }
        let onThreads = try threads.map(inputs, chunkSize: 2) { try Workload.run($0) }
        let processes = try ProcessPool(configuration: advisorWorkers)
        defer { processes.shutdown() }
        let inProcesses = try processes.map(Workload.self, inputs, chunkSize: 3)
        #expect(try wireBytes(onThreads) == wireBytes(serial), "threads")
        #expect(try wireBytes(inProcesses) == wireBytes(serial), "processes")
        // A second run in the same process gives the same again (no state leaks between calls).
        #expect(try wireBytes(inputs.map { try Workload.run($0) }) == wireBytes(serial), "second serial run")
    }

    @Test("phase-change: the first quarter of the inputs run freely, the rest under the lock")
    func phaseChange() throws {
        let inputs = PhaseChange.inputs(count: 20)
        #expect(inputs.map(\.serialised) == Array(repeating: false, count: 5) + Array(repeating: true, count: 15))
        #expect(PhaseChange.inputs(count: 1).map(\.serialised) == [false])
        #expect(PhaseChange.inputs(count: 4).map(\.serialised) == [false, true, true, true])
        // The phase survives the wire, and each call reports the phase it ran in.
        let wire = try WireDecoder().decode([PhaseWork].self, from: WireEncoder().encode(inputs))
        #expect(wire.map(\.serialised) == inputs.map(\.serialised))
        let processes = try ProcessPool(configuration: advisorWorkers)
        defer { processes.shutdown() }
        let outcomes = try processes.map(PhaseChange.self, inputs, chunkSize: 4)
        #expect(outcomes.map(\.serialised) == inputs.map(\.serialised))
        // The lock changes how calls run, not what they compute.
        for input in inputs.suffix(3) {
            var free = input
            free.serialised = false
            #expect(PhaseChange.run(input).value == PhaseChange.run(free).value)
            #expect(PhaseChange.run(input).value == churn(input.seed, iterations: input.iterations))
        }
    }

    @Test("large-payload's size knob: arguments of any size, few distinct contents shared copy-on-write")
    func largePayloadKnob() {
        let inputs = LargePayload.inputs(count: 5, bytes: 1_000, distinct: 2)
        #expect(inputs.map(\.count) == Array(repeating: 1_000, count: 5))
        #expect(inputs[0] == inputs[2] && inputs[0] == inputs[4] && inputs[1] == inputs[3])
        #expect(inputs[0] != inputs[1])
        // The default inputs are the same stream, only longer.
        #expect(Array(LargePayload.inputs(count: 1)[0].prefix(1_000)) == inputs[0])
        #expect(LargePayload.inputs(count: 0, bytes: 1_000, distinct: 4).isEmpty)
        #expect(LargePayload.inputs(count: 2, bytes: -3, distinct: 1).map(\.count) == [0, 0])
    }
}
