import PoolExecutors
import Synchronization

/// A thread that looks at the task threads about a thousand times a second and counts what each
/// was doing (``ThreadActivity``).
///
/// It reads `/proc/self/task/TID/stat` and `…/syscall` through descriptors kept open, wakes at
/// absolute deadlines with ±20 % jitter (so it cannot lock step with periodic work) and watches
/// only the threads registered with ``watch(_:)``: idle pool threads would otherwise count as
/// waiting.
// @unchecked: `state` holds ProcFiles (not Sendable: a reused buffer) and is used only under its lock.
final class ThreadSampler: @unchecked Sendable {
    private struct Watched {
        let threadID: Int32
        let stat: ProcFile
        let syscall: ProcFile
    }

    private struct State {
        var watched: [Watched] = []
        var counts = ActivityCounts()
        var descriptorKinds: [Int: ProcFS.DescriptorKind] = [:]
    }

    /// What ``start()`` sets up and ``stop()`` reads back (set and read on the profiling thread,
    /// but locked so that no plain `var` is shared with the sampler thread's object).
    private struct Control {
        var thread: PlatformThread?
        var startWall: Int64 = 0
    }

    private let state = Locked(State())
    private let stopping = Atomic<Bool>(false)
    private let interval: Int64
    private let control = Locked(Control())
    private let samplerCPU = Atomic<Int64>(0)
    private let tickCount = Atomic<Int>(0)

    /// A sampler at `hertz` samples per second per watched thread; nil where `/proc` is missing.
    init?(hertz: Double) {
        guard ProcFS.isAvailable, hertz > 0 else { return nil }
        // At least one sample a second: a sampler asleep for longer would hold up `stop()`.
        // At most 100 000 a second: an infinite rate must not turn the sampler into a spin.
        interval = max(10_000, min(1_000_000_000, Clocks.nanoseconds(1 / hertz)))
    }

    func start() throws {
        control.withLock { $0.startWall = Clocks.monotonic() }
        let thread = try PlatformThread.start(name: "pa-sampler") { [self] in run() }
        control.withLock { $0.thread = thread }
    }

    /// Stops the thread and reports what the sampling cost.
    func stop() -> SamplerCost {
        stopping.store(true, ordering: .releasing)
        let (thread, startWall) = control.withLock { control in
            defer { control.thread = nil }
            return (control.thread, control.startWall)
        }
        thread?.join()
        let wall = max(Clocks.monotonic() - startWall, 1)
        return SamplerCost(
            ticks: tickCount.load(ordering: .acquiring), wallSeconds: wall.seconds,
            cpuSeconds: samplerCPU.load(ordering: .acquiring).seconds)
    }

    /// The sampler thread's CPU time so far (refreshed every 64 ticks).
    var cpuSoFar: Int64 { samplerCPU.load(ordering: .acquiring) }

    /// Starts sampling thread `threadID` of this process. Returns false when its files cannot
    /// be opened.
    @discardableResult
    /// `process` nil is this process; another is a child's (a Python worker's thread).
    func watch(_ threadID: Int32, inProcess process: Int32? = nil) -> Bool {
        let directory = "/proc/\(process.map(String.init) ?? "self")/task/\(threadID)"
        guard let stat = ProcFile("\(directory)/stat"), let syscall = ProcFile("\(directory)/syscall") else {
            return false
        }
        state.withLock { $0.watched.append(Watched(threadID: threadID, stat: stat, syscall: syscall)) }
        return true
    }

    /// Stops sampling `threadID` (and closes its files).
    func unwatch(_ threadID: Int32) {
        state.withLock { $0.watched.removeAll { $0.threadID == threadID } }
    }

    /// The counts since the previous call, which starts a new tally.
    func takeCounts() -> ActivityCounts {
        state.withLock { state in
            defer { state.counts = ActivityCounts() }
            return state.counts
        }
    }

    private func run() {
        // Not SystemRandomNumberGenerator: that is a getrandom system call per tick.
        var generator = SplitMix(seed: UInt64(truncatingIfNeeded: Clocks.monotonic()))
        var deadline = Clocks.monotonic()
        while !stopping.load(ordering: .acquiring) {
            let jitter = Int64.random(in: -(interval / 5)...(interval / 5), using: &generator)
            deadline += interval + jitter
            Clocks.sleep(untilMonotonic: deadline)
            let now = Clocks.monotonic()
            if now - deadline > 10 * interval { deadline = now }  // descheduled for long: do not burst
            let ticks = tickCount.wrappingAdd(1, ordering: .relaxed).newValue
            sampleOnce(tick: ticks)
            if ticks % 64 == 0 { samplerCPU.store(Clocks.threadCPU(), ordering: .releasing) }
        }
        samplerCPU.store(Clocks.threadCPU(), ordering: .releasing)
    }

    private func sampleOnce(tick: Int) {
        state.withLock { state in
            // Descriptor numbers are reused; forget what they were now and then.
            if tick % 256 == 0 { state.descriptorKinds.removeAll(keepingCapacity: true) }
            for watched in state.watched {
                guard let letter = watched.stat.withContents(Self.stateLetter) ?? nil else { continue }
                let activity =
                    watched.syscall.withContents { line in
                        ActivityClassifier.classify(state: letter, syscall: line) { fd in
                            if let known = state.descriptorKinds[fd] { return known }
                            let kind = ProcFS.descriptorKind(fd)
                            state.descriptorKinds[fd] = kind
                            return kind
                        }
                    } ?? .transition
                state.counts.add(activity)
            }
        }
    }

    /// The state letter follows the last `)` of "tid (comm) S …" (the name may hold parentheses).
    private static func stateLetter(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt8? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")), close + 2 < bytes.count else { return nil }
        return bytes[close + 2]
    }
}

/// What running the sampler cost.
struct SamplerCost: Sendable {
    var ticks: Int
    var wallSeconds: Double
    var cpuSeconds: Double

    var achievedHertz: Double { wallSeconds > 0 ? Double(ticks) / wallSeconds : 0 }
    /// Share of one core the sampler used.
    var coreShare: Double { wallSeconds > 0 ? cpuSeconds / wallSeconds : 0 }
}

/// Samples per activity.
public struct ActivityCounts: Codable, Sendable, Equatable {
    /// Indexed by the activity's position in `ThreadActivity.allCases`: the sampler adds one
    /// per sample, and an array costs no hashing.
    private var slots = [Int](repeating: 0, count: ThreadActivity.allCases.count)

    public init() {}

    public mutating func add(_ activity: ThreadActivity, count: Int = 1) {
        slots[activity.slot] += count
    }

    public mutating func add(_ other: ActivityCounts) {
        for index in slots.indices { slots[index] += other.slots[index] }
    }

    public var total: Int { slots.reduce(0, +) }

    public subscript(_ activity: ThreadActivity) -> Int { slots[activity.slot] }

    /// Encoded as an object from activity name to count, zeros left out.
    public init(from decoder: any Decoder) throws {
        let counts = try [ThreadActivity: Int](from: decoder)
        for (activity, count) in counts { add(activity, count: count) }
    }

    public func encode(to encoder: any Encoder) throws {
        var counts: [ThreadActivity: Int] = [:]
        for activity in ThreadActivity.allCases where self[activity] > 0 { counts[activity] = self[activity] }
        try counts.encode(to: encoder)
    }
}

extension ThreadActivity {
    /// The position in `allCases` (a dozen tag compares: cheaper than hashing).
    @inline(__always)
    fileprivate var slot: Int { Self.allCases.firstIndex(of: self)! }
}
