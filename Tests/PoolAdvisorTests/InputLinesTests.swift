import Foundation
import PoolAdvisor
import Testing

@testable import PoolAdvisorCLI

/// A large inputs file is decoded in chunks on several threads: the result must be the one a
/// single reader gives, line numbers included.
@Suite("run: a large inputs file, decoded in parallel", .serialized, .timeLimit(.minutes(5)))
struct InputLinesTests {
    @Test("every input in order with its line number across chunk boundaries; the malformed line is named exactly")
    func parallelDecodingIsExact() throws {
        // Blank and padded lines everywhere, so some fall on the cuts between chunks.
        var lines: [String] = []
        var values: [UInt64] = []
        for index in 0..<250_000 {
            switch index % 7 {
            case 0: lines.append("")
            case 3: lines.append("  \(index)\t\r")
            default: lines.append("\(index)")
            }
            if index % 7 != 0 { values.append(UInt64(index)) }
        }
        let text = lines.joined(separator: "\n") + "\n"
        #expect(text.utf8.count > 1 << 20, "large enough to be cut into chunks")
        let inputs = try temporaryFile("large.jsonl", text)
        let result = try runCommand(["run", "tiny", "--inputs", inputs, "--mode", "serial", "--quiet"])
        #expect(result.status == 0, "\(result.error)")
        let outputs = result.output.split(separator: "\n").compactMap { UInt64($0) }
        #expect(outputs.count == values.count)
        #expect(outputs == values.map(TinyTask.run), "the outputs of every input, in input order")

        // One bad line in each half: the first is named, whichever chunk finished first.
        var broken = lines
        broken[100_001] = "{oops"
        broken[230_000] = "also bad"
        let malformed = try temporaryFile("large-bad.jsonl", broken.joined(separator: "\n") + "\n")
        let failed = try runCommand(["run", "tiny", "--inputs", malformed, "--mode", "serial", "--quiet"])
        #expect(failed.status == 1)
        #expect(failed.error.contains("large-bad.jsonl:100002: not a valid input"), "\(failed.error)")
        // The file is two blocks of lines (``InputBlocks/linesPerBlock``): the inputs before the
        // bad line, in the first, ran and their outputs were written.
        let before = values.filter { $0 < 100_001 }.map(TinyTask.run)
        #expect(failed.output.split(separator: "\n").compactMap { UInt64($0) } == before)
    }

    /// What one reader, line by line, makes of `text`: the reference for the chunked decoder.
    static func reference(_ text: String) -> (inputs: [Int], lines: [Int]) {
        var inputs: [Int] = []
        var lines: [Int] = []
        // Scalars, not characters: "\r\n" is one Character, and must split like the bytes do.
        for (index, line) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = String(String.UnicodeScalarView(line)).trimmingCharacters(
                in: CharacterSet(charactersIn: " \t\r"))
            if let value = Int(trimmed) {
                inputs.append(value)
                lines.append(index + 1)
            }
        }
        return (inputs, lines)
    }

    @Test("cut into 1 to 8 chunks, a file decodes as one reader reads it", arguments: 1...8)
    func chunkCounts(_ chunks: Int) throws {
        let texts = [
            "", "\n\n", "7", "7\n", "1\n2\n3", " 1 \r\n\r\n\t2\n\n3\n",
            (0..<500).map { $0 % 5 == 0 ? "" : "\($0)" }.joined(separator: "\n"),
            String(repeating: " ", count: 70_000) + "42\n5",
        ]
        for text in texts {
            let decoded = try InputLines.decode(Int.self, from: Data(text.utf8), chunks: chunks)
            let expected = Self.reference(text)
            #expect(decoded.inputs == expected.inputs, "\(chunks) chunks: \(text.prefix(40).debugDescription)")
            #expect(decoded.lines == expected.lines, "\(chunks) chunks: \(text.prefix(40).debugDescription)")
        }
        let bad = Data(((0..<300).map { $0 == 170 || $0 == 250 ? "x" : "\($0)" }.joined(separator: "\n")).utf8)
        #expect(throws: InputLines.Malformed.self) { try InputLines.decode(Int.self, from: bad, chunks: chunks) }
        do {
            _ = try InputLines.decode(Int.self, from: bad, chunks: chunks)
        } catch {
            #expect(error.line == 171, "the lowest malformed line")
        }
    }

    @Test("not UTF-8: a bad line is named, a UTF-16 file is recognised, a UTF-8 byte order mark is skipped")
    func encodings() throws {
        let invalid = try temporaryFile("latin1.jsonl", "")
        try Data("\"ok\"\n\"caf".utf8 + [0xE9] + Data("\"\n".utf8)).write(to: URL(fileURLWithPath: invalid))
        let latin = try runCommand(["run", "--exec", "echo {}", "--inputs", invalid, "--quiet"])
        #expect(latin.status == 1)
        let sleepy = try temporaryFile("latin1-sleep.jsonl", "")
        try (Data("100\n".utf8) + Data([0x22, 0xE9, 0x22, 0x0A])).write(to: URL(fileURLWithPath: sleepy))
        let named = try runCommand(["run", "sleep", "--inputs", sleepy, "--quiet"])
        #expect(named.status == 1)
        #expect(named.error.contains("latin1-sleep.jsonl:2: not a valid input"), "\(named.error)")
        #expect(named.error.contains("it is not UTF-8 text"), "\(named.error)")

        let utf16 = try temporaryFile("utf16.jsonl", "")
        try "100\n200\n".data(using: .utf16)!.write(to: URL(fileURLWithPath: utf16))
        let wide = try runCommand(["run", "sleep", "--inputs", utf16, "--quiet"])
        #expect(wide.status == 1)
        #expect(wide.error.contains("it is UTF-16 text"), "\(wide.error)")

        let marked = try temporaryFile("bom.jsonl", "")
        try (Data([0xEF, 0xBB, 0xBF]) + Data("100\n200\n".utf8)).write(to: URL(fileURLWithPath: marked))
        let bom = try runCommand(["run", "sleep", "--inputs", marked, "--mode", "serial", "--quiet"])
        #expect(bom.status == 0, "\(bom.error)")
        #expect(bom.output == "100\n200\n")

        let crlf = try temporaryFile("crlf.jsonl", "a\r\nb\r\n")
        let commands = try runCommand(["run", "--exec", "echo {}", "--inputs", crlf, "--mode", "serial", "--quiet"])
        #expect(commands.status == 0, "\(commands.error)")
        #expect(commands.output.split(separator: "\n").count == 2, "one command per CRLF line: \(commands.output)")
    }
}
