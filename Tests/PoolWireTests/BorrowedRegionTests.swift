import PoolWire
import Testing

/// `FrameBuilder.encode(_:preferring:)`: a value encodes into memory the caller lends (a span
/// of shared memory) when it fits, and into the frame when it does not, with the same bytes.
struct BorrowedRegionTests {
    struct Refuses: Encodable {
        struct No: Error {}
        let after: Int
        func encode(to encoder: any Encoder) throws {
            var container = encoder.unkeyedContainer()
            for value in 0..<after { try container.encode(value) }
            throw No()
        }
    }

    /// The value's bytes as `encode(_:)` writes them into a frame of its own.
    private func plainBytes<T: Encodable>(_ value: T) throws -> [UInt8] {
        let builder = FrameBuilder()
        builder.begin(kind: 1)
        try builder.encode(value)
        return [UInt8](builder.payload(from: 0))
    }

    private func withRegion<Result>(_ count: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Result) rethrows
        -> Result
    {
        let region = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        defer { region.deallocate() }
        return try body(region)
    }

    @Test func aValueThatFitsIsWrittenIntoTheRegionAndNotTheFrame() throws {
        let value = [
            Item(id: 1, name: "one", score: 1.5), Item(id: 2, name: String(repeating: "x", count: 300), score: 2),
        ]
        let expected = try plainBytes(value)
        try withRegion(4096) { region in
            let builder = FrameBuilder()
            builder.begin(kind: 1)
            builder.append(fixed: UInt32(7))
            let written = try builder.encode(value, preferring: region)
            #expect(written == expected.count)
            #expect(Array(region.prefix(written ?? 0)) == expected)
            #expect(builder.payloadCount == 4, "the frame holds only what was appended before")
        }
    }

    @Test func aValueThatOutgrowsTheRegionLandsInTheFrameWhole() throws {
        let value = [UInt8](repeating: 9, count: 10_000) + [1, 2, 3]
        let expected = try plainBytes(value)
        try withRegion(1000) { region in
            let builder = FrameBuilder()
            builder.begin(kind: 1)
            builder.append(fixed: UInt32(7))
            let written = try builder.encode(value, preferring: region)
            #expect(written == nil)
            #expect([UInt8](builder.payload(from: 4)) == expected)
            // The builder goes on as usual afterwards.
            builder.append(fixed: UInt8(5))
            #expect(builder.payloadCount == 4 + expected.count + 1)
        }
    }

    @Test func aValueThatThrowsLeavesTheFrameAsItWas() throws {
        try withRegion(64) { region in
            let builder = FrameBuilder()
            builder.begin(kind: 1)
            builder.append(fixed: UInt32(7))
            // Throwing while still in the region, and after moving out of it.
            for after in [2, 100] {
                #expect(throws: Refuses.No.self) { try builder.encode(Refuses(after: after), preferring: region) }
                #expect(builder.payloadCount == 4)
            }
            try builder.encode(Item(id: 3, name: "three", score: 3))
            #expect([UInt8](builder.payload(from: 4)) == (try plainBytes(Item(id: 3, name: "three", score: 3))))
        }
    }
}
