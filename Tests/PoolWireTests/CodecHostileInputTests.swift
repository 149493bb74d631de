import PoolWire
import Testing

/// A tiny deterministic generator, so a failing case can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct Record: Codable, Equatable {
    var id: Int
    var tags: [String]
    var weights: [Double]
    var parent: Item?
    var shape: Shape
    var table: [String: Int]
}

@Suite struct CodecHostileInputTests {
    let sample = Record(
        id: 9, tags: ["a", "bb"], weights: [1, 2.5], parent: Item(id: 1, name: "p", score: 0.5),
        shape: .labelled("x", .circle(radius: 1)), table: ["k": 1])

    @Test func everyTruncationThrowsAWireError() throws {
        let bytes = try WireEncoder().encode(sample)
        for length in 0..<bytes.count {
            #expect(throws: WireError.self, "prefix of \(length) bytes") {
                try WireDecoder().decode(Record.self, from: Array(bytes.prefix(length)))
            }
        }
    }

    @Test func leftoverBytesAreReported() throws {
        let bytes = try WireEncoder().encode(7) + [0]
        let error = try #require(throws: WireError.self) { try WireDecoder().decode(Int.self, from: bytes) }
        #expect(error.kind == .trailingBytes)
        #expect(error.offset == 8)
    }

    @Test func errorsNameTheOffsetAndThePath() throws {
        var bytes = try WireEncoder().encode([Item(id: 1, name: "ok", score: 1), Item(id: 2, name: "xy", score: 2)])
        // The second item's name starts after: count (4) + item 1 (8 + 1 + 2 + 8) + id (8) + length (1).
        let nameOffset = 4 + 19 + 8 + 1
        bytes[nameOffset] = 0xFF
        let error = try #require(throws: WireError.self) { try WireDecoder().decode([Item].self, from: bytes) }
        #expect(error.kind == .invalidUTF8)
        #expect(error.codingPath == ["1", "name"])
        #expect(error.description.contains("1.name"))
    }

    @Test func hugeDeclaredLengthsAreRefusedBeforeAllocating() throws {
        // A varint count of 2^62 Ints, then nothing.
        let bytes: [UInt8] = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]
        let error = try #require(throws: WireError.self) { try WireDecoder().decode([Int].self, from: bytes) }
        #expect(error.kind == .lengthOutOfRange)
        let list: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF]
        #expect(throws: WireError.self) { try WireDecoder().decode([Item].self, from: list) }
    }

    @Test func randomBytesNeverCrash() {
        var random = SplitMix(state: 0xC0FFEE)
        var decoded = 0
        for _ in 0..<5_000 {
            let length = Int.random(in: 0..<64, using: &random)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            do {
                _ = try WireDecoder().decode(Record.self, from: bytes)
                decoded += 1
            } catch is WireError {
            } catch is DecodingError {
            } catch {
                Issue.record("unexpected error type \(type(of: error)): \(error)")
            }
        }
        // Random bytes essentially never form a whole valid Record.
        #expect(decoded < 50)
    }

    @Test func flippedBytesInValidDataNeverCrash() throws {
        let bytes = try WireEncoder().encode(sample)
        var random = SplitMix(state: 42)
        for _ in 0..<3_000 {
            var damaged = bytes
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                damaged[Int.random(in: 0..<damaged.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            do {
                _ = try WireDecoder().decode(Record.self, from: damaged)
            } catch is WireError {
            } catch is DecodingError {
            } catch {
                Issue.record("unexpected error type \(type(of: error)): \(error)")
            }
        }
    }
}
