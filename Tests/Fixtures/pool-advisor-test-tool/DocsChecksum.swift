// The "Your own tasks" example of docs/cli.md, as it is written there (its `main` line is this
// tool's main.swift): building this tool compiles the example.
import Foundation
import PoolAdvisor  // PoolTask
import PoolAdvisorCLI

struct Checksum: PoolTask {
    static func run(_ path: String) throws -> UInt64 {
        try Data(contentsOf: URL(fileURLWithPath: path)).reduce(0) { $0 &* 31 &+ UInt64($1) }
    }
}
