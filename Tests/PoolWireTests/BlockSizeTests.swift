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
        // A Data slice and another contiguous byte collection: only the slice's bytes.
        let dataSlice = data.dropFirst(min(count, 5))
        let contiguous = ContiguousArray(bytes)
        #expect(WireEncoder.blockSize(of: dataSlice) == (try encoder.encode(dataSlice).count))
        #expect(WireEncoder.blockSize(of: contiguous) == (try encoder.encode(contiguous).count))
    }

    @Test("a value whose encoding is more than one copy has no block size")
    func otherValuesHaveNone() {
        #expect(WireEncoder.blockSize(of: "text") == nil)
        #expect(WireEncoder.blockSize(of: 7) == nil)
        #expect(WireEncoder.blockSize(of: ["a", "b"]) == nil)
        #expect(WireEncoder.blockSize(of: [[UInt8]](repeating: [1, 2], count: 3)) == nil)
        #expect(WireEncoder.blockSize(of: Item(id: 1, name: "n", score: 2)) == nil)
        #expect(WireEncoder.blockSize(of: [1, 2] as [Int]?) == nil)
        // Coded element by element: doubles in a ContiguousArray, bytes without contiguous storage.
        #expect(WireEncoder.blockSize(of: ContiguousArray([1.0, 2.0, 3.0])) == nil)
        #expect(WireEncoder.blockSize(of: ByteRing(bytes: [1, 2, 3])) == nil)
    }

    @Test("the types whose values may have a block size are known by type, the same each time")
    func blockTypesAreKnownByType() {
        for _ in 0..<2 {
            #expect(WireEncoder.encodesAsBlock([UInt8].self) && WireEncoder.encodesAsBlock([Double].self))
            #expect(WireEncoder.encodesAsBlock(Data.self) && WireEncoder.encodesAsBlock(ZeroCopyBytes.self))
            #expect(!WireEncoder.encodesAsBlock(String.self) && !WireEncoder.encodesAsBlock(Int.self))
            #expect(!WireEncoder.encodesAsBlock(Item.self) && !WireEncoder.encodesAsBlock([[UInt8]].self))
        }
    }
}

/// Bytes without contiguous storage: a collection the encoder writes a byte at a time.
struct ByteRing: RangeReplaceableCollection, Codable {
    var bytes: [UInt8]
    init() { bytes = [] }
    init(bytes: [UInt8]) { self.bytes = bytes }
    var startIndex: Int { bytes.startIndex }
    var endIndex: Int { bytes.endIndex }
    subscript(position: Int) -> UInt8 { bytes[position] }
    func index(after index: Int) -> Int { index + 1 }
    mutating func replaceSubrange<C: Collection>(_ range: Range<Int>, with new: C) where C.Element == UInt8 {
        bytes.replaceSubrange(range, with: new)
    }
}
