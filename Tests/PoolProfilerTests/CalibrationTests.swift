import Foundation
import PoolExecutors
import PoolProfiler
import Testing

/// The fixture worker built with the tests (it has the entry guard, so it serves WorkerEcho).
let fixtureWorker: String = {
    let bundle =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("pool-test-worker").path
}()

@Suite struct CalibrationTests {
    @Test func eachValueIsPricedByThePathItsSizeTakes() {
        var machine = MachineProfile.typical(cores: 2)
        machine.ipcBandwidthBytesPerSecond = 1e9
        #expect(machine.transferSeconds(bytes: 1e6) == 1e-3, "no shared figure: the pipe's rate for all")
        machine.sharedMemoryBandwidthBytesPerSecond = 10e9
        machine.sharedMemoryThresholdBytes = 65_536
        #expect(machine.transferSeconds(bytes: 1e6) == 1e-4)
        #expect(machine.transferSeconds(bytes: 65_535) == 65_535 / 1e9)
        #expect(machine.transferSeconds(bytes: 65_536) == 65_536 / 10e9)
    }

    func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pa-cal-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func calibrationMeasuresCachesAndReusesTheProfile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let calibration = MachineCalibration(executable: .path(fixtureWorker), cacheDirectory: directory)
        #expect(calibration.cachedProfile() == nil)
        let measured = try calibration.profile()
        #expect(measured.usableCores == Machine.usableCores)
        #expect(measured.workerStartSeconds > 0 && measured.roundTripSeconds > 0)
        #expect(measured.ipcBandwidthBytesPerSecond > 0 && measured.threadStartSeconds > 0)
        // Both paths a value can take are measured, with the size that decides between them.
        #expect((measured.sharedMemoryBandwidthBytesPerSecond ?? 0) > 0)
        #expect(measured.sharedMemoryThresholdBytes == ProcessPool.Configuration().sharedMemoryThreshold)
        #expect(measured.threadDispatchSeconds > 0 && measured.processMapItemSeconds > 0)
        // A worker's start costs more than a round trip to a running one.
        #expect(measured.workerStartSeconds > measured.roundTripSeconds)

        let path = try #require(calibration.cachePath)
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try calibration.profile() == measured)  // from the cache, not measured again

        // Stale or corrupt caches are measured again.
        var strict = calibration
        strict.maximumAgeSeconds = -1
        #expect(strict.cachedProfile() == nil)
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: path))
        #expect(calibration.cachedProfile() == nil)
        let again = try calibration.profile()
        #expect(again.measuredAtEpochSeconds > measured.measuredAtEpochSeconds)
        #expect(calibration.cachedProfile() == again)
    }

    @Test func aWorkerThatCannotStartIsAnError() throws {
        let calibration = MachineCalibration(executable: .path("/nonexistent/worker"), cacheDirectory: nil)
        #expect(throws: PoolError.self) { try calibration.measure() }
    }
}

