import Testing

@testable import PoolAdvisorCLI

/// The progress line's ETA never promises a time that has already passed.
@Suite("progress ETA")
struct ProgressTests {
    @Test("an ETA from the rate; once the last items outlast the promise, the line says so")
    func etaThatDoesNotLie() {
        #expect(ProgressReporter.eta(remaining: 3.1, left: 12, sinceChange: 0.2, promised: 3.3) == "ETA 3.10 s")
        #expect(ProgressReporter.eta(remaining: .infinity, left: 300, sinceChange: 0.5, promised: .infinity) == "ETA –")
        // 294 of 300 done, 42 ms promised, nothing finished for 26 s: the stragglers are named.
        let stalled = ProgressReporter.eta(remaining: 0.042, left: 6, sinceChange: 26, promised: 0.042)
        #expect(stalled.hasPrefix("ETA – (none finished for 26"), "\(stalled)")
        #expect(stalled.hasSuffix("6 left)"), "\(stalled)")
        // Within a second of the promise, the ETA stands.
        #expect(ProgressReporter.eta(remaining: 0.5, left: 6, sinceChange: 1.2, promised: 0.5) == "ETA 500 ms")
    }
}
