import Foundation
import PoolAdvisor
import Testing

/// `tasks`: what an input line is, examples a new user can run at once, and hints that name a
/// program's own task the way it must be written.
@Suite("tasks: input shapes and example inputs", .timeLimit(.minutes(5)))
struct TasksCommandTests {
    @Test("every reference workload is listed with what an input line is and an example; stages are not")
    func listing() throws {
        let result = try runCommand(["tasks"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("input: an integer: microseconds to sleep"), "\(result.output)")
        #expect(result.output.contains("e.g.   5000"), "\(result.output)")
        #expect(result.output.contains("e.g.   {\"iterations\":1500000,\"seed\":"), "\(result.output)")
        #expect(!result.output.contains(MixedFetch.name) && !result.output.contains(MixedCompute.name))
        for workload in ReferenceWorkloads.all {
            #expect(result.output.contains("  \(workload.workloadName) "), "\(workload.workloadName) listed")
            #expect(result.output.contains("input: \(workload.inputMeaning)"), "\(workload.workloadName)'s input")
        }
        let large = try runCommand(["tasks", "large-payload"])
        #expect(large.output.contains("values)"), "a long byte array is shortened: \(large.output)")
        #expect(large.output.split(separator: "\n").allSatisfy { $0.count < 300 })
    }

    @Test("tasks NAME --example N writes N lines that run as they are", arguments: ["cpu", "mixed", "sleep"])
    func examplesRun(_ name: String) throws {
        let examples = try runCommand(["tasks", name, "--example", "3"])
        #expect(examples.status == 0, "\(examples.error)")
        #expect(examples.output.split(separator: "\n").count == 3, "\(examples.output)")
        let inputs = try temporaryFile("\(name)-examples.jsonl", examples.output)
        let run = try runCommand(["run", name, "--inputs", inputs, "--mode", "serial", "--quiet"])
        #expect(run.status == 0, "\(run.error)")
        #expect(run.output.split(separator: "\n").count == 3)
    }

    @Test("mistakes: --example without a name, a task without examples, a name without its module")
    func mistakes() throws {
        let huge = try runCommand(["tasks", "large-payload", "--example", "1000"])
        #expect(huge.status == 2)
        #expect(huge.error.contains("ask for at most"), "a bounded output: \(huge.error)")
        #expect(huge.output.isEmpty)
        let noName = try runCommand(["tasks", "--example", "2"])
        #expect(noName.status == 2)
        #expect(noName.error.contains("--example needs a task NAME"), "\(noName.error)")
        let own = try runCommand(
            ["cli", "tasks", "PoolTestFixtures.Faulty", "--example", "2"], executable: fixtureWorkerPath)
        #expect(own.status == 2)
        #expect(own.error.contains("has no example inputs"), "\(own.error)")
        #expect(own.error.contains("See 'pool-test-worker tasks --help'"), "the program's own name: \(own.error)")
        // docs/cli.md's own-task example, built into the test tool: named without its module, then with it.
        let checksum = try runCommand(["profile", "Checksum"], executable: testToolPath)
        #expect(checksum.status == 2)
        #expect(
            checksum.error.contains("did you mean 'pool_advisor_test_tool.Checksum'?"), "\(checksum.error)")
        #expect(checksum.error.contains("See 'pool-advisor-test-tool profile --help'"), "\(checksum.error)")
        let file = try temporaryFile("bytes.txt", "abc")
        let paths = try temporaryFile("paths.jsonl", "\"\(file)\"\n\"\(file)\"\n")
        let summed = try runCommand(
            ["run", "pool_advisor_test_tool.Checksum", "--inputs", paths, "--mode", "serial", "--quiet"],
            executable: testToolPath)
        #expect(summed.status == 0, "\(summed.error)")
        let abc: UInt64 = (97 * 31 + 98) * 31 + 99
        #expect(summed.output == "\(abc)\n\(abc)\n")
        let bare = try runCommand(["cli", "profile", "Faulty"], executable: fixtureWorkerPath)
        #expect(bare.status == 2)
        #expect(bare.error.contains("did you mean 'PoolTestFixtures.Faulty'?"), "\(bare.error)")
    }
}