@Suite("A calibration cache is never trusted blindly")
struct CalibrationCacheTests {
    /// A measured profile, cached in a directory of its own (removed by the caller).
    func measuredCache() throws -> (MachineCalibration, MachineProfile, String, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pa-cal-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let calibration = MachineCalibration(executable: .path(fixtureWorker), cacheDirectory: directory)
        let measured = try calibration.profile()
        return (calibration, measured, try #require(calibration.cachePath), directory)
    }

    func write(_ profile: MachineProfile, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try encoder.encode(profile).write(to: URL(fileURLWithPath: path))
    }

    @Test("implausible, corrupt, huge or linked caches are not used, and the reason names the problem")
    func hostileCaches() throws {
        let (calibration, measured, path, directory) = try measuredCache()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(calibration.checkCache() == .init(profile: measured, problem: nil))
        #expect(measured.implausibility == nil)
        #expect(measured.method?.threadRounds ?? 0 >= 3 && measured.method?.workerRounds ?? 0 >= 3)

        let figures: [(WritableKeyPath<MachineProfile, Double>, Double, String)] = [
            (\.roundTripSeconds, 1e308, "roundTripSeconds"), (\.threadDispatchSeconds, -1, "threadDispatchSeconds"),
            (\.ipcBandwidthBytesPerSecond, 0, "ipcBandwidthBytesPerSecond"),
            (\.workerStartSeconds, .nan, "workerStartSeconds"), (\.threadStartSeconds, .infinity, "threadStartSeconds"),
        ]
        for (value, expected) in [(-5.0, "sharedMemoryBandwidthBytesPerSecond = -5.0"), (1e300, "1e+300")] {
            var hostile = measured
            hostile.sharedMemoryBandwidthBytesPerSecond = value
            try write(hostile, to: path)
            let check = calibration.checkCache()
            #expect(check.profile == nil && check.problem?.contains(expected) == true, "\(check.problem ?? "none")")
        }
        for (figure, value, name) in figures {
            var hostile = measured
            hostile[keyPath: figure] = value
            try write(hostile, to: path)
            let check = calibration.checkCache()
            #expect(check.profile == nil, "\(name) = \(value)")
            // JSON has no NaN or infinity: such a file does not even parse.
            let reason = value.isFinite ? "\(name) = " : "not a calibration"
            #expect(check.problem?.contains(reason) == true, "\(check.problem ?? "no problem")")
        }
        let texts: [(String, String)] = [
            ("{ not json", "not a calibration"), ("", "not a calibration"),
            (String(repeating: " ", count: 200_000) + "{}", "bytes, not a calibration"),
            ("{\"roundTripSeconds\": NaN}", "not a calibration"),
        ]
        for (text, reason) in texts {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let check = calibration.checkCache()
            #expect(check.profile == nil)
            #expect(check.problem?.contains(reason) == true, "\(check.problem ?? "no problem")")
        }
        // A link to a good cache is not followed (and a directory is not a file).
        let elsewhere = directory + "/elsewhere.json"
        try write(measured, to: elsewhere)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: elsewhere)
        #expect(calibration.checkCache().problem?.contains("symbolic link") == true)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        #expect(calibration.checkCache().problem?.contains("not a regular file") == true)
        try FileManager.default.removeItem(atPath: path)
        #expect(calibration.checkCache() == .init(profile: nil, problem: nil), "no cache is no problem")
    }

    @Test("the cache is written through an exclusive temporary file: a link at the path is replaced, not followed")
    func writeNeverFollowsALink() throws {
        let (calibration, _, path, directory) = try measuredCache()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let victim = directory + "/victim.txt"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: victim)
        let again = try calibration.profile()
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
        #expect(calibration.checkCache().profile == again)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(!names.contains { $0.hasSuffix(".tmp") })
    }

    @Test("a calibration whose rounds disagree, or measured beside busy programs, is noisy")
    func noiseIsFlagged() {
        let quiet = CalibrationMethod(threadRounds: 5, workerRounds: 3, spread: ["roundTripSeconds": 1.2])
        #expect(!quiet.isNoisy)
        let disagreeing = CalibrationMethod(
            threadRounds: 5, workerRounds: 3, spread: ["roundTripSeconds": 1.2, "threadDispatchSeconds": 146])
        #expect(disagreeing.noisyFigures == ["threadDispatchSeconds"])
        let busy = CalibrationMethod(threadRounds: 5, workerRounds: 3, spread: [:], otherProgramsCPUShare: 0.6)
        #expect(busy.isNoisy && busy.noisyFigures.isEmpty)
        // Said as what was seen: a busy neighbour only when one was measured.
        #expect(quiet.noiseDescription == nil)
        #expect(
            disagreeing.noiseDescription
                == "the rounds of threadDispatchSeconds 146.0× differed by more than 2.0× (slowest over quietest)")
        #expect(busy.noiseDescription == "other programs used 60 % of the CPU")
        // A hand-edited cache's numbers are said, never a trap.
        let absurd = CalibrationMethod(
            threadRounds: 5, workerRounds: 3, spread: ["roundTripSeconds": .infinity], otherProgramsCPUShare: 1e300)
        #expect(
            absurd.noiseDescription?.hasPrefix("other programs used 100 % of the CPU; the rounds of roundTripSeconds")
                == true)
    }
}
