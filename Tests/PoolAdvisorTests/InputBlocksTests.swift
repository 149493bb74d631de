import Foundation
import PoolAdvisor
import Testing

@testable import PoolAdvisorCLI

#if canImport(Glibc)
    import Glibc
#endif

/// `run` reads its inputs a block at a time, so a file of any length (or a FIFO, or
/// `/dev/zero`) runs in bounded memory; each block is cut at a line end and the line numbers
/// run on across blocks.
@Suite("run: inputs read in blocks", .serialized, .timeLimit(.minutes(5)))
struct InputBlocksTests {
    /// Every input and its line number, read through blocks of `blockBytes`.
    static func readAll(_ path: String, blockBytes: Int) throws -> (inputs: [Int], lines: [Int], blocks: Int) {
        let blocks = try InputBlocks(path: path, blockBytes: blockBytes)
        var inputs: [Int] = []
        var lines: [Int] = []
        var count = 0
        while true {
            let before = blocks.linesBefore
            guard let bytes = try blocks.next() else { break }
            let decoded = try InputLines.decode(Int.self, from: bytes, chunks: 1)
            inputs += decoded.inputs
            lines += decoded.lines.map { $0 + before }
            count += 1
        }
        return (inputs, lines, count)
    }

    @Test(
        "blocks of 1 byte to the whole file give every input once, in order, with its line number",
        arguments: [1, 7, 64, 1 << 20])
    func blocksAreExact(_ blockBytes: Int) throws {
        var text = ""
        var expected: [(Int, Int)] = []
        for line in 1...500 {
            if line % 11 == 0 {
                text += "  \n"
            } else {
                text += "\(line * 3)\n"
                expected.append((line * 3, line))
            }
        }
        text += "9999"  // a last line without its newline
        expected.append((9999, 501))
        let path = try temporaryFile("blocks.jsonl", text)
        let read = try Self.readAll(path, blockBytes: blockBytes)
        #expect(read.inputs == expected.map(\.0))
        #expect(read.lines == expected.map(\.1))
        if blockBytes == 1 << 20 { #expect(read.blocks == 1) } else { #expect(read.blocks > 1) }
    }

    @Test("a line longer than the limit is an error naming it, after the lines before it were handed out")
    func endlessLineIsRefused() throws {
        let blocks = try InputBlocks(path: "/dev/zero", blockBytes: 1 << 20)
        #expect {
            _ = try blocks.next()
        } throws: { error in
            "\(error)".contains("/dev/zero:1: a line longer than 64 MiB")
        }
    }

    @Test("the input source decodes a block's lines before a malformed one, and names it")
    func malformedEndsTheInputs() throws {
        let text = (1...100).map { "\($0)\n" }.joined() + "oops\n" + "101\n"
        let path = try temporaryFile("malformed.jsonl", text)
        struct Echo: PoolTask { static func run(_ input: Int) -> Int { input } }
        let source = try InputSource.inputs(of: Echo.self, at: path)
        let block = try #require(try source.next())
        #expect(block.inputs == Array(1...100))
        #expect(block.lines == Array(1...100))
        #expect(block.malformed?.message.contains("malformed.jsonl:101: not a valid input") == true)
        #expect(try source.next() == nil, "nothing after a malformed line")
        let counted = try #require(try source.count { $0 % 2 == 0 })
        #expect(counted.lines == 102 && counted.inputs == 102 && counted.chosen == 51)
    }
}

/// The command line over inputs read in many blocks (`POOL_ADVISOR_BLOCK_BYTES`).
@Suite("run: a job of many blocks", .serialized, .timeLimit(.minutes(10)))
struct BlockJobTests {
    static let small = ["POOL_ADVISOR_BLOCK_BYTES": "200"]

