import Foundation
import Synchronization
import Testing

@testable import PoolWire

/// ``ZeroCopyBytes``: the same bytes as `[UInt8]` through every coder, borrowed only where the
/// decoder was given a lender, and then holding that lender for as long as it lives.
@Suite struct ZeroCopyBytesTests {
    private final class Flag: Sendable {
        private let state = Atomic(false)
        var raised: Bool { state.load(ordering: .sequentiallyConsistent) }
        func raise() { state.store(true, ordering: .sequentiallyConsistent) }
    }

    private final class Lender: Sendable {
        let freed: Flag
        init(freed: Flag) { self.freed = freed }
        deinit { freed.raise() }
    }

    private struct Record: Codable, Equatable {
        var name: String
        var block: ZeroCopyBytes
        var tail: [ZeroCopyBytes]
    }

    @Test func itEncodesExactlyLikeAnArrayOfBytes() throws {
        let encoder = WireEncoder()
        for count in [0, 1, 127, 128, 70_000] {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let block = ZeroCopyBytes(bytes)
            #expect(try encoder.encode(block) == encoder.encode(bytes))
            #expect(WireEncoder.blockSize(of: block) == (try encoder.encode(block).count))
            let decoded = try WireDecoder().decode(ZeroCopyBytes.self, from: try encoder.encode(bytes))
            #expect(Array(decoded) == bytes && !decoded.isBorrowed)
        }
    }

    @Test func withALenderItPointsIntoTheInputAndHoldsTheLender() throws {
        let record = Record(
            name: "r", block: ZeroCopyBytes([1, 2, 3, 4]), tail: [ZeroCopyBytes([9]), ZeroCopyBytes([])])
        let encoded = try WireEncoder().encode(record)
        let freed = Flag()
        var decoded: Record? = try encoded.withUnsafeBytes { buffer in
            let value = try WireDecoder().decode(Record.self, borrowing: buffer, lender: Lender(freed: freed))
            value.block.withUnsafeBytes { block in
                #expect(
                    buffer.baseAddress! <= block.baseAddress! && block.baseAddress! < buffer.baseAddress! + buffer.count
                )
            }
            return value
        }
        #expect(decoded == record)
        #expect(decoded?.block.isBorrowed == true && decoded?.tail.allSatisfy(\.isBorrowed) == true)
        #expect(!freed.raised, "the lender must live while a borrowed value does")
        decoded = nil
        #expect(freed.raised, "the lender must go with the last borrowed value")
    }

    @Test func throughJSONItIsAListOfBytes() throws {
        let block = ZeroCopyBytes([0, 255, 7])
        let json = try JSONEncoder().encode(block)
        #expect(String(decoding: json, as: UTF8.self) == "[0,255,7]")
        #expect(try JSONDecoder().decode(ZeroCopyBytes.self, from: json) == block)
    }

    @Test func aLengthPastTheInputIsAnErrorNotARead() throws {
        var encoded = try WireEncoder().encode(ZeroCopyBytes([1, 2, 3]))
        encoded.removeLast()
        let lender = Lender(freed: Flag())
        #expect(throws: WireError.self) {
            try encoded.withUnsafeBytes { try WireDecoder().decode(ZeroCopyBytes.self, borrowing: $0, lender: lender) }
        }
        #expect(throws: WireError.self) { try WireDecoder().decode(ZeroCopyBytes.self, from: encoded) }
    }

    @Test func itIsACollectionOfItsBytes() {
        let block = ZeroCopyBytes(stride(from: 0, to: 10, by: 1).map(UInt8.init))
        #expect(block.count == 10 && block[3] == 3 && block.reversed().first == 9)
        #expect(block == ZeroCopyBytes(Array(0..<10) as [UInt8]) && block != ZeroCopyBytes([1]))
        #expect(Set([block, ZeroCopyBytes(Array(block))]).count == 1)
        #expect(Data(block) == Data(Array(0..<10) as [UInt8]))
    }
}
