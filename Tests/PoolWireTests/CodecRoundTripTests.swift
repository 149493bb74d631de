import Foundation
import PoolWire
import Testing

struct Item: Codable, Equatable {
    var id: Int
    var name: String
    var score: Double
}

struct Optionals: Codable, Equatable {
    var a: Int?
    var b: Int
    var c: String?
    var d: [Int?]
    var e: Item?
    var f: Int??
}

indirect enum Shape: Codable, Equatable {
    case point
    case circle(radius: Double)
    case polygon([Item], closed: Bool)
    case labelled(String, Shape?)
}

enum Suit: String, Codable { case hearts, spades }

class Animal: Codable {
    var name: String
    init(name: String) { self.name = name }
}

final class Dog: Animal {
    var goodBoy: Bool
    init(name: String, goodBoy: Bool) {
        self.goodBoy = goodBoy
        super.init(name: name)
    }
    enum CodingKeys: String, CodingKey { case goodBoy }
    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        goodBoy = try container.decode(Bool.self, forKey: .goodBoy)
        try super.init(from: container.superDecoder())
    }
    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(goodBoy, forKey: .goodBoy)
        try super.encode(to: container.superEncoder())
    }
}

/// A custom coder using nested keyed and unkeyed containers by hand.
struct Matrix: Codable, Equatable {
    var rows: [[Double]]
    var label: String
    enum CodingKeys: String, CodingKey { case meta, rows }
    enum MetaKeys: String, CodingKey { case label }
    init(rows: [[Double]], label: String) {
        self.rows = rows
        self.label = label
    }
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let meta = try container.nestedContainer(keyedBy: MetaKeys.self, forKey: .meta)
        label = try meta.decode(String.self, forKey: .label)
        var list = try container.nestedUnkeyedContainer(forKey: .rows)
        var rows: [[Double]] = []
        while !list.isAtEnd {
            var row = try list.nestedUnkeyedContainer()
            var values: [Double] = []
            while !row.isAtEnd { values.append(try row.decode(Double.self)) }
            rows.append(values)
        }
        self.rows = rows
    }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var meta = container.nestedContainer(keyedBy: MetaKeys.self, forKey: .meta)
        try meta.encode(label, forKey: .label)
        var list = container.nestedUnkeyedContainer(forKey: .rows)
        for row in rows {
            var nested = list.nestedUnkeyedContainer()
            for value in row { try nested.encode(value) }
        }
    }
}

struct Pixel: WireTrivial, Equatable {
    var r: UInt8
    var g: UInt8
    var b: UInt8
    var alpha: Float
}

func roundTrip<T: Codable>(_ value: T) throws -> T {
    let bytes = try WireEncoder().encode(value)
    return try WireDecoder().decode(T.self, from: bytes)
}

@Suite struct CodecRoundTripTests {
    @Test func scalarsAndStrings() throws {
        #expect(try roundTrip(42) == 42)
        #expect(try roundTrip(Int.min) == Int.min)
        #expect(try roundTrip(UInt64.max) == UInt64.max)
        #expect(try roundTrip(Int8(-3)) == -3)
        #expect(try roundTrip(-0.5) == -0.5)
        #expect(try roundTrip(Float(1.25)) == 1.25)
        #expect(try roundTrip(true) == true)
        #expect(try roundTrip("") == "")
        #expect(try roundTrip("héllo, wörld 👋") == "héllo, wörld 👋")
        #expect(try roundTrip(Double.infinity) == .infinity)
        #expect(try roundTrip(Double.nan).isNaN)
    }

    @Test func bulkArraysAndBytes() throws {
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(try roundTrip(bytes) == bytes)
        let ints = (0..<10_000).map { $0 &* 7_919 - 5_000 }
        #expect(try roundTrip(ints) == ints)
        let doubles = (0..<1_000).map { Double($0) / 3 }
        #expect(try roundTrip(doubles) == doubles)
        let data = Data(bytes.prefix(1_000))
        #expect(try roundTrip(data) == data)
        #expect(try roundTrip([UInt8]()) == [])
        let pixels = [Pixel(r: 1, g: 2, b: 3, alpha: 0.5), Pixel(r: 9, g: 8, b: 7, alpha: 1)]
        #expect(try roundTrip(pixels) == pixels)
        // A [UInt8] costs its count and its bytes, nothing per element.
        #expect(try WireEncoder().encode(bytes).count == bytes.count + 3)
    }

