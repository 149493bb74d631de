public import PoolExecutors
public import PoolWire
import Synchronization

/// What a worker saw of a ``ZeroCopyBytes`` input.
public struct BorrowReport: Codable, Sendable, Equatable {
    /// Whether the bytes were read in place, in the arguments arena.
    public var borrowed: Bool
    /// Whether they matched `LargeEcho.pattern(seed, count:)`.
    public var intact: Bool

    public init(borrowed: Bool, intact: Bool) {
        self.borrowed = borrowed
        self.intact = intact
    }
}

/// An input for ``ReadsBorrowed``: bytes of the pattern of `seed`, and what to do with them.
public struct BorrowInput: Codable, Sendable {
    public enum Action: Codable, Sendable {
        /// Read them and let them go with the call.
        case read
        /// Keep them in the worker past the call.
        case keep
        /// Check that every value kept so far still holds its pattern; then let them go if
        /// `drop`.
        case checkKept(drop: Bool)
    }

    public var seed: Int
    public var bytes: ZeroCopyBytes
    public var action: Action

    public init(seed: Int, count: Int, action: Action) {
        self.seed = seed
        bytes = ZeroCopyBytes(LargeEcho.pattern(seed, count: count))
        self.action = action
    }
}

/// Reads a ``ZeroCopyBytes`` input and reports whether it was borrowed and intact; may keep it
/// in the worker past the call, to show the pool does not reuse a span still held.
public struct ReadsBorrowed: PoolTask {
    private static let kept = Locked<[(seed: Int, bytes: ZeroCopyBytes)]>([])

    private static func report(_ bytes: ZeroCopyBytes, seed: Int) -> BorrowReport {
        BorrowReport(
            borrowed: bytes.isBorrowed, intact: bytes.elementsEqual(LargeEcho.pattern(seed, count: bytes.count)))
    }

    public static func run(_ input: BorrowInput) -> [BorrowReport] {
        let own = report(input.bytes, seed: input.seed)
        switch input.action {
        case .read:
            return [own]
        case .keep:
            kept.withLock { $0.append((input.seed, input.bytes)) }
            return [own]
        case .checkKept(let drop):
            let reports = kept.withLock { kept in
                defer { if drop { kept.removeAll() } }
                return kept.map { report($0.bytes, seed: $0.seed) }
            }
            return [own] + reports
        }
    }
}
