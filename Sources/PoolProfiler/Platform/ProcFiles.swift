internal import PoolSystem

/// A `/proc` file kept open and re-read with `pread`: four times cheaper per sample than opening
/// it again, and the descriptor stays bound to the thread it named even if the tid is reused.
final class ProcFile {
    private let descriptor: Int32
    private var buffer: [UInt8]

    /// Opens `path` read-only and close-on-exec, or returns nil (no `/proc`, thread gone);
    /// reads take at most `capacity` bytes.
    init?(_ path: String, capacity: Int = 512) {
        guard let opened = try? Files.openForReading(path) else { return nil }
        descriptor = opened
        buffer = [UInt8](repeating: 0, count: capacity)
    }

    deinit { Descriptor.close(descriptor) }

    /// Reads the whole file from offset 0 and hands its bytes to `body`; nil when the read fails
    /// (the thread ended).
    func withContents<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result? {
        let count = buffer.withUnsafeMutableBytes { (try? Files.read(descriptor, into: $0, at: 0)) ?? -1 }
        guard count > 0 else { return nil }
        return buffer.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[..<count])) }
    }
}

/// Facts about `/proc` on this host.
enum ProcFS {
    /// Whether per-thread `/proc` files exist (Linux); elsewhere the profiler keeps to per-call
    /// accounting.
    static let isAvailable: Bool = Files.isAccessible("/proc/thread-self/stat")

    /// Whether `/proc/thread-self/schedstat` exists (kernels built with `CONFIG_SCHED_INFO`).
    static let hasSchedulerStatistics: Bool = Files.isAccessible("/proc/thread-self/schedstat")

    /// What descriptor `fd` of this process is: `pipe`, `socket`, `file`, or `other`, read from
    /// the `/proc/self/fd` link's target.
    static func descriptorKind(_ fd: Int) -> DescriptorKind {
        guard let text = try? Files.linkTarget("/proc/self/fd/\(fd)", capacity: 256), !text.isEmpty else {
            return .other
        }
        if text.hasPrefix("pipe:") { return .pipe }
        if text.hasPrefix("socket:") { return .socket }
        if text.hasPrefix("/") { return text.hasPrefix("/dev/") ? .other : .file }
        return .other
    }

    enum DescriptorKind { case pipe, socket, file, other }

    /// The text of `/proc/stat` (the machine's CPU counters), or nil without it.
    static func machineStatistics() -> String? {
        ProcFile("/proc/stat", capacity: 1 << 16)?.withContents { String(decoding: $0, as: UTF8.self) }
    }

    /// Clock ticks per second, the unit of `/proc/stat` (`sysconf(_SC_CLK_TCK)`, usually 100).
    static let ticksPerSecond: Double = {
        let ticks = SystemInfo.clockTicksPerSecond
        return ticks > 0 ? Double(ticks) : 100
    }()
}

/// A thread's `schedstat` ("run-ns wait-ns timeslices"): time on a core, and time runnable but
/// waiting for one.
func parseSchedulerStatistics(_ bytes: UnsafeBufferPointer<UInt8>) -> (run: Int64, waiting: Int64)? {
    guard let first = parseNumber(bytes, from: 0), let second = parseNumber(bytes, from: first.end) else {
        return nil
    }
    return (first.value, second.value)
}

/// Parses a run of ASCII digits (with an optional `0x` prefix for hexadecimal) starting at
/// `index`; returns the value and the index after it.
func parseNumber(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (value: Int64, end: Int)? {
    var index = start
    while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
    var radix: Int64 = 10
    if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "0"), bytes[index + 1] == UInt8(ascii: "x") {
        radix = 16
        index += 2
    }
    var value: Int64 = 0
    let first = index
    while index < bytes.count {
        let byte = bytes[index]
        let digit: Int64
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int64(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = Int64(byte - UInt8(ascii: "a") + 10)
        default: digit = -1
        }
        if digit < 0 { break }
        value = value &* radix &+ digit
        index += 1
    }
    return index > first ? (value, index) : nil
}
