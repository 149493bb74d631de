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
