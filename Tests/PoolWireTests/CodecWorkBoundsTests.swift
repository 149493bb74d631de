import PoolWire
import Testing

/// The work and memory crafted inputs can cause, checked through the decoder's own counters
/// (``WireDecodeCost``) rather than clocks, so the bounds hold on a busy machine.
@Suite struct CodecWorkBoundsTests {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
        return bytes
    }

    static func fixed(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }

    @Test func aVarintOfTwoToTheSixtyThirdIsAnErrorNotATrap() throws {
        // The count 2^63 once trapped converting to Int ("Not enough bits to represent").
        let bytes: [UInt8] = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]
        let error = try #require(throws: WireError.self) { try WireDecoder().decode([String: Int].self, from: bytes) }
        #expect(error.kind == .lengthOutOfRange)
        #expect(error.offset == 0)
        #expect(throws: WireError.self) { try WireDecoder().decode([Empty: Empty].self, from: bytes) }
        #expect(throws: WireError.self) { try WireDecoder().decode(String.self, from: bytes) }
        #expect(throws: WireError.self) { try WireDecoder().decode([UInt8].self, from: bytes) }
        #expect(throws: WireError.self) { try WireDecoder().decode([Double].self, from: bytes) }
    }

    @Test func aHugeDictionaryClaimReservesASmallMultipleOfTheInput() throws {
        // 1 MiB claiming as many entries as it has bytes (the most the decoder admits), then zeros:
        // this reserved 48 times the input before.
        let size = 1 << 20
        var bytes = Self.varint(UInt64(size - 3))
        bytes += [UInt8](repeating: 0, count: size - bytes.count)
        let (result, cost) = WireDecoder().decodeMeasuringCost([String: Int].self, from: bytes)
        #expect(throws: WireError.self) { try result.get() }
        #expect(cost.reservedBytes > 0)
        #expect(cost.reservedBytes <= 4 * size)

        // A claim beyond what the message may hold is refused before anything is reserved.
        let claim = Self.varint(1 << 40) + [UInt8](repeating: 0, count: 1_000)
        let (refused, refusedCost) = WireDecoder().decodeMeasuringCost([String: Int].self, from: claim)
        let error = try #require(throws: WireError.self) { try refused.get() }
        #expect(error.kind == .lengthOutOfRange)
        #expect(refusedCost.reservedBytes == 0)
    }

    @Test func aHugeListOfStructsReservesASmallMultipleOfTheInput() throws {
        // 64 KiB claiming as many 32-byte records as it has bytes, then zeros that end mid-record.
        let size = 1 << 16
        let bytes = Self.fixed(UInt32(size - 4)) + [UInt8](repeating: 0, count: size - 4)
        let (result, cost) = WireDecoder().decodeMeasuringCost([Record].self, from: bytes)
        let error = try #require(throws: WireError.self) { try result.get() }
        #expect(error.kind == .truncated || error.kind == .lengthOutOfRange, "\(error)")
        #expect(cost.reservedBytes > 0)
        #expect(cost.reservedBytes <= 2 * size)

        // A claim beyond what the message may hold is refused before anything is reserved.
        let claim = Self.fixed(UInt32.max) + [UInt8](repeating: 0, count: 1_000)
        let (refused, refusedCost) = WireDecoder().decodeMeasuringCost([Record].self, from: claim)
        #expect(try #require(throws: WireError.self) { try refused.get() }.kind == .lengthOutOfRange)
        #expect(refusedCost.reservedBytes == 0)
    }

    @Test func nestedListsShareOneReservationAllowance() throws {
        // 1 KiB of nothing but 4-byte counts down a `children: [Tree]` chain, each claiming as
        // many trees as a quarter of the bytes after it: each list alone may reserve twice the
        // input left, and 256 of them nested once reserved 256 times the input.
        let size = 1 << 10
        var bytes: [UInt8] = []
        while bytes.count < size { bytes += Self.fixed(UInt32((size - bytes.count - 4) / 4)) }
        let (result, cost) = WireDecoder().decodeMeasuringCost(Tree.self, from: bytes)
        #expect(throws: WireError.self) { try result.get() }
        #expect(cost.reservedBytes <= 2 * size, "reserved \(cost.reservedBytes) bytes for \(size) of input")
        // Genuine trees still decode.
        let tree = Tree(children: [Tree(children: []), Tree(children: [Tree(children: [])])])
        #expect(try WireDecoder().decode(Tree.self, from: try WireEncoder().encode(tree)) == tree)
    }

    struct Tree: Codable, Equatable {
        var children: [Tree]
    }

    struct Record: Codable, Equatable {
        var id: Int
        var weight: Double
        var label: String
    }

    @Test func nestedEmptyListsCostWorkLinearInTheInput() throws {
        // 64 KiB of [[Empty]] whose every inner list claims as many empties as the old per-list
        // limit (the bytes after it + 4096) allowed: that was a quadratic 4×10⁸ decodes.
        let lists = 16_383
        var greedy = Self.fixed(UInt32(lists))
        for index in 0..<lists { greedy += Self.fixed(UInt32((lists - index - 1) * 4 + 4_096)) }
        let decoder = WireDecoder()
        let (greedyResult, greedyCost) = decoder.decodeMeasuringCost([[Empty]].self, from: greedy)
        let error = try #require(throws: WireError.self) { try greedyResult.get() }
        #expect(error.kind == .lengthOutOfRange)
        #expect(error.description.contains("emptyElementAllowance"))
        #expect(greedyCost.elements <= greedy.count + decoder.emptyElementAllowance)

        // The most work the same length can buy: inner lists sharing the whole budget, accepted.
        let budget = 65_536 + decoder.emptyElementAllowance - lists
        var spread = Self.fixed(UInt32(lists))
        for index in 0..<lists { spread += Self.fixed(UInt32(budget / lists + (index < budget % lists ? 1 : 0))) }
        let (spreadResult, spreadCost) = decoder.decodeMeasuringCost([[Empty]].self, from: spread)
        let decoded = try spreadResult.get()
        #expect(decoded.reduce(0) { $0 + $1.count } == budget)
        #expect(spreadCost.elements == spread.count + decoder.emptyElementAllowance)
    }

    @Test func genuineEmptyElementsPassWithinTheAllowanceAndItCanBeRaised() throws {
        let within = [[Empty]](repeating: [Empty](repeating: Empty(), count: 100), count: 100)
        #expect(try WireDecoder().decode([[Empty]].self, from: try WireEncoder().encode(within)) == within)

        let beyond = [[Empty]](repeating: [Empty](repeating: Empty(), count: 10_000), count: 10)
        let bytes = try WireEncoder().encode(beyond)
        let error = try #require(throws: WireError.self) { try WireDecoder().decode([[Empty]].self, from: bytes) }
        #expect(error.kind == .lengthOutOfRange)
        #expect(error.description.contains("raise WireDecoder's emptyElementAllowance"))
        let raised = WireDecoder(emptyElementAllowance: 100_000)
        #expect(try raised.decode([[Empty]].self, from: bytes) == beyond)
    }

    @Test func deeplyNestedRecursiveValuesAreAnErrorNotAStackOverflow() throws {
        let point = try WireEncoder().encode(Shape.point)
        let level = Array(try WireEncoder().encode(Shape.labelled("", .point)).dropLast(point.count))
        func nested(_ depth: Int) -> [UInt8] { Array([[UInt8]](repeating: level, count: depth).joined()) + point }
        // 10 000 levels in 110 kB overflowed the stack (SIGSEGV) before.
        let error = try #require(throws: WireError.self) { try WireDecoder().decode(Shape.self, from: nested(10_000)) }
        #expect(error.kind == .nestedTooDeep)
        #expect(error.description.contains("raise WireDecoder's maximumDepth"))
        #expect(error.description.contains("more) …"))
        #expect(error.description.count < 1_000)
        #expect(throws: Never.self) { try WireDecoder().decode(Shape.self, from: nested(100)) }
        #expect(throws: WireError.self) { try WireDecoder(maximumDepth: 50).decode(Shape.self, from: nested(100)) }
    }

    @Test func trivialArraysAndBytesReserveExactlyWhatTheyCopy() throws {
        let doubles = (0..<1_000).map(Double.init)
        let bytes = try WireEncoder().encode(doubles)
        let (result, cost) = WireDecoder().decodeMeasuringCost([Double].self, from: bytes)
        #expect(try result.get() == doubles)
        #expect(cost.reservedBytes <= bytes.count)
        #expect(cost.reservedBytes >= 8 * doubles.count)
    }
}
