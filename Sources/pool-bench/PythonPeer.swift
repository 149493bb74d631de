import Foundation

/// Runs one of the Python peer scripts kept in `Sources/pool-bench/Peers/` and returns the
/// figures it printed; `nil` (with the reason) when python3 or the script is missing.
enum PythonPeer {
    /// The folder of the peer scripts: `POOL_BENCH_PEERS` if set, else next to this source
    /// file in the checkout the benchmark was built from.
    static var scriptsFolder: String {
        if let override = ProcessInfo.processInfo.environment["POOL_BENCH_PEERS"] { return override }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Peers").path
    }

    struct Figure {
        let figure: String
        let value: Double
        let unit: String
        /// The implementation's name when the script names it (several peers per script).
        let peer: String?
    }

    static func run(script: String, arguments: [String]) -> Result<[Figure], PeerUnavailable> {
        let path = scriptsFolder + "/" + script
        guard FileManager.default.fileExists(atPath: path) else {
            return .failure(PeerUnavailable(reason: "\(path) not found (set POOL_BENCH_PEERS to the Peers folder)"))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", path] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        do { try process.run() } catch {
            return .failure(PeerUnavailable(reason: "python3 could not be started: \(error)"))
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return .failure(
                PeerUnavailable(reason: "python3 \(script) exited with status \(process.terminationStatus)"))
        }
        let figures = String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line -> Figure? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let figure = object["figure"] as? String, let value = object["value"] as? Double,
                let unit = object["unit"] as? String
            else { return nil }
            return Figure(figure: figure, value: value, unit: unit, peer: object["peer"] as? String)
        }
        return .success(figures)
    }

    struct PeerUnavailable: Error {
        let reason: String
    }
}
