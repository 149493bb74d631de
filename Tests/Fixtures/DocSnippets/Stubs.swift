// The names the README's and docs' snippets take as given (a task, some paths, a few helpers),
// declared so that every snippet compiles as written. None of this runs: the snippets are
// compiled, not called.
import Foundation
import PoolAdvisor

/// The snippets' example task: a checksum of a file's bytes.
struct Checksum: PoolTask {
    static func run(_ path: String) throws -> UInt64 {
        try Data(contentsOf: URL(fileURLWithPath: path)).reduce(0) { $0 &* 31 &+ UInt64($1) }
    }
}

/// The fetch stage of the pipeline snippet.
struct Wait: PoolTask {
    static func run(_ input: Int) -> Int { input }
}

/// The compute stage of the pipeline snippet.
struct Compute: PoolTask {
    static func run(_ input: Int) -> Int { input * 2 }
}

/// The pipeline snippet's staged task.
struct WaitThenCompute: StagedTask {
    typealias Fetch = Wait
    typealias Compute = DocSnippets.Compute
}

let paths: [String] = []
let path = ""
let urls: [String] = []
let inputs: [Int] = []

func checksum(_ path: String) throws -> UInt64 { try Checksum.run(path) }
func fileSize(_ path: String) throws -> Int { 0 }
func fetch(_ url: String) throws -> String { url }
func openConnection(for worker: Int) throws {}

/// A profile and advice the snippets start from (never computed: nothing here runs).
let profile: TaskProfile = { fatalError("a documentation stub: the snippets are compiled, not run") }()
let advice: Recommendation = { fatalError("a documentation stub: the snippets are compiled, not run") }()
