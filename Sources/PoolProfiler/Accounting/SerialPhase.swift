/// The serial phase: one call (or one group of short calls) at a time on the calling thread,
/// each bracketed by exact counters.
final class SerialPhase {
    /// Makes up to n calls and returns how many it made (0: no input left, or stopped).
    private let callGroup: (Int) -> Int
    private let read: () -> ProbeReading
    /// The reading that closes the unrecorded first call: the wall clock read last
    /// (``ThreadProbe/readClosing()``), so its wait for a core is inside its wall time.
    private let readClosing: () -> ProbeReading
    /// The least length of a group: the cost a group pays besides its calls (a probe reading;
    /// for calls in a worker, a round trip) stays about 1 % of it.
    private let minimumGroupNanoseconds: Int64
    private(set) var records: [CallRecord] = []
    private(set) var groupSize = 1
    /// Cost of one probe reading, measured before the first call.
    private(set) var probeCost: Int64 = 0
    /// Wall time of the unrecorded first call (``warmUp(recordsFirstCall:)``) less its wait for
    /// a core, when it made and recorded one.
    private(set) var firstCallNanoseconds: Int64?
    // Running moments of the per-record CPU ratio (Welford), so the stopping test is O(1).
    private var ratioMean = 0.0
    private var ratioSquares = 0.0
    private var cpuSum: Int64 = 0
    private var ownTimeSum: Int64 = 0

    /// Calls measured on the calling thread with its own counters.
    convenience init(callGroup: @escaping (Int) -> Int) {
        let probe = ThreadProbe()
        self.init(
            callGroup: callGroup, read: probe.read, measuresRunQueue: probe.measuresRunQueue,
            readClosing: probe.readClosing)
    }

    /// Calls measured with `read`, which brackets each group (for calls made elsewhere, such as
    /// in a worker process).
    init(
        callGroup: @escaping (Int) -> Int, read: @escaping () -> ProbeReading, measuresRunQueue: Bool,
        minimumGroupNanoseconds: Int64 = 0, readClosing: (() -> ProbeReading)? = nil
    ) {
        self.callGroup = callGroup
        self.read = read
        self.readClosing = readClosing ?? read
        self.measuresRunQueue = measuresRunQueue
        self.minimumGroupNanoseconds = minimumGroupNanoseconds
    }

    let measuresRunQueue: Bool

    /// Measures the probe and makes one cold call that is not recorded (its output is kept).
    /// With `recordsFirstCall`, its time less any wait for a core is kept as
    /// ``firstCallNanoseconds``; a call made in a worker that this call also starts is not.
    func warmUp(recordsFirstCall: Bool = true) {
        measureProbe()
        let before = read()
        let made = callGroup(1)
        let after = readClosing()
        guard made > 0 else { return }
        // Waiting for a core is the host's, not state the task builds: a busy neighbour must
        // not read as a warm-up every worker pays.
        if recordsFirstCall {
            firstCallNanoseconds = max(0, (after.wall - before.wall) - (after.runQueue - before.runQueue))
        }
        adjustGroupSize(callNanoseconds: after.wall - before.wall)
    }

    /// Measures the probe and sizes the call groups from `callSeconds`, the time of a warm call
    /// made before this phase: no call is made here (the code is warm already).
    func prepare(callSeconds: Double) {
        measureProbe()
        let nanoseconds = callSeconds.isFinite ? Int64(min(max(callSeconds, 0), 1e9) * 1e9) : 0
        adjustGroupSize(callNanoseconds: nanoseconds)
    }

    /// The cost of one probe reading, averaged over 32.
    private func measureProbe() {
        let first = read()
        var last = first
        for _ in 0..<32 { last = read() }
        probeCost = (last.wall - first.wall) / 32
    }

    /// The expected wall time of the next group, in seconds: the mean call times the group
    /// size (0 before any record).
    var nextGroupSeconds: Double { records.isEmpty ? 0 : meanCallSeconds * Double(groupSize) }

    /// Mean wall time of one call so far, in seconds.
    var meanCallSeconds: Double {
        let calls = records.reduce(0) { $0 + $1.calls }
        return records.reduce(Int64(0)) { $0 + $1.wall }.seconds / Double(max(calls, 1))
    }

    /// The CPU ratio so far: ratio of sums, with the interval of the per-record ratios.
    var cpuRatio: Estimate {
        // A thread cannot compute longer than it was on a core: at most 1 (with tiny calls on a
        // loaded host the summed own time can come out near zero, a ratio of thousands).
        // With no own time left after the run-queue delay (every reading skewed one way), what
        // the thread did on a core was computing if it used CPU at all.
        let value = ownTimeSum > 0 ? min(Double(cpuSum) / Double(ownTimeSum), 1) : (cpuSum > 0 ? 1 : 0)
        let count = records.count
        guard count > 1 else { return Estimate(value: value, low: -.infinity, high: .infinity, observations: count) }
        let spread = (ratioSquares / Double(count - 1)).squareRoot()
        let half = Statistics.t95(degrees: count - 1) * spread / Double(count).squareRoot()
        return Estimate(value: value, low: value - half, high: value + half, observations: count)
    }

