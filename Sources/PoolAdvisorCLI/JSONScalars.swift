internal import PoolAdvisor

/// Whole numbers in JSON Lines without `JSONDecoder` and `JSONEncoder`, whose per-value setup
/// (a container tree, boxing, a `Data` each way) was most of `run`'s cost for tasks whose
/// input or output is a number (`tiny`, `sleep`): about a microsecond a line each way.
///
/// Only the canonical form is read here (`-?(0|[1-9][0-9]*)`, in the type's range); any other
/// text, valid JSON or not, goes to `JSONDecoder`, so what is accepted and every error message
/// stay exactly the decoder's. What is written is what `JSONEncoder` writes for an integer:
/// its decimal digits.
enum JSONScalars {
    /// `bytes` as `Value` when `Value` is `Int`, `Int64` or `UInt64` and the bytes are its
    /// canonical JSON text; nil otherwise.
    static func decode<Value>(_ type: Value.Type, _ bytes: UnsafeRawBufferPointer) -> Value? {
        if Value.self == UInt64.self { return unsigned(bytes).map { $0 as! Value } }
        if Value.self == Int.self { return signed(bytes).flatMap { Int(exactly: $0) }.map { $0 as! Value } }
        if Value.self == Int64.self { return signed(bytes).map { $0 as! Value } }
        return nil
    }

    /// Appends `value`'s JSON text and returns true when it is an integer of those types.
    static func append<Value>(_ value: Value, to buffer: inout [UInt8]) -> Bool {
        switch value {
        case let number as UInt64: buffer.append(contentsOf: String(number).utf8)
        case let number as Int: buffer.append(contentsOf: String(number).utf8)
        case let number as Int64: buffer.append(contentsOf: String(number).utf8)
        // A Python function's result, already JSON.
        case let json as JSONText: buffer.append(contentsOf: json.text.utf8)
        default: return false
        }
        return true
    }

    /// `0` or `[1-9][0-9]*` within `UInt64`.
    static func unsigned(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard let first = bytes.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { return nil }
        if first == UInt8(ascii: "0") { return bytes.count == 1 ? 0 : nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            value = sum
        }
        return value
    }

    /// An optional `-` before ``unsigned(_:)``, within `Int64`.
    static func signed(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let negative = bytes.first == UInt8(ascii: "-")
        guard let magnitude = unsigned(UnsafeRawBufferPointer(rebasing: bytes.dropFirst(negative ? 1 : 0))) else {
            return nil
        }
        if negative {
            guard magnitude != 0 else { return nil }  // "-0": left to the decoder
            return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }
}
