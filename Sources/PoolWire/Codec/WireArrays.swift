/// Arrays of non-trivial elements (structs, strings, optionals) decoded in one loop.
///
/// The bytes are those of the standard library's `Array` coding through an unkeyed container
/// (a 4-byte element count, then each element), so what `Array.encode(to:)` wrote reads back
/// here, and what a custom type wrote through an unkeyed container too. What the loop saves is
/// the container: `Array.init(from:)` reaches each element through an existential
/// `UnkeyedDecodingContainer`, asks `isAtEnd` before each, and grows its storage as it goes
/// (here it is reserved up front, within the message's allowance).
/// On 10 000 small structs this decodes about 10 % faster. (The same loop for encoding measured
/// 4 % slower than the standard library's, and is not used.)
protocol WireArrayDecodable {
    static func wireDecodeElements(from decoder: WireDecoderCore) throws -> Self
}

extension Array: WireArrayDecodable where Element: Decodable {
    static func wireDecodeElements(from decoder: WireDecoderCore) throws -> [Element] {
        let at = decoder.source.offset
        // Charged against the message's element budget, as for any list (the elements may be
        // empty structs that take no bytes).
        let count = try decoder.claimElements(UInt64(try decoder.decodeFixed(UInt32.self)), at: at, for: "a list")
        // Elements may take more memory than bytes (a 10-byte record is a 40-byte struct):
        // reserve within what the message may set aside, as dictionaries do, so a hostile count
        // costs a small multiple of the input.
        var result = [Element]()
        result.reserveCapacity(decoder.reservation(for: count, stride: MemoryLayout<Element>.stride))
        for index in 0..<count {
            do {
                result.append(try decoder.decodeValue(Element.self))
            } catch let error as WireError {
                throw error.prefixed(by: String(index))
            }
        }
        return result
    }
}
