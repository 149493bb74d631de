import Testing

@testable import PoolWire

// Values whose coding goes through keyed containers of several key types, nested and
// interleaved: structs, an enum with payloads (a keyed container per case), recursion.
private struct Point: Codable, Equatable {
    var x: Int
    var y: Double
}

private struct Label: Codable, Equatable {
    var text: String
    var weight: Int?
}

private enum Mark: Codable, Equatable {
    case dot(Point)
    case tagged(Label, at: Point)
    case none
}

private struct Sheet: Codable, Equatable {
    var title: Label
    var points: [Point]
    var marks: [Mark]
    var origin: Point
    var children: [Sheet]
}

private enum FirstKeys: CodingKey { case value }
private enum SecondKeys: CodingKey { case value }

/// The keyed-container cache of the wire coders (`ContainerCache`) stores each container as the
/// one object reference it is assumed to hold. These tests fail if a toolchain breaks that
/// assumption, and check that the cache hands back the same container per key type.
@Suite struct ContainerCacheTests {
    private static let sheet = Sheet(
        title: Label(text: "top", weight: 3),
        points: [Point(x: 1, y: 1.5), Point(x: -2, y: 0)],
        marks: [.dot(Point(x: 3, y: 4)), .none, .tagged(Label(text: "t", weight: nil), at: Point(x: 5, y: 6))],
        origin: Point(x: 0, y: -1),
        children: [
            Sheet(
                title: Label(text: "child", weight: nil), points: [], marks: [.none, .dot(Point(x: 7, y: 8))],
                origin: Point(x: 9, y: 10), children: [])
        ])

    @Test func anEncodingContainerIsOneStrongReferenceToItsBox() throws {
        #expect(MemoryLayout<KeyedEncodingContainer<FirstKeys>>.size == MemoryLayout<AnyObject>.size)
        let core = WireEncoderCore()
        var container: KeyedEncodingContainer<FirstKeys>? = core.container(keyedBy: FirstKeys.self)
        weak let box = unsafeBitCast(container!, to: AnyObject.self)
        let typeName = box.map { String(describing: type(of: $0)) } ?? "nil"
        #expect(typeName.contains("KeyedEncodingContainerBox"))
        // With the cache's copy gone, the container alone keeps the box alive: its one word is a
        // retained reference to it.
        core.releaseContainers()
        #expect(box != nil)
        do {
            // Those bits make a working container again.
            var rebuilt = unsafeBitCast(box!, to: KeyedEncodingContainer<FirstKeys>.self)
            try rebuilt.encode(Int(7), forKey: .value)
        }
        #expect(Array(core.sink.bytes) == [7, 0, 0, 0, 0, 0, 0, 0])
        // And nothing but the container held it.
        container = nil
        #expect(box == nil)
    }

    @Test func aDecodingContainerIsOneStrongReferenceToItsBox() throws {
        #expect(MemoryLayout<KeyedDecodingContainer<FirstKeys>>.size == MemoryLayout<AnyObject>.size)
        let bytes: [UInt8] = [7, 0, 0, 0, 0, 0, 0, 0]
        try bytes.withUnsafeBytes { raw in
            let core = WireDecoderCore(raw, settings: WireDecoder())
            var container: KeyedDecodingContainer<FirstKeys>? = try core.container(keyedBy: FirstKeys.self)
            weak let box = unsafeBitCast(container!, to: AnyObject.self)
            let typeName = box.map { String(describing: type(of: $0)) } ?? "nil"
            #expect(typeName.contains("KeyedDecodingContainerBox"))
            core.releaseContainers()
            #expect(box != nil)
            do {
                let rebuilt = unsafeBitCast(box!, to: KeyedDecodingContainer<FirstKeys>.self)
                let value = try rebuilt.decode(Int.self, forKey: .value)
                #expect(value == 7)
            }
            container = nil
            #expect(box == nil)
        }
    }

    @Test func oneContainerPerKeyTypeUntilReleased() throws {
        let encoder = WireEncoderCore()
        let first = Self.box(encoder, FirstKeys.self)
        let second = Self.box(encoder, SecondKeys.self)
        #expect(ObjectIdentifier(first) != ObjectIdentifier(second))
        // From the table (the last one asked for was SecondKeys), then from the one-entry memo.
        #expect(ObjectIdentifier(Self.box(encoder, FirstKeys.self)) == ObjectIdentifier(first))
        #expect(ObjectIdentifier(Self.box(encoder, FirstKeys.self)) == ObjectIdentifier(first))
        #expect(ObjectIdentifier(Self.box(encoder, SecondKeys.self)) == ObjectIdentifier(second))
        encoder.releaseContainers()
        #expect(ObjectIdentifier(Self.box(encoder, FirstKeys.self)) != ObjectIdentifier(first))

        let bytes: [UInt8] = [1]
        try bytes.withUnsafeBytes { raw in
            let decoder = WireDecoderCore(raw, settings: WireDecoder())
            let firstDecoding = try Self.box(decoder, FirstKeys.self)
            let secondDecoding = try Self.box(decoder, SecondKeys.self)
            let firstAgain = try Self.box(decoder, FirstKeys.self)
            #expect(ObjectIdentifier(firstDecoding) != ObjectIdentifier(secondDecoding))
            #expect(ObjectIdentifier(firstAgain) == ObjectIdentifier(firstDecoding))
        }
    }

    /// The object `encoder`'s container for `key` holds.
    private static func box<Key: CodingKey>(_ encoder: WireEncoderCore, _ key: Key.Type) -> AnyObject {
        unsafeBitCast(encoder.container(keyedBy: key), to: AnyObject.self)
    }

    /// The object `decoder`'s container for `key` holds.
    private static func box<Key: CodingKey>(_ decoder: WireDecoderCore, _ key: Key.Type) throws -> AnyObject {
        unsafeBitCast(try decoder.container(keyedBy: key), to: AnyObject.self)
    }

    @Test func cachedContainersRoundTripNestedKeyedValues() throws {
        let reused = WireEncoder()
        let decoder = WireDecoder()
        // The second encoding of each value runs entirely on containers cached by the first,
        // across calls and across top-level types.
        for _ in 0..<2 {
            let bytes = try reused.encode(Self.sheet)
            #expect(bytes == (try WireEncoder().encode(Self.sheet)))
            #expect(try decoder.decode(Sheet.self, from: bytes) == Self.sheet)
            let marks = try reused.encode(Self.sheet.marks)
            #expect(try decoder.decode([Mark].self, from: marks) == Self.sheet.marks)
            let points = try reused.encode(Self.sheet.points)
            #expect(try decoder.decode([Point].self, from: points) == Self.sheet.points)
        }
    }

    @Test func coresAreFreedWithTheirOwners() throws {
        weak var encoderCore: WireEncoderCore?
        weak var builderCore: WireEncoderCore?
        weak var decoderCore: WireDecoderCore?
        do {
            let encoder = WireEncoder()
            encoderCore = encoder.core
            let bytes = try encoder.encode(Self.sheet)
            let builder = FrameBuilder()
            builderCore = builder.core
            builder.begin(kind: 1)
            try builder.encode(Self.sheet)
            try bytes.withUnsafeBytes { raw in
                let core = WireDecoderCore(raw, settings: WireDecoder())
                decoderCore = core
                let decoded = try WireDecoder.decodeWhole(Sheet.self, with: core)
                #expect(decoded == Self.sheet)
            }
        }
        #expect(encoderCore == nil)
        #expect(builderCore == nil)
        #expect(decoderCore == nil)
    }
}
