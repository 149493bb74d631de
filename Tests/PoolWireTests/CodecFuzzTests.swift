import Foundation
import PoolWire
import Testing

/// A struct that encodes to no bytes at all: the one kind of element whose count the input's
/// length cannot bound.
struct Empty: Codable, Hashable {}

/// One type to fuzz: valid encodings of a few of its values, and a decode that reports its cost.
struct FuzzTarget: Sendable, CustomTestStringConvertible {
    let name: String
    let encodings: [[UInt8]]
    let decode: @Sendable (WireDecoder, [UInt8]) -> (result: Result<Void, any Error>, cost: WireDecodeCost)

    var testDescription: String { name }

    init<T: Codable & SendableMetatype>(_ name: String, _ values: [T]) {
        self.name = name
        let encoder = WireEncoder()
        encodings = values.map { try! encoder.encode($0) }
        decode = { decoder, bytes in
            let (result, cost) = decoder.decodeMeasuringCost(T.self, from: bytes)
            return (result.map { _ in () }, cost)
        }
    }

    static let all: [FuzzTarget] = [
        FuzzTarget("Int", [0, -1, Int.max]),
        FuzzTarget("String", ["", "a", "héllo, wörld 👋", String(repeating: "x", count: 200)]),
        FuzzTarget("[String: Int]", [[:], ["a": 1, "bb": -2, "": 3], ["k\u{e9}y": Int.min]]),
        FuzzTarget("[[String]]", [[], [["a", ""], [], ["ccc"]]]),
        FuzzTarget("[[Int]]", [[[1, 2], [], [3]], [[]]]),
        FuzzTarget("[[Empty]]", [[], [[Empty()], [], [Empty(), Empty(), Empty()]]]),
        FuzzTarget(
            "Record",
            [
                Record(
                    id: 9, tags: ["a", "bb"], weights: [1, 2.5], parent: Item(id: 1, name: "p", score: 0.5),
                    shape: .labelled("x", .circle(radius: 1)), table: ["k": 1]),
                Record(
                    id: -3, tags: [], weights: [], parent: nil,
                    shape: .polygon([Item(id: 2, name: "v", score: 1)], closed: true), table: [:]),
            ]),
        FuzzTarget(
            "Optionals",
            [
                Optionals(a: nil, b: 5, c: "x", d: [1, nil, 3], e: nil, f: .some(nil)),
                Optionals(a: 1, b: 2, c: nil, d: [], e: Item(id: 1, name: "n", score: 2), f: 7),
            ]),
        FuzzTarget("[Suit]", [[Suit.hearts, .spades]]),
        FuzzTarget("[UInt8]", [[], [1, 2, 3, 255]]),
        FuzzTarget("Data", [Data(), Data((0..<40).map { UInt8($0) })]),
        FuzzTarget("[Double]", [[], [1.5, -0.0, .infinity]]),
        FuzzTarget("[Set<String>]", [[Set(["x", "yy"]), []]]),
    ]
}

/// Byte patterns a hostile length field would hold: empty, one below a varint continuation,
/// all ones, the largest 32-bit counts, the largest and overlong 10-byte varints.
let extremeLengths: [[UInt8]] = [
    [0x00], [0x7F], [0xFF], [0x80], [0xFF, 0x7F], [0x00, 0x00, 0x00, 0x00], [0xFF, 0xFF, 0xFF, 0xFF],
    [0xFF, 0xFF, 0xFF, 0x7F], [0x00, 0x00, 0x01, 0x00],
    [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
    [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
    [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
    [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
]

/// One seeded mutation of a valid encoding.
func mutate(_ original: [UInt8], using random: inout SplitMix) -> [UInt8] {
    var bytes = original
    let position = { (random: inout SplitMix, limit: Int) in limit == 0 ? 0 : Int.random(in: 0..<limit, using: &random)
    }
    switch random.next() % 6 {
    case 0:  // truncation
        bytes.removeLast(bytes.isEmpty ? 0 : Int.random(in: 1...bytes.count, using: &random))
    case 1:  // bit flips
        for _ in 0..<Int.random(in: 1...3, using: &random) where !bytes.isEmpty {
            bytes[position(&random, bytes.count)] ^= 1 << UInt8.random(in: 0..<8, using: &random)
        }
    case 2:  // insertions
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            bytes.insert(UInt8.random(in: 0...255, using: &random), at: position(&random, bytes.count + 1))
        }
    case 3:  // deletions
        for _ in 0..<Int.random(in: 1...3, using: &random) where !bytes.isEmpty {
            bytes.remove(at: position(&random, bytes.count))
        }
    default:  // a length field at an extreme: at the front (where every collection's count is) or anywhere
        let pattern = extremeLengths[Int(random.next() % UInt64(extremeLengths.count))]
        let at = random.next() % 2 == 0 ? 0 : position(&random, bytes.count + 1)
        if random.next() % 2 == 0 {
            bytes.insert(contentsOf: pattern, at: at)
        } else {
            bytes.replaceSubrange(at..<min(at + pattern.count, bytes.count), with: pattern)
        }
    }
    return bytes
}

@Suite struct CodecFuzzTests {
    /// Mutated encodings per target: 13 targets × 8 000 = 104 000 cases.
    static let casesPerTarget = 8_000

    @Test(arguments: FuzzTarget.all)
    func mutatedEncodingsDecodeOrThrowAndStayBounded(_ target: FuzzTarget) throws {
        let decoder = WireDecoder()
        var random = SplitMix(state: 0x5EED_0000 &+ UInt64(target.name.utf8.count) &* 7_919)
        var decoded = 0
        var failedWithWireError = 0
        for index in 0..<Self.casesPerTarget {
            let original = target.encodings[index % target.encodings.count]
            let bytes = mutate(original, using: &random)
            let (result, cost) = target.decode(decoder, bytes)
            switch result {
            case .success:
                decoded += 1
            case .failure(is WireError):
                failedWithWireError += 1
            case .failure(is DecodingError):
                // A type's own validation (an unknown raw value of `Suit`).
                break
            case .failure(let error):
                Issue.record("\(target.name) case \(index) \(bytes): unexpected \(type(of: error)): \(error)")
            }
            #expect(
                cost.elements <= bytes.count + decoder.emptyElementAllowance,
                "\(target.name) case \(index) \(bytes) visited \(cost.elements) elements")
            #expect(
                cost.reservedBytes <= 8 * bytes.count + 256,
                "\(target.name) case \(index) \(bytes) reserved \(cost.reservedBytes) bytes")
        }
        // Both outcomes happen: the mutations neither all miss nor all hit.
        #expect(failedWithWireError > Self.casesPerTarget / 10)
        #expect(decoded + failedWithWireError <= Self.casesPerTarget)
    }

    @Test func unmutatedEncodingsStillDecode() throws {
        for target in FuzzTarget.all {
            for bytes in target.encodings {
                let (result, _) = target.decode(WireDecoder(), bytes)
                #expect(throws: Never.self, "\(target.name)") { try result.get() }
            }
        }
    }
}
