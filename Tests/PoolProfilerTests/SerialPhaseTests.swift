import Testing

@testable import PoolProfiler

/// The serial phase's arithmetic on records as a loaded host produces them.
@Suite struct SerialPhaseTests {
    /// One call: `wall` and `runQueue` as read (a moment apart), `cpu` on the thread's clock.
    func record(wall: Int64, runQueue: Int64, cpu: Int64) -> CallRecord {
        CallRecord(
            calls: 1, from: .zero,
            to: ProbeReading(
                wall: wall, threadCPU: cpu, run: cpu, runQueue: runQueue, processCPU: cpu, childrenCPU: 0,
                voluntarySwitches: 0, involuntarySwitches: 1))
    }

    @Test(
        "a run-queue delay read late in one record and early in the next cancels out: the CPU ratio of pure computing stays 1"
    )
    func skewedRunQueueCancels() {
        let phase = SerialPhase(callGroup: { _ in 0 }, read: { .zero }, measuresRunQueue: true)
        // Each call: 4 ms of wall, 3 ms of it waiting for a core, 1 ms computing. The delay is
        // read 1.5 ms late in one record (its own time comes out negative) and 1.5 ms early in
        // the next. Clamping each record's own time at zero made the sum 5 ms for 2 ms of CPU:
        // a ratio of 0.4 for a task that computes all the time it is on a core.
        for _ in 0..<50 {
            phase.add(record(wall: 4_000_000, runQueue: 4_500_000, cpu: 1_000_000))
            phase.add(record(wall: 4_000_000, runQueue: 1_500_000, cpu: 1_000_000))
        }
        #expect(phase.cpuRatio.value > 0.99)
        // A task that computes a quarter of its own time (it sleeps the rest) still reads a quarter.
        let sleeper = SerialPhase(callGroup: { _ in 0 }, read: { .zero }, measuresRunQueue: true)
        for _ in 0..<50 {
            sleeper.add(record(wall: 4_000_000, runQueue: 3_500_000, cpu: 500_000))
            sleeper.add(record(wall: 4_000_000, runQueue: 500_000, cpu: 500_000))
        }
        #expect(abs(sleeper.cpuRatio.value - 0.25) < 0.01, "\(sleeper.cpuRatio)")
    }

    @Test("records whose delays swallow every wall nanosecond give a finite ratio: computing if the thread used CPU")
    func noOwnTimeLeft() {
        let phase = SerialPhase(callGroup: { _ in 0 }, read: { .zero }, measuresRunQueue: true)
        phase.add(record(wall: 1_000_000, runQueue: 1_200_000, cpu: 100_000))
        phase.add(record(wall: 1_000_000, runQueue: 1_100_000, cpu: 100_000))
        #expect(phase.cpuRatio.value == 1)
        let idle = SerialPhase(callGroup: { _ in 0 }, read: { .zero }, measuresRunQueue: true)
        idle.add(record(wall: 1_000_000, runQueue: 1_200_000, cpu: 0))
        #expect(idle.cpuRatio.value == 0)
    }
}
