// The inputs of the everyday workloads: a seed and a size, checked when decoded so a hostile
// input (a negative count, a size of gigabytes) is a decoding error that names the field,
// never a trap or an allocation the machine cannot make.

/// A seed and a size: how many records, words or integers a call builds from the seed.
///
/// The size is checked against ``limit`` when decoded; the workloads clamp a size made in code
/// to the same bound before they allocate.
public struct SeededWork: Codable, Sendable, Equatable {
    /// Where the call's data comes from: the same seed gives the same data in any process.
    public var seed: UInt64
    /// How much data the call builds (records, words or integers, depending on the workload).
    public var size: Int

    /// The largest size any workload accepts: a million elements, at most tens of megabytes.
    public static let limit = 1_000_000

    /// Work on `size` elements built from `seed`.
    public init(seed: UInt64, size: Int) {
        self.seed = seed
        self.size = size
    }

    /// Decodes and checks the work: a size outside `0...limit` is rejected here, where the
    /// input's position can still be named, rather than trapping or exhausting memory in a worker.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seed = try container.decode(UInt64.self, forKey: .seed)
        size = try container.decode(Int.self, forKey: .size)
        guard (0...Self.limit).contains(size) else {
            throw DecodingError.dataCorruptedError(
                forKey: .size, in: container,
                debugDescription: "size must be between 0 and \(Self.limit), not \(size)")
        }
    }

    /// `count` works of `size` elements with distinct seeds (the series the computing workloads use).
    static func series(_ count: Int, size: Int) -> [SeededWork] {
        (0..<max(0, count)).map { SeededWork(seed: UInt64($0) &* 0x9E37_79B9 &+ 1, size: size) }
    }

    /// The size clamped to `0...limit`: a value made in code (not decoded) is held to the same bound.
    var boundedSize: Int { min(max(size, 0), Self.limit) }
}

/// SplitMix64: a small, fast generator whose stream depends on the seed alone, so a worker
/// process builds exactly the data the parent would.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A value in `0..<bound` (bound > 0), by multiply-shift: no division, no rejection loop,
    /// and the same in every process.
    mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: (next() >> 32) &* UInt64(bound) >> 32)
    }
}

/// FNV-1a over bytes: an order-sensitive 64-bit digest that is the same in every process
/// (unlike `Hasher`, which is seeded per process).
func fnv1a(_ bytes: some Sequence<UInt8>, into hash: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
    var hash = hash
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return hash
}
