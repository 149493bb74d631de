/// Every per-call counter of the calling thread at one instant, in nanoseconds and counts.
struct ProbeReading {
    var wall: Int64
    var threadCPU: Int64
    /// Time on a core and time runnable but waiting for one (schedstat); without schedstat the
    /// run time is the CPU clock and the wait is unknown (zero).
    var run: Int64
    var runQueue: Int64
    var processCPU: Int64
    var childrenCPU: Int64
    var voluntarySwitches: Int64
    var involuntarySwitches: Int64
}

/// Reads the counters of the thread that created it. Owned by that thread: not `Sendable`.
///
/// One reading costs about 1.4 µs on this kind of VM (five system calls: the CPU clocks are not
/// served by the vDSO there), which is why the profiler groups calls shorter than ~100 readings.
final class ThreadProbe {
    private let schedulerStatistics: ProcFile?

    init() {
        schedulerStatistics = ProcFS.hasSchedulerStatistics ? ProcFile("/proc/thread-self/schedstat") : nil
    }

    /// Whether run-queue wait is measured (schedstat present).
    var measuresRunQueue: Bool { schedulerStatistics != nil }

    /// Reads every counter, the wall clock first: the reading that opens a span.
    func read() -> ProbeReading { read(wallFirst: true) }

    /// Reads every counter, the wall clock last: the reading that closes a span. With
    /// ``read()`` opening it, the run-queue reads sit inside the wall-clock span, so a wait for a
    /// core between the clocks is never taken from a wall time that does not include it (which
    /// would read a single call's own time short, even below zero).
    func readClosing() -> ProbeReading { read(wallFirst: false) }

    private func read(wallFirst: Bool) -> ProbeReading {
        let opening = wallFirst ? Clocks.monotonic() : 0
        let cpu = Clocks.threadCPU()
        let queue = schedulerPair()
        let switches = Clocks.threadSwitches()
        let processCPU = Clocks.processCPU()
        let childrenCPU = Clocks.childrenCPU()
        return ProbeReading(
            wall: wallFirst ? opening : Clocks.monotonic(), threadCPU: cpu, run: queue?.run ?? cpu,
            runQueue: queue?.waiting ?? 0, processCPU: processCPU, childrenCPU: childrenCPU,
            voluntarySwitches: switches.voluntary, involuntarySwitches: switches.involuntary)
    }

    /// The counters one timed call needs, and no more (each reading is a system call inside
    /// the span it measures): wall clock, the thread's CPU, reaped children's CPU and the wait
    /// for a core, nil when schedstat is absent or could not be read. The wall clock opens the
    /// span when `wallFirst`, and closes it otherwise, as ``read()`` and ``readClosing()``.
    func timing(wallFirst: Bool) -> (wall: Int64, cpu: Int64, childrenCPU: Int64, runQueue: Int64?) {
        let opening = wallFirst ? Clocks.monotonic() : 0
        let cpu = Clocks.threadCPU()
        let children = Clocks.childrenCPU()
        let queue = schedulerPair()
        return (wallFirst ? opening : Clocks.monotonic(), cpu, children, queue?.waiting)
    }

    private func schedulerPair() -> (run: Int64, waiting: Int64)? {
        guard let file = schedulerStatistics else { return nil }
        return file.withContents(parseSchedulerStatistics) ?? nil
    }
}

/// The counters' change over one measured group of calls; its fields read through to the
/// change in each counter (`record.wall`, `record.threadCPU`, …).
@dynamicMemberLookup
struct CallRecord: Sendable {
    /// Task calls in the group (more than 1 for calls shorter than the probe's cost allows).
    var calls: Int
    var change: ProbeReading

    init(calls: Int, from start: ProbeReading, to end: ProbeReading) {
        self.calls = calls
        change = end.combined(with: start, by: -)
    }

    subscript(dynamicMember path: KeyPath<ProbeReading, Int64>) -> Int64 { change[keyPath: path] }

    mutating func accumulate(_ other: CallRecord) {
        calls += other.calls
        change = change.combined(with: other.change, by: +)
    }

    static let zero = CallRecord(calls: 0, from: .zero, to: .zero)

    /// The time the thread was not waiting for a core, as read. The run-queue delay and the
    /// wall clock are read a moment apart, so on a loaded host one record's share can come out
    /// too small (even negative) and the next one's too large by as much; only sums over records
    /// cancel that out, so a sum must add these raw values, never clamped ones.
    var ownTime: Int64 { change.wall - change.runQueue }

    /// CPU time over the time the thread was not waiting for a core: the task's own share of
    /// computing, unaffected by neighbours that steal the core. One record's figure (its spread
    /// gives the interval; the value is a ratio of sums), bounded to stay finite.
    var cpuRatio: Double {
        min(Double(change.threadCPU) / Double(max(ownTime, 1)), 1.5)
    }
}

extension ProbeReading: Sendable {
    static let zero = ProbeReading(
        wall: 0, threadCPU: 0, run: 0, runQueue: 0, processCPU: 0, childrenCPU: 0, voluntarySwitches: 0,
        involuntarySwitches: 0)

    /// Every counter of `self` combined with the same counter of `other`.
    func combined(with other: ProbeReading, by operation: (Int64, Int64) -> Int64) -> ProbeReading {
        ProbeReading(
            wall: operation(wall, other.wall), threadCPU: operation(threadCPU, other.threadCPU),
            run: operation(run, other.run), runQueue: operation(runQueue, other.runQueue),
            processCPU: operation(processCPU, other.processCPU), childrenCPU: operation(childrenCPU, other.childrenCPU),
            voluntarySwitches: operation(voluntarySwitches, other.voluntarySwitches),
            involuntarySwitches: operation(involuntarySwitches, other.involuntarySwitches))
    }
}
