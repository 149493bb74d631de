internal import Foundation
internal import Glibc
internal import PoolSystem

/// An inputs file read a block at a time, each block cut just after a line end: a job holds one
/// block's lines, decoded, while it runs them, so a file of any length, or a FIFO that never
/// ends, runs in bounded memory. Every read was of the whole file before (`run tiny` over 4 M
/// lines peaked at 458 MB; `--inputs /dev/zero` grew until the machine ran out).
///
/// A line longer than ``longestLine`` is an error naming it, so no input can make a block grow
/// without bound (`/dev/zero` has no line end at all).
final class InputBlocks {
    /// About this many bytes per block: a million lines of a small integer, a few thousand of a
    /// large object; enough that a block boundary's wait for the slowest item (the pool drains
    /// between blocks) is a small share of the block.
    static let defaultBlockBytes = 8 << 20
    /// The block size `run` uses: `POOL_ADVISOR_BLOCK_BYTES` when it is a number from 1 to
    /// ``longestLine`` (less memory, or many blocks in a test), else ``defaultBlockBytes``.
    static var blockBytes: Int {
        guard let text = Environment.value("POOL_ADVISOR_BLOCK_BYTES"), let bytes = Int(text),
            (1...longestLine).contains(bytes)
        else { return defaultBlockBytes }
        return bytes
    }
    /// The most lines per block: what a job holds in flight grows with its items (each result
    /// waits, boxed, for the writer), so short lines make short blocks too. 4 M lines of `tiny`
    /// in 8 MiB blocks of 1.2 M lines peaked at 215 MB on threads.
    static let linesPerBlock = 1 << 17
    /// The longest line accepted, in bytes.
    static let longestLine = 64 << 20

    let path: String
    private let descriptor: Int32
    private let blockBytes: Int
    /// Bytes read but not yet handed out: the start of the next block's first line.
    private var carry = Data()
    /// How many of `carry`'s first bytes are known to hold no newline (a long line's growth is
    /// searched once, not again at every read).
    private var unbroken = 0
    private var atEnd = false
    /// Lines in the blocks handed out so far.
    private(set) var linesBefore = 0
    /// Whether the next block is the file's first (where a byte order mark may stand).
    private(set) var isFirst = true

    /// Opens `path` for reading in blocks.
    /// - Throws: ``CommandFailure`` saying why it cannot be read (missing, a directory,
    ///   unreadable: each named), before anything runs.
    init(path: String, blockBytes: Int = InputBlocks.blockBytes) throws(CommandFailure) {
        self.path = path
        self.blockBytes = max(1, blockBytes)
        func failure(_ why: String) -> CommandFailure {
            CommandFailure(message: "cannot read the inputs file '\(path)': \(why)")
        }
        switch OutputFiles.finalKind(path) {
        case .missing: throw failure("there is no such file")
        case .directory: throw failure("it is a directory; give a JSON Lines file, one input per line")
        case .unreadable(let why): throw failure(why)
        case .regular, .special, .symbolicLink: break
        }
        do throws(SystemCallError) {
            descriptor = try Files.openForReading(path)
        } catch {
            throw failure(error.reason)
        }
    }

    deinit { Descriptor.close(descriptor) }

    /// Whether the file is a regular file (whose lines can be counted before the job, as a FIFO's
    /// cannot).
    var isRegularFile: Bool { (try? Files.status(of: descriptor).kind) == .regular }

    /// Whether every block was handed out.
    var isFinished: Bool { atEnd && carry.isEmpty }

    /// The next block of whole lines (the last may lack its newline at the end of the file),
    /// nil after the last. ``linesBefore`` counts the lines before it until the next call.
    /// - Throws: ``CommandFailure`` for a read error or a line longer than ``longestLine``.
    func next() throws(CommandFailure) -> Data? {
        while true {
            if carry.count >= blockBytes || atEnd {
                if let end = lineLimit() { return take(upTo: end + 1) }
                if atEnd, carry.count <= blockBytes { return carry.isEmpty ? nil : take(upTo: carry.count) }
                if let end = cutPoint() { return take(upTo: end + 1) }
                if atEnd { return take(upTo: carry.count) }
            }
            // No line end yet in a block's worth: the first line grows with every read, and
            // past the limit it is an error.
            if carry.count > Self.longestLine {
                throw CommandFailure(
                    message:
                        "\(path):\(linesBefore + 1): a line longer than \(Self.longestLine >> 20) MiB, the most an input line may be; is it a JSON Lines file (one JSON value per line)?"
                )
            }
            try readMore()
        }
    }

    /// The ``linesPerBlock``th newline of `carry`, when it comes within `blockBytes` bytes.
    private func lineLimit() -> Int? {
        carry.withUnsafeBytes { raw -> Int? in
            var lines = 0
            // Bytes before `unbroken` hold no newline: a long line is not counted again at each read.
            for index in min(unbroken, raw.count)..<max(unbroken, min(blockBytes, raw.count))
            where raw[index] == UInt8(ascii: "\n") {
                lines += 1
                if lines == Self.linesPerBlock { return index }
            }
            return nil
        }
    }

    /// Where a block of `blockBytes` ends: the last newline in the first `blockBytes` bytes of
    /// `carry`, else the first one after them; nil when `carry` has none.
    private func cutPoint() -> Int? {
        let found = carry.withUnsafeBytes { raw -> Int? in
            var index = min(blockBytes, raw.count) - 1
            // Bytes before `unbroken` were searched already and hold no newline.
            while index >= unbroken {
                if raw[index] == UInt8(ascii: "\n") { return index }
                index -= 1
            }
            index = max(blockBytes, unbroken)
            while index < raw.count {
                if raw[index] == UInt8(ascii: "\n") { return index }
                index += 1
            }
            return nil
        }
        if found == nil { unbroken = carry.count }
        return found
    }

    /// Hands out `carry`'s first `count` bytes as a block.
    private func take(upTo count: Int) -> Data {
        let block = carry.prefix(count)
        carry = Data(carry.dropFirst(count))
        unbroken = 0
        linesBefore += lineCount(of: block)
        isFirst = false
        return Data(block)
    }

    /// The lines in `block`: each newline ends one, and a last line without one (at the end of
    /// the file) counts too.
    private func lineCount(of block: Data) -> Int {
        let newlines = block.withUnsafeBytes { $0.count(where: { $0 == UInt8(ascii: "\n") }) }
        return newlines + (block.last == UInt8(ascii: "\n") || block.isEmpty ? 0 : 1)
    }

    /// Reads up to a block's worth more, or notes the end of the file.
    private func readMore() throws(CommandFailure) {
        let wanted = max(blockBytes - carry.count, 1 << 16)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: wanted, alignment: 1)
        defer { buffer.deallocate() }
        let moved: Descriptor.Progress
        do throws(SystemCallError) {
            moved = try Descriptor.read(descriptor, into: buffer.baseAddress!, count: wanted)
        } catch {
            throw CommandFailure(message: "cannot read the inputs file '\(path)': \(error.reason)")
        }
        switch moved {
        case .moved(0): atEnd = true
        case .moved(let count): carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        case .wouldBlock: Thread.sleep(forTimeInterval: 0.001)
        }
    }
}
