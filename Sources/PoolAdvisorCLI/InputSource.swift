internal import Foundation
internal import PoolAdvisor

/// `run`'s inputs, a block at a time, decoded: what lets a job of any length run in bounded
/// memory (``InputBlocks``). Each block's inputs come with their line numbers in the file; a
/// malformed line ends the inputs there, and the inputs before it still run.
final class InputSource<Input: Sendable> {
    /// One block's inputs, their line numbers, and the error of a malformed line that ends the
    /// inputs after them (nil: the block was whole).
    struct Block {
        var inputs: [Input]
        var lines: [Int]
        var malformed: CommandFailure?
    }

    let blocks: InputBlocks
    /// Decodes a block: its inputs and their line numbers within it (from 1), and a malformed
    /// line's error, which names the line in the file (the block starts after `linesBefore`).
    private let decode:
        (_ bytes: Data, _ atFileStart: Bool, _ linesBefore: Int) -> (
            inputs: [Input], lines: [Int], malformed: CommandFailure?
        )
    private var ended = false

    private init(
        _ blocks: InputBlocks,
        decode: @escaping (Data, Bool, Int) -> (inputs: [Input], lines: [Int], malformed: CommandFailure?)
    ) {
        self.blocks = blocks
        self.decode = decode
    }

    var path: String { blocks.path }

    /// The next block, nil after the last (or after a malformed line).
    /// - Throws: ``CommandFailure`` when the file cannot be read or a line is too long.
    func next() throws(CommandFailure) -> Block? {
        guard !ended else { return nil }
        let atFileStart = blocks.isFirst
        let before = blocks.linesBefore
        guard let bytes = try blocks.next() else {
            ended = true
            return nil
        }
        if atFileStart, bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw CommandFailure(
                message:
                    "cannot read the inputs file '\(path)': it is UTF-16 text, and JSON Lines are UTF-8; convert it (iconv -f UTF-16 -t UTF-8 '\(path)' > inputs.jsonl)"
            )
        }
        let decoded = decode(bytes, atFileStart, before)
        if decoded.malformed != nil { ended = true }
        return Block(inputs: decoded.inputs, lines: decoded.lines.map { $0 + before }, malformed: decoded.malformed)
    }

    /// How many non-blank lines a regular file has, for the progress display's total, and of
    /// those how many `chosen` keeps; nil for a FIFO or device, which can be read only once.
    /// One pass over the bytes, a block at a time (a hundred megabytes in a tenth of a second).
    func count(chosen: (Int) -> Bool) throws(CommandFailure) -> (lines: Int, inputs: Int, chosen: Int)? {
        guard blocks.isRegularFile else { return nil }
        let counting = try InputBlocks(path: path)
        var line = 0
        var inputs = 0
        var kept = 0
        while let bytes = try counting.next() {
            bytes.withUnsafeBytes { raw in
                var blank = true
                for byte in raw {
                    if byte == UInt8(ascii: "\n") {
                        line += 1
                        if !blank {
                            inputs += 1
                            if chosen(line) { kept += 1 }
                        }
                        blank = true
                    } else if blank, byte != UInt8(ascii: " "), byte != UInt8(ascii: "\t"), byte != UInt8(ascii: "\r") {
                        blank = false
                    }
                }
                if raw.last != UInt8(ascii: "\n"), !raw.isEmpty {
                    line += 1
                    if !blank {
                        inputs += 1
                        if chosen(line) { kept += 1 }
                    }
                }
            }
        }
        return (line, inputs, kept)
    }
}

extension InputSource {
    /// The JSON Lines inputs of `task` in the file at `path`.
    static func inputs<Task: PoolTask>(of task: Task.Type, at path: String) throws(CommandFailure) -> InputSource
    where Input == Task.Input {
        InputSource(try InputBlocks(path: path)) { bytes, atFileStart, linesBefore in
            let decoded = InputLines.decodePrefix(Task.Input.self, from: bytes, atFileStart: atFileStart)
            let malformed = decoded.malformed.map { error in
                TaskCatalog.invalidInput(
                    Task.self, path: path, line: linesBefore + error.line, reason: InputFiles.reason(error.error))
            }
            return (decoded.inputs, decoded.lines, malformed)
        }
    }

    /// Each non-blank line's text as it is, for a Python function (its worker parses the JSON,
    /// and a line it cannot parse fails that input alone).
    static func lineTexts(at path: String) throws(CommandFailure) -> InputSource where Input == String {
        try textLines(at: path) { InputFiles.lineTexts(in: $0) }
    }

    /// The command calls of `--exec TEMPLATE`, one per non-blank line of the file at `path`: a
    /// JSON string line gives its value, any other line its text.
    static func commandCalls(_ template: CommandTemplate, at path: String) throws(CommandFailure) -> InputSource
    where Input == CommandCall {
        try textLines(at: path) { text in
            let (arguments, lines) = InputFiles.arguments(in: text)
            return (arguments.map(template.call(for:)), lines)
        }
    }

    /// Inputs made from each block's UTF-8 text by `split` (inputs and their line numbers).
    private static func textLines(at path: String, _ split: @escaping (String) -> ([Input], [Int]))
        throws(CommandFailure) -> InputSource
    {
        InputSource(try InputBlocks(path: path)) { bytes, _, _ in
            guard let text = String(data: bytes, encoding: .utf8) else {
                return (
                    [], [],
                    CommandFailure(
                        message: "cannot read the inputs file '\(path)': it is not UTF-8 text (JSON Lines are UTF-8)")
                )
            }
            let (inputs, lines) = split(text)
            return (inputs, lines, nil)
        }
    }
}
