internal import Dispatch
internal import Foundation
internal import PoolAdvisor

/// JSON Lines decoded in parallel: the bytes are cut at line ends into one chunk per core, each
/// chunk decoded on its own thread with its own decoder, and the chunks joined in order. A
/// large inputs file was read and decoded on one thread (~2.5 µs a line, half of `run tiny`'s
/// time): the job then waited on it, whatever mode it ran in.
///
/// Lines are split and trimmed as bytes (spaces, tabs and a CR at either end), never through
/// `String`, whose character-level split and Foundation's trimming cost more than the decoding.
enum InputLines {
    /// The first line that did not decode: its number and the decoder's error.
    struct Malformed: Error {
        var line: Int
        var error: any Error
    }

    /// Below this many bytes one thread decodes it all (starting threads would cost more).
    static let parallelThreshold = 1 << 20

    /// A line that is not UTF-8 text.
    struct NotUTF8: Error, CustomStringConvertible {
        var description: String { "it is not UTF-8 text (JSON Lines are UTF-8)" }
    }

    /// Every non-blank line decoded as `Input`, with its line number (from 1). A UTF-8 byte
    /// order mark at the start is skipped.
    /// - Parameter chunks: how many pieces to decode at once (the cores; tests vary it).
    /// - Throws: ``Malformed`` for the lowest malformed line (invalid UTF-8 included).
    static func decode<Input: Decodable & Sendable>(
        _ type: Input.Type, from bytes: Data, chunks count: Int = Machine.usableCores
    ) throws(Malformed) -> (inputs: [Input], lines: [Int]) {
        let decoded = decodePrefix(type, from: bytes, chunks: count)
        if let malformed = decoded.malformed { throw malformed }
        return (decoded.inputs, decoded.lines)
    }

    /// The lines before the lowest malformed one decoded as `Input`, with their line numbers
    /// (from 1), and that malformed line (nil when there is none): a job read in blocks runs
    /// what comes before a bad line, then stops there.
    /// - Parameters:
    ///   - atFileStart: whether `bytes` start the file, where a UTF-8 byte order mark is skipped.
    ///   - chunks: how many pieces to decode at once (the cores; tests vary it).
    static func decodePrefix<Input: Decodable & Sendable>(
        _ type: Input.Type, from bytes: Data, atFileStart: Bool = true, chunks count: Int = Machine.usableCores
    ) -> (inputs: [Input], lines: [Int], malformed: Malformed?) {
        let chunks =
            bytes.count < parallelThreshold && count == Machine.usableCores
            ? [0..<bytes.count] : split(bytes, into: count)
        let results = Locked<[Int: Chunk<Input>]>([:])
        DispatchQueue.concurrentPerform(iterations: chunks.count) { index in
            let chunk = decodeChunk(type, bytes, chunks[index], skipsMark: atFileStart && index == 0)
            results.withLock { $0[index] = chunk }
        }
        var inputs: [Input] = []
        var lines: [Int] = []
        inputs.reserveCapacity(results.withLock { $0.values.reduce(0) { $0 + $1.inputs.count } })

        lines.reserveCapacity(inputs.capacity)
        var linesBefore = 0
        for index in chunks.indices {
            // Taken out as it is joined: the inputs are never held twice.
            guard let chunk = results.withLock({ $0.removeValue(forKey: index) }) else { continue }
            inputs.append(contentsOf: chunk.inputs)
            lines.append(contentsOf: chunk.lines.lazy.map { $0 + linesBefore })
            if let failure = chunk.failure {
                return (inputs, lines, Malformed(line: linesBefore + failure.line, error: failure.error))
            }
            linesBefore += chunk.lineCount
        }
        return (inputs, lines, nil)
    }

    /// One chunk's inputs, their line numbers within the chunk, its line count, and its first
    /// malformed line (decoding stops there).
    private struct Chunk<Input: Sendable>: Sendable {
        var inputs: [Input] = []
        var lines: [Int] = []
        var lineCount = 0
        var failure: Malformed?
    }

    /// `count` ranges of about equal size, each ending just after a newline (the last at the end).
    static func split(_ bytes: Data, into count: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        for part in 1..<max(1, count) {
            var end = max(start, bytes.count * part / count)
            while end < bytes.count, bytes[bytes.startIndex + end] != UInt8(ascii: "\n") { end += 1 }
            end = min(bytes.count, end + 1)
            ranges.append(start..<end)
            start = end
        }
        ranges.append(start..<bytes.count)
        return ranges.filter { !$0.isEmpty }
    }

    private static func decodeChunk<Input: Decodable & Sendable>(
        _ type: Input.Type, _ bytes: Data, _ range: Range<Int>, skipsMark: Bool
    ) -> Chunk<Input> {
        var chunk = Chunk<Input>()
        let decoder = JSONDecoder()
        bytes.withUnsafeBytes { (all: UnsafeRawBufferPointer) in
            let buffer = UnsafeRawBufferPointer(rebasing: all[range])
            // A UTF-8 byte order mark (written by some Windows tools) is not part of line 1.
            let mark: [UInt8] = [0xEF, 0xBB, 0xBF]
            var lineStart = skipsMark && buffer.starts(with: mark) ? 3 : 0
            while lineStart < buffer.count {
                var lineEnd = lineStart
                while lineEnd < buffer.count, buffer[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                chunk.lineCount += 1
                var first = lineStart
                var last = lineEnd
                while first < last, isBlank(buffer[first]) { first += 1 }
                while last > first, isBlank(buffer[last - 1]) { last -= 1 }
                if first < last {
                    let bytes = UnsafeRawBufferPointer(rebasing: buffer[first..<last])
                    // A canonical whole number is ASCII, so valid UTF-8: no check needed.
                    if let number = JSONScalars.decode(Input.self, bytes) {
                        chunk.inputs.append(number)
                        chunk.lines.append(chunk.lineCount)
                        lineStart = lineEnd + 1
                        continue
                    }
                    guard String(validating: bytes, as: UTF8.self) != nil else {
                        chunk.failure = Malformed(line: chunk.lineCount, error: NotUTF8())
                        return
                    }
                    do {
                        let line = Data(bytes)
                        chunk.inputs.append(try decoder.decode(Input.self, from: line))
                        chunk.lines.append(chunk.lineCount)
                    } catch {
                        chunk.failure = Malformed(line: chunk.lineCount, error: error)
                        return
                    }
                }
                lineStart = lineEnd + 1
            }
        }
        return chunk
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }
}