    @Test func structsAndNestedArrays() throws {
        let items = (0..<500).map { Item(id: $0, name: "item-\($0)", score: Double($0) / 7) }
        #expect(try roundTrip(items) == items)
        let nested = [[1, 2], [], [3]]
        #expect(try roundTrip(nested) == nested)
        let strings = ["a", "", "ccc"]
        #expect(try roundTrip(strings) == strings)
        let matrix = Matrix(rows: [[1, 2], [], [3.5]], label: "m")
        #expect(try roundTrip(matrix) == matrix)
    }

    @Test func optionalsAnywhere() throws {
        let value = Optionals(a: nil, b: 5, c: "x", d: [1, nil, 3], e: nil, f: .some(nil))
        #expect(try roundTrip(value) == value)
        let full = Optionals(a: 1, b: 2, c: nil, d: [], e: Item(id: 1, name: "n", score: 2), f: 7)
        #expect(try roundTrip(full) == full)
        #expect(try roundTrip([Int?.none, 4]) == [nil, 4])
        #expect(try roundTrip(Int?.none) == nil)
        #expect(try roundTrip(String??.some(.none)) == .some(.none))
    }

    @Test func enumsWithAssociatedValues() throws {
        let shapes: [Shape] = [
            .point, .circle(radius: 2), .polygon([Item(id: 1, name: "v", score: 0)], closed: true),
            .labelled("outer", .labelled("inner", nil)),
        ]
        #expect(try roundTrip(shapes) == shapes)
        #expect(try roundTrip([Suit.hearts, .spades]) == [.hearts, .spades])
    }

    @Test func dictionariesKeepTheirKeys() throws {
        let byName = ["a": 1, "b": 2, "": 3]
        #expect(try roundTrip(byName) == byName)
        let byInt = [1: "one", -2: "minus two"]
        #expect(try roundTrip(byInt) == byInt)
        let bySuit = [Suit.hearts: [1.5], .spades: []]
        #expect(try roundTrip(bySuit) == bySuit)
    }

    @Test func classHierarchiesUsingSuperEncoder() throws {
        let dog = try roundTrip(Dog(name: "Rex", goodBoy: true))
        #expect(dog.name == "Rex")
        #expect(dog.goodBoy)
    }

    @Test func oneEncoderCanBeReused() throws {
        let encoder = WireEncoder()
        let first = try encoder.encode(Item(id: 1, name: "first", score: 1))
        let second = try encoder.encode([1, 2, 3])
        #expect(try WireDecoder().decode(Item.self, from: first) == Item(id: 1, name: "first", score: 1))
        #expect(try WireDecoder().decode([Int].self, from: second) == [1, 2, 3])
        let length = try encoder.withEncoded("abc") { $0.count }
        #expect(length == 4)
    }

    /// A list written element by element through an unkeyed container, as a custom type would.
    struct HandWrittenList: Codable, Equatable {
        var items: [Item]
        init(_ items: [Item]) { self.items = items }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.unkeyedContainer()
            for item in items { try container.encode(item) }
        }
        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            items = []
            while !container.isAtEnd { items.append(try container.decode(Item.self)) }
        }
    }

    @Test("an array of structs reads what an unkeyed container wrote, and the other way round")
    func arraysMatchUnkeyedContainers() throws {
        let items = (0..<300).map { Item(id: $0, name: "item-\($0)", score: Double($0) / 3) }
        let handWritten = try WireEncoder().encode(HandWrittenList(items))
        #expect(try WireEncoder().encode(items) == handWritten)
        #expect(try WireDecoder().decode([Item].self, from: handWritten) == items)
        #expect(try WireDecoder().decode(HandWrittenList.self, from: try WireEncoder().encode(items)).items == items)
        // Nested and optional elements take the same loop.
        let nested: [[Item?]] = [[items[0], nil], [], [items[1]]]
        #expect(try roundTrip(nested) == nested)
        // A bad element names its index.
        var bytes = try WireEncoder().encode([Item(id: 1, name: "a", score: 0), Item(id: 2, name: "b", score: 0)])
        bytes.removeLast(3)
        let error = try #require(throws: WireError.self) { try WireDecoder().decode([Item].self, from: bytes) }
        #expect(error.codingPath.first == "1", "\(error)")
    }
}
