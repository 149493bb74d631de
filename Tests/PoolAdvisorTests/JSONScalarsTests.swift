import Foundation
import Testing

@testable import PoolAdvisorCLI

/// The whole-number fast path reads only what `JSONDecoder` reads the same way, and writes what
/// `JSONEncoder` writes: anything else is left to them.
@Suite struct JSONScalarsTests {
    static let texts = [
        "0", "7", "42", "-1", "-0", "007", "00", "1e3", "1.0", "+1", "-", "", " 1", "1 ", "0x10", "١",
        "18446744073709551615", "18446744073709551616", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "-9223372036854775809", "99999999999999999999999",
    ]

    static func fast<Value>(_ type: Value.Type, _ text: String) -> Value? {
        Array(text.utf8).withUnsafeBytes { JSONScalars.decode(type, $0) }
    }

    @Test("a number the fast path reads is the one JSONDecoder reads; the rest it leaves to the decoder")
    func decodingAgrees() {
        for text in Self.texts {
            let decoded = (
                u: try? JSONDecoder().decode(UInt64.self, from: Data(text.utf8)),
                i: try? JSONDecoder().decode(Int.self, from: Data(text.utf8)),
                i64: try? JSONDecoder().decode(Int64.self, from: Data(text.utf8))
            )
            if let value = Self.fast(UInt64.self, text) { #expect(value == decoded.u, "UInt64 '\(text)'") }
            if let value = Self.fast(Int.self, text) { #expect(value == decoded.i, "Int '\(text)'") }
            if let value = Self.fast(Int64.self, text) { #expect(value == decoded.i64, "Int64 '\(text)'") }
        }
        #expect(Self.fast(UInt64.self, "18446744073709551615") == .max)
        #expect(Self.fast(Int.self, "-9223372036854775808") == .min)
        #expect(Self.fast(UInt64.self, "007") == nil && Self.fast(Int.self, "-0") == nil)
        #expect(Self.fast(String.self, "7") == nil, "other types go to the decoder")
    }

    @Test("an integer is written as JSONEncoder writes it")
    func encodingAgrees() throws {
        for value in [0, 1, -1, Int.max, Int.min, 1_000_003] {
            var buffer: [UInt8] = []
            #expect(JSONScalars.append(value, to: &buffer))
            #expect(buffer == Array(try JSONEncoder().encode(value)))
        }
        var buffer: [UInt8] = []
        #expect(JSONScalars.append(UInt64.max, to: &buffer))
        #expect(buffer == Array(try JSONEncoder().encode(UInt64.max)))
        #expect(!JSONScalars.append("text", to: &buffer) && !JSONScalars.append(1.5, to: &buffer))
    }
}
