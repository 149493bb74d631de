/// Bytes that cannot be decoded or framed: what was wrong and where.
///
/// Every length in the wire format is checked against the bytes that remain before anything is
/// allocated, so hostile or truncated input ends in this error rather than a crash or an
/// unbounded allocation. ``offset`` is the byte position in the message (or stream) where the
/// problem was found and ``codingPath`` the property path, outermost first, when known.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem. New kinds may be added; switch with a `default`.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        let name: String

        /// The input ended before the value did.
        public static let truncated = Kind(name: "truncated")
        /// A byte had a value the format never writes (a Bool of 7, a bad presence marker).
        public static let invalidValue = Kind(name: "invalid value")
        /// A string's bytes are not valid UTF-8.
        public static let invalidUTF8 = Kind(name: "invalid UTF-8")
        /// A length or count is larger than the bytes that remain, or than a configured limit.
        public static let lengthOutOfRange = Kind(name: "length out of range")
        /// Values nest deeper than the decoder's `maximumDepth` (a recursive type, or hostile
        /// input pretending to be one).
        public static let nestedTooDeep = Kind(name: "nested too deep")
        /// An enum case or nested-container key that the type does not have.
        public static let unknownKey = Kind(name: "unknown key")
        /// The whole message decoded but bytes were left over.
        public static let trailingBytes = Kind(name: "trailing bytes")
        /// A frame header is damaged or announces more than the maximum frame size.
        public static let corruptFrame = Kind(name: "corrupt frame")
        /// The stream ended in the middle of a frame: the writer stopped or died while writing
        /// it. ``FrameReader`` drops the partial frame; treat it like the end of the stream.
        public static let unexpectedEnd = Kind(name: "unexpected end of stream")
        /// A value cannot be encoded in this format (a count above 2³²−1).
        public static let unencodable = Kind(name: "unencodable value")

        public var description: String { name }
    }

    /// What was wrong.
    public let kind: Kind
    /// Byte offset in the message or stream where it was found.
    public let offset: Int
    /// A sentence saying what was expected and what was found.
    public let detail: String
    /// The property path, outermost first (`["items", "12", "name"]`), when known.
    public internal(set) var codingPath: [String]

    /// Creates an error of `kind` at byte `offset`.
    public init(_ kind: Kind, at offset: Int, _ detail: String, codingPath: [String] = []) {
        self.kind = kind
        self.offset = offset
        self.detail = detail
        self.codingPath = codingPath
    }

    /// The same error with `component` put in front of its coding path (used while unwinding).
    func prefixed(by component: String) -> WireError {
        var copy = self
        copy.codingPath.insert(component, at: 0)
        return copy
    }

    public var description: String {
        // A deep path (hostile nesting reaches hundreds of levels) keeps its ends.
        let shown =
            codingPath.count <= 16
            ? codingPath.joined(separator: ".")
            : codingPath.prefix(6).joined(separator: ".") + ". … (\(codingPath.count - 12) more) … ."
                + codingPath.suffix(6).joined(separator: ".")
        let path = codingPath.isEmpty ? "" : " (at \(shown))"
        return "\(kind) at byte \(offset)\(path): \(detail)"
    }
}