    @Test(
        "auto and fixed modes over 60 blocks: every output once, in order",
        arguments: [[], ["--mode", "threads"], ["--mode", "processes"]])
    func manyBlocks(_ mode: [String]) throws {
        let values = (0..<3000).map { $0 % 97 }
        let inputs = try temporaryFile("blocks-\(mode.count).jsonl", values.map { "\($0)\n" }.joined())
        let result = try runCommand(["run", "tiny", "--inputs", inputs] + mode, environment: Self.small)
        #expect(result.status == 0, "\(result.error)")
        let expected = try runCommand(["run", "tiny", "--inputs", inputs, "--mode", "serial", "--quiet"])
        #expect(result.output == expected.output, "the same outputs as one block in serial")
        #expect(result.output.split(separator: "\n").count == values.count)
        #expect(result.error.contains("ran 3000 inputs"), "\(result.error)")
        if mode.isEmpty {
            #expect(result.error.contains("blocks, those after the first on the plan"), "\(result.error)")
        }
    }

    @Test("a malformed line in a later block: the inputs before it ran and are kept; the error names the line")
    func malformedLater() throws {
        let scratch = try ScratchDirectory()
        let lines = (0..<500).map { "\($0)\n" }.joined() + "{oops\n" + "7\n"
        let inputs = try scratch.file("in.jsonl", lines)
        let output = scratch.path + "/out.jsonl"
        let result = try runCommand(
            ["run", "tiny", "--inputs", inputs, "--mode", "threads", "--output", output], environment: Self.small)
        #expect(result.status == 1)
        #expect(result.error.contains("in.jsonl:501: not a valid input for"), "\(result.error)")
        #expect(result.error.contains("the 500 outputs before it are in"), "\(result.error)")
        let serial = try runCommand(
            [
                "run", "tiny", "--inputs", try scratch.file("good.jsonl", (0..<500).map { "\($0)\n" }.joined()),
                "--quiet",
            ])
        #expect(try String(contentsOfFile: output + ".partial", encoding: .utf8) == serial.output)
    }

    @Test("an endless line (/dev/zero) is an error, in bounded memory; a FIFO's lines run as they come")
    func endlessAndFIFO() throws {
        let zero = try runCommand(["run", "tiny", "--inputs", "/dev/zero", "--quiet"])
        #expect(zero.status == 1)
        #expect(zero.error.contains("/dev/zero:1: a line longer than 64 MiB"), "\(zero.error)")

        let scratch = try ScratchDirectory()
        let fifo = scratch.path + "/inputs.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Thread {
            guard let handle = FileHandle(forWritingAtPath: fifo) else { return }
            for chunk in stride(from: 0, to: 2000, by: 100) {
                handle.write(Data((chunk..<(chunk + 100)).map { "\($0 % 50)\n" }.joined().utf8))
            }
            try? handle.close()
        }
        writer.start()
        let result = try runCommand(["run", "tiny", "--inputs", fifo, "--mode", "threads"], environment: Self.small)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.split(separator: "\n").count == 2000)
        #expect(result.error.contains("ran 2000 inputs"), "\(result.error)")
    }
}

extension BlockJobTests {
    @Test(
        "the plain path (chunks run and encoded on the pool) stops at the lowest failing line with every output before it",
        arguments: [["--mode", "threads"], ["--mode", "serial"], ["--mode", "threads", "--chunk", "7"]])
    func plainPathFailure(_ mode: [String]) throws {
        let scratch = try ScratchDirectory()
        // disk-fsync refuses a negative size: lines 700 and 900 fail; the first is reported.
        let sizes = (1...1000).map { $0 == 700 || $0 == 900 ? -1 : 512 + $0 % 3 }
        let inputs = try scratch.file("in.jsonl", sizes.map { "\($0)\n" }.joined())
        let output = scratch.path + "/out.jsonl"
        let result = try runCommand(["run", "disk-fsync", "--inputs", inputs, "--output", output, "--quiet"] + mode)
        #expect(result.status == 1)
        #expect(result.error.contains("in.jsonl:700: the task failed"), "\(result.error)")
        let good = try scratch.file("good.jsonl", sizes.prefix(699).map { "\($0)\n" }.joined())
        let serial = try runCommand(["run", "disk-fsync", "--inputs", good, "--mode", "serial", "--quiet"])
        #expect(try String(contentsOfFile: output + ".partial", encoding: .utf8) == serial.output)
    }
}
