/// The 8-byte header in front of every frame: a 2-byte magic, a kind byte, a reserved byte
/// and a 4-byte little-endian payload length.
///
/// The magic lets a reader notice at once that the stream is out of step (a task that wrote to
/// the protocol descriptor, a bug) instead of misreading a length and waiting forever.
public enum FrameHeader {
    /// Bytes in a header.
    public static let size = 8
    /// "PW" in little-endian order.
    static let magic: UInt16 = 0x5750
    /// The default largest payload a reader accepts: 1 GiB.
    public static let defaultMaximumPayload = 1 << 30

    /// Writes a header for `kind` and `payloadLength` at `destination`.
    public static func write(kind: UInt8, payloadLength: Int, to destination: UnsafeMutableRawPointer) {
        destination.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt16.self)
        destination.storeBytes(of: kind, toByteOffset: 2, as: UInt8.self)
        destination.storeBytes(of: 0, toByteOffset: 3, as: UInt8.self)
        destination.storeBytes(
            of: UInt32(truncatingIfNeeded: payloadLength).littleEndian, toByteOffset: 4, as: UInt32.self)
    }

    /// Reads the header at `source` (8 readable bytes): the kind and the payload length.
    ///
    /// - Throws: ``WireError`` of kind ``WireError/Kind/corruptFrame`` when the magic is wrong
    ///   or the length exceeds `maximumPayload`; `streamOffset` places it in the stream.
    public static func read(
        from source: UnsafeRawPointer, maximumPayload: Int, streamOffset: Int
    ) throws(WireError) -> (kind: UInt8, length: Int) {
        let foundMagic = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 0, as: UInt16.self))
        guard foundMagic == magic else {
            throw WireError(
                .corruptFrame, at: streamOffset,
                "frame header starts with 0x\(String(foundMagic, radix: 16)), not the protocol's magic 0x5750")
        }
        let length = Int(UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard length <= maximumPayload else {
            throw WireError(
                .corruptFrame, at: streamOffset,
                "frame announces \(length) bytes, more than the maximum of \(maximumPayload)")
        }
        return (source.load(fromByteOffset: 2, as: UInt8.self), length)
    }
}
