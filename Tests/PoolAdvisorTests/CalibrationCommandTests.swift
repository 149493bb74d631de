import Foundation
import Testing

@Suite("pool-advisor with a hostile calibration cache", .serialized, .timeLimit(.minutes(10)))
struct CalibrationCommandTests {
    /// Calibrates into a private cache and returns the cache file's path.
    func calibratedCache(_ scratch: ScratchDirectory) throws -> String {
        let first = try runCommand(["calibrate"], environment: ["XDG_CACHE_HOME": scratch.path])
        #expect(first.status == 0, "\(first.error)")
        #expect(first.output.contains("measured "), "when it was measured: \(first.output)")
        #expect(first.output.contains("quietest round"), "how it was measured: \(first.output)")
        let directory = scratch.path + "/pool-advisor"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }
        #expect(names.count == 1)
        return directory + "/" + (names.first ?? "missing")
    }

    /// The cache file with `field` set to the literal JSON `value`.
    func poison(_ path: String, _ field: String, _ value: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let poisoned = text.replacingOccurrences(
            of: "\"\(field)\" : [^,\n]*", with: "\"\(field)\" : \(value)", options: .regularExpression)
        #expect(poisoned != text)
        try poisoned.write(toFile: path, atomically: false, encoding: .utf8)
    }

    @Test("a cached round trip of 1e308 is measured again with a note; run and profile do not crash")
    func hugeRoundTrip() throws {
        let scratch = try ScratchDirectory()
        let cache = try calibratedCache(scratch)
        let inputs = try scratch.file("in.jsonl", (1...40).map { "\($0 * 10)\n" }.joined())
        for command in [["run", "sleep", "--inputs", inputs], ["profile", "sleep", "--budget", "1"]] {
            try poison(cache, "roundTripSeconds", "1e308")
            let result = try runCommand(command, environment: ["XDG_CACHE_HOME": scratch.path])
            #expect(result.status == 0, "\(command[0]): \(result.error)")
            #expect(
                result.error.contains("note: the cached calibration \(cache) is not used: roundTripSeconds = 1e+308"))
            #expect(result.error.contains("measuring again"))
        }
        let again = try String(contentsOfFile: cache, encoding: .utf8)
        #expect(!again.contains("1e+308") && !again.contains("1e308"), "the cache was measured again")
    }

    @Test(
        "garbage, negative and non-numeric caches are measured again with a note",
        arguments: [
            ("roundTripSeconds", "-1", "roundTripSeconds = -1.0 is outside"),
            ("threadDispatchSeconds", "NaN", "not a calibration"), ("usableCores", "\"two\"", "not a calibration"),
        ])
    func badFigures(_ field: String, _ value: String, _ reason: String) throws {
        let scratch = try ScratchDirectory()
        let cache = try calibratedCache(scratch)
        try poison(cache, field, value)
        let result = try runCommand(["calibrate"], environment: ["XDG_CACHE_HOME": scratch.path])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains(reason), "\(result.error)")
        #expect(result.error.contains("calibrating this machine"), "measured again: \(result.error)")
    }
}
