import Glibc

/// A `/proc` file kept open and re-read with `pread`: four times cheaper per sample than opening
/// it again, and the descriptor stays bound to the thread it named even if the tid is reused.
final class ProcFile {
    private let descriptor: Int32
    private var buffer: [UInt8]

    /// Opens `path` read-only and close-on-exec, or returns nil (no `/proc`, thread gone);
    /// reads take at most `capacity` bytes.
    init?(_ path: String, capacity: Int = 512) {
        let opened = open(path, O_RDONLY | O_CLOEXEC)
        guard opened >= 0 else { return nil }
        descriptor = opened
        buffer = [UInt8](repeating: 0, count: capacity)
    }

    deinit { close(descriptor) }

    /// Reads the whole file from offset 0 and hands its bytes to `body`; nil when the read fails
    /// (the thread ended).
    func withContents<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result? {
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return buffer.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[..<count])) }
    }
}

/// Facts about `/proc` on this host.
enum ProcFS {
    /// Whether per-thread `/proc` files exist (Linux); elsewhere the profiler keeps to per-call
    /// accounting.
    static let isAvailable: Bool = access("/proc/thread-self/stat", R_OK) == 0

    /// Whether `/proc/thread-self/schedstat` exists (kernels built with `CONFIG_SCHED_INFO`).
    static let hasSchedulerStatistics: Bool = access("/proc/thread-self/schedstat", R_OK) == 0

    /// What descriptor `fd` of this process is: `pipe`, `socket`, `file`, or `other`, read from
    /// the `/proc/self/fd` link's target.
    static func descriptorKind(_ fd: Int) -> DescriptorKind {
        var target = [CChar](repeating: 0, count: 256)
        let count = readlink("/proc/self/fd/\(fd)", &target, target.count - 1)
        guard count > 0 else { return .other }
        let text = String(decoding: target[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return ticks > 0 ? Double(ticks) : 100
    }()
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
