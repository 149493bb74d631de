import Foundation
import PoolAdvisor
import Testing

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

        var broken = lines
        broken[200_001] = "{oops"
        broken[230_000] = "also bad"
        let malformed = try temporaryFile("large-bad.jsonl", broken.joined(separator: "\n") + "\n")
        let failed = try runCommand(["run", "tiny", "--inputs", malformed, "--mode", "serial", "--quiet"])
        #expect(failed.status == 1)
        #expect(failed.error.contains("large-bad.jsonl:200002: not a valid input"), "\(failed.error)")
        #expect(failed.output.isEmpty, "nothing runs before every line is checked")
    }
}