    /// The CPU ratio of the commands the calls ran (reaped children's CPU over wall): ratio of
    /// sums, with the interval of the per-record ratios. It may exceed 1 (a command that runs
    /// several threads).
    var childrenCPURatio: Estimate {
        let wall = records.reduce(Int64(0)) { $0 + $1.wall }
        let children = records.reduce(Int64(0)) { $0 + $1.childrenCPU }
        let value = wall > 0 ? Double(max(children, 0)) / Double(wall) : 0
        return Statistics.estimate(
            value, spreadOf: records.map { Double(max($0.childrenCPU, 0)) / Double(max($0.wall, 1)) })
    }

    /// Measures groups until `isDone(elapsed, cpuRatio)` says so (asked first when there are
    /// records already) or no call can be made;
    /// `elapsed` counts from `origin`. Readings are back to back, so each group pays for one
    /// probe reading.
    func run(origin: Int64, isDone: (_ elapsed: Double, _ cpuRatio: Estimate) -> Bool) {
        var previous = read()
        // Records made before the phase (``PriorCalls``) may already be all the budget allows.
        if !records.isEmpty, isDone((previous.wall - origin).seconds, cpuRatio) { return }
        while true {
            let made = callGroup(groupSize)
            let now = read()
            guard made > 0 else { return }
            add(CallRecord(calls: made, from: previous, to: now))
            previous = now
            if isDone((now.wall - origin).seconds, cpuRatio) { return }
            if records.count.isMultiple(of: 8) {
                // Per call of the last eight records, whatever each held: records made before
                // the phase (``PriorCalls``) hold one call, or one timed group, not `groupSize`.
                let recent = records.suffix(8)
                let perCall =
                    recent.reduce(Int64(0)) { $0 + $1.wall } / Int64(max(1, recent.reduce(0) { $0 + $1.calls }))
                adjustGroupSize(callNanoseconds: perCall)
            }
        }
    }

    /// Adds one measured group (tests feed records directly).
    func add(_ record: CallRecord) {
        records.append(record)
        cpuSum += record.threadCPU
        ownTimeSum += record.ownTime
        let ratio = record.cpuRatio
        let delta = ratio - ratioMean
        ratioMean += delta / Double(records.count)
        ratioSquares += delta * (ratio - ratioMean)
    }

    /// Groups calls so one probe reading costs at most 1 % of a group.
    private func adjustGroupSize(callNanoseconds: Int64) {
        let target = max(max(probeCost, 500) * 100, minimumGroupNanoseconds)
        groupSize = max(1, min(1_000_000, Int((target + max(callNanoseconds, 1) - 1) / max(callNanoseconds, 1))))
    }

    /// The summary of every record so far. `samplerCPU` is the sampler's CPU time over the
    /// phase, which the helper threads' figure leaves out. For a task that `runsCommand`, the
    /// CPU ratio is the command's (``childrenCPURatio``) and the calling thread's own is kept
    /// as ``CallSummary/callerCPURatio``.
    func summary(samplerCPU: Int64, runsCommand: Bool = false) -> CallSummary {
        let totals = records.reduce(into: CallRecord.zero) { $0.accumulate($1) }
        let calls = max(totals.calls, 1)
        let wall = Double(max(totals.wall, 1))
        let perCallWalls = records.map { Double($0.wall) / Double($0.calls) / 1e9 }
        let wallPerCall = totals.wall.seconds / Double(calls)
        let helper = max(0, totals.processCPU - totals.threadCPU - samplerCPU)
        return CallSummary(
            calls: totals.calls, measurements: records.count, callsPerMeasurement: groupSize,
            wallSecondsPerCall: Statistics.estimate(wallPerCall, spreadOf: perCallWalls),
            threadCPUSecondsPerCall: totals.threadCPU.seconds / Double(calls),
            runQueueSecondsPerCall: totals.runQueue.seconds / Double(calls),
            cpuRatio: runsCommand ? childrenCPURatio : cpuRatio,
            wallCPURatio: Double(totals.threadCPU) / wall,
            runQueueRatio: Double(totals.runQueue) / wall,
            blockedRatio: max(0, 1 - Double(totals.run + totals.runQueue) / wall),
            helperCPURatio: Double(helper) / wall,
            childrenCPURatio: Double(totals.childrenCPU) / wall,
            voluntarySwitchesPerCall: Double(totals.voluntarySwitches) / Double(calls),
            involuntarySwitchesPerCall: Double(totals.involuntarySwitches) / Double(calls),
            probeOverheadRatio: Double(probeCost) * Double(records.count) / wall,
            callerCPURatio: runsCommand ? cpuRatio : nil,
            firstCallSeconds: firstCallNanoseconds.map(\.seconds))
    }
}
