import Foundation
import PoolAdvisor
import Testing

@testable import PoolAdvisorCLI

/// `run --timeout P%`: a call that runs past P% of the median successful call fails alone (its
/// worker is killed and replaced), as GNU parallel's `--timeout 200%`.
@Suite("run --timeout P%: a limit from the median successful call", .serialized, .timeLimit(.minutes(5)))
struct RelativeTimeoutTests {
    @Test("an input 3000 times the others' length is killed at 50 times the median; the others succeed")
    func outlierIsKilled() throws {
        // Sleeps of 10 ms, and one of 30 s: at 5000% of a 10 ms median the limit is about 0.5 s,
        // far above any normal call however busy the machine, far below the outlier.
        let waits = Array(repeating: 10_000, count: 12) + [30_000_000] + Array(repeating: 10_000, count: 5)
        let inputs = try temporaryFile("outlier.jsonl", waits.map { "\($0)\n" }.joined())
        let started = Date()
        for mode in [["--mode", "processes", "--workers", "2"], []] {
            let result = try runCommand(
                ["run", "sleep", "--inputs", inputs, "--timeout", "5000%", "--halt", "never"] + mode)
            #expect(result.status == 3, "\(mode): \(result.error)")
            #expect(result.error.contains("1 of 18 inputs failed; the first, for line 13"), "\(mode): \(result.error)")
            #expect(result.error.contains("task timeout"), "\(mode): \(result.error)")
            #expect(result.output.split(separator: "\n").count == 17, "the others' outputs")
            if mode.isEmpty {
                // Threads were advised; with a timeout every call runs in a worker, and the
                // summary says what ran.
                #expect(result.error.contains("every call in a worker process"), "\(result.error)")
            }
        }
        #expect(Date().timeIntervalSince(started) < 60, "the 30 s input was stopped, not waited for")
    }

    @Test("a percentage under 100, or one with a thread mode or a staged task, is refused with what to give")
    func mistakes() throws {
        let inputs = try temporaryFile("waits.jsonl", "1000\n2000\n")
        let low = try runCommand(["run", "sleep", "--inputs", inputs, "--timeout", "50%"])
        #expect(low.status == 2)
        #expect(low.error.contains("a percentage from 100% to 100000%"), "\(low.error)")
        let threads = try runCommand(["run", "sleep", "--inputs", inputs, "--timeout", "200%", "--mode", "threads"])
        #expect(threads.status == 2)
        #expect(threads.error.contains("--timeout needs worker processes"), "\(threads.error)")
        let staged = try runCommand(["run", "mixed", "--inputs", inputs, "--timeout", "200%"])
        #expect(staged.status == 2)
        #expect(staged.error.contains("give --timeout SECONDS"), "\(staged.error)")
    }

    @Test("the limit: none before three successes, then P% of the median, never under 50 ms")
    func limitFollowsTheMedian() {
        let timeout = TaskTimeLimit.percentOfMedian(200)
        timeout.observe(successfulCallSeconds: 1.0)
        timeout.observe(successfulCallSeconds: 3.0)
        #expect(timeout.limit == nil)
        timeout.observe(successfulCallSeconds: 2.0)
        #expect(timeout.limit == .seconds(4))
        for _ in 0..<10 { timeout.observe(successfulCallSeconds: 0.001) }
        #expect(timeout.limit == .milliseconds(50), "the floor")
        let fixed = TaskTimeLimit(.seconds(2))
        fixed.observe(successfulCallSeconds: 100)
        #expect(fixed.limit == .seconds(2), "a fixed limit moves only when set")
        #expect(CallTimeout(parsing: "200%") == .percentOfMedian(200))
        #expect(CallTimeout(parsing: "1.5") == .seconds(1.5))
        #expect(
            CallTimeout(parsing: "99%") == nil && CallTimeout(parsing: "x%") == nil && CallTimeout(parsing: "0") == nil)
    }
}
