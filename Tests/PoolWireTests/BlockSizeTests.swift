import Foundation
import PoolWire
import Testing

/// `WireEncoder.blockSize(of:)`: the size of a one-copy value without encoding it, which the
/// profiler prices large arguments by.
@Suite struct BlockSizeTests {
    @Test(
        "a trivial array's or a byte collection's block size is exactly what encoding writes",
        arguments: [0, 1, 127, 128, 16_383, 16_384, 1 << 20])
    func blockSizeMatchesTheEncoding(count: Int) throws {
        let encoder = WireEncoder()
        let bytes = [UInt8](repeating: 3, count: count)
        let doubles = [Double](repeating: 0.5, count: count)
        let halves = [Int32](repeating: -2, count: count)
        let data = Data(repeating: 9, count: count)
        #expect(WireEncoder.blockSize(of: bytes) == (try encoder.encode(bytes).count))
        #expect(WireEncoder.blockSize(of: doubles) == (try encoder.encode(doubles).count))
        #expect(WireEncoder.blockSize(of: halves) == (try encoder.encode(halves).count))
        #expect(WireEncoder.blockSize(of: data) == (try encoder.encode(data).count))
    }

    @Test("a value whose encoding is more than one copy has no block size")
    func otherValuesHaveNone() {
        #expect(WireEncoder.blockSize(of: "text") == nil)
        #expect(WireEncoder.blockSize(of: 7) == nil)
        #expect(WireEncoder.blockSize(of: ["a", "b"]) == nil)
        #expect(WireEncoder.blockSize(of: [[UInt8]](repeating: [1, 2], count: 3)) == nil)
        #expect(WireEncoder.blockSize(of: Item(id: 1, name: "n", score: 2)) == nil)
        #expect(WireEncoder.blockSize(of: [1, 2] as [Int]?) == nil)
    }
}
