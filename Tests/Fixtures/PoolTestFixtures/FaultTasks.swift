// Tasks that fail on purpose, shared by the fixture worker (which runs them) and the tests
// (which submit them), so both sides agree on names and signatures without mirrors.
public import PoolExecutors

#if canImport(Glibc)
    import Glibc
#endif

/// A way for an item to end badly, as the fault-injection suite injects it.
public enum Fault: Int, CaseIterable, Sendable, CustomStringConvertible {
    case none = 0
    /// `kill(getpid(), SIGKILL)`.
    case sigkill
    /// `fatalError`: Swift's trap (SIGILL or SIGTRAP).
    case fatalError
    /// `exit(0)`: a clean exit status in the middle of a task.
    case exit
    /// A write through a null pointer.
    case segfault
    /// Allocating past an address-space limit the task sets on itself.
    case memoryLimit
    /// Sleeps far past any task timeout.
    case hang

    public var description: String { String(describing: Self.self) + ".\(rawValue)" }
}

/// The fault-injection task. Input `[index, fault, spin ns]`: it appends `index` to the file
/// named by `FAULT_LOG` (one line per call, so the test counts executions across processes),
/// spins for `spin ns`, then ends as `fault` says, or returns `index * 2`.
public struct Faulty: PoolTask {
    public static func run(_ input: [Int]) -> Int {
        guard input.count == 3 else { return -1 }
        let index = input[0]
        logCall(index)
        spin(nanoseconds: input[2])
        switch Fault(rawValue: input[1]) ?? .none {
        case .none: break
        case .sigkill: kill(getpid(), SIGKILL)
        case .fatalError: Swift.fatalError("fault injected on input \(index)")
        case .exit: Glibc.exit(0)
        case .segfault:
            let address = UnsafeMutablePointer<Int>(bitPattern: 8)!
            address.pointee = index
        case .memoryLimit:
            // Just above what is mapped now, so the next large allocation fails.
            var limit = rlimit()
            getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
            limit.rlim_cur = min(limit.rlim_max, rlim_t(mappedBytes() + (16 << 20)))
            setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
            let hog = [UInt8](repeating: 1, count: 1 << 30)
            return Int(hog[index % hog.count])
        case .hang:
            while true { sleep(60) }
        }
        return index * 2
    }

    /// The input that runs `fault` for item `index` after spinning `spin` nanoseconds.
    public static func input(_ index: Int, _ fault: Fault = .none, spin: Int = 0) -> [Int] {
        [index, fault.rawValue, spin]
    }

    static func logCall(_ index: Int) {
        guard let path = getenv("FAULT_LOG") else { return }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let line = "\(index)\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    private static func spin(nanoseconds: Int) {
        guard nanoseconds > 0 else { return }
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        var now = start
        repeat {
            clock_gettime(CLOCK_MONOTONIC, &now)
        } while (now.tv_sec - start.tv_sec) * 1_000_000_000 + (now.tv_nsec - start.tv_nsec) < nanoseconds
    }

    /// Bytes of address space mapped now (the first field of /proc/self/statm, in pages).
    private static func mappedBytes() -> Int {
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 1 << 30 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        let text = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
        let pages = text.split(separator: " ").first.flatMap { Int($0) } ?? (1 << 18)
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// ``Faulty`` declared crash-prone, as a user would declare a task wrapping a C library that
/// aborts: auto mode must profile and run it in worker processes.
public struct CrashProneFaulty: PoolTask {
    public static var traits: TaskTraits { [.crashProne] }
    public static func run(_ input: [Int]) -> Int { Faulty.run(input) }
}

/// An input whose `encode(to:)` throws when `poisoned`: the parent cannot send it.
public struct Fragile: Codable, Sendable, Equatable {
    public var value: Int
    public var poisoned: Bool

    public init(value: Int, poisoned: Bool = false) {
        self.value = value
        self.poisoned = poisoned
    }

    public struct Refused: Error, CustomStringConvertible {
        public var description: String { "this input refuses to be encoded" }
    }

    public func encode(to encoder: any Encoder) throws {
        if poisoned { throw Refused() }
        var container = encoder.unkeyedContainer()
        try container.encode(value)
    }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        value = try container.decode(Int.self)
        poisoned = false
    }
}

/// Says it ran: the output names the input's value, so a task run on garbage shows.
public struct RunsFragile: PoolTask {
    public static func run(_ input: Fragile) -> String { "ran on \(input.value)" }
}

/// Returns `input` bytes (to exceed a pool's maximum frame).
public struct Bulky: PoolTask {
    public static func run(_ input: Int) -> [UInt8] { [UInt8](repeating: 7, count: max(0, input)) }
}

/// Writes garbage on the reply descriptor (4) when `input` is negative, then returns it.
public struct Scribbler: PoolTask {
    public static func run(_ input: Int) -> Int {
        if input < 0 {
            let garbage: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
            _ = garbage.withUnsafeBytes { write(4, $0.baseAddress, $0.count) }
        }
        return input
    }
}

/// Marks its start in directory `input` (a file named after its pid), waits there until a file
/// `go` appears, and returns its pid: lets a test see which workers run at once, with no timing.
public struct Gated: PoolTask {
    public static func run(_ directory: String) -> Int32 {
        let pid = getpid()
        let marker = open(
            "\(directory)/started-\(pid)-\(UInt64.random(in: 0...UInt64.max))", O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        if marker >= 0 { close(marker) }
        while access("\(directory)/go", F_OK) != 0 { usleep(2_000) }
        return pid
    }
}

/// What ``LargeEcho`` is asked to do.
public struct LargeEchoInput: Codable, Sendable {
    public var index: Int
    /// Bytes that must read as ``LargeEcho/pattern(_:count:)`` of `index`.
    public var payload: [UInt8]
    /// How many bytes to return.
    public var reply: Int
    /// Die by SIGKILL after checking the payload (its segments still mapped).
    public var crash: Bool

    public init(index: Int, payload: Int, reply: Int, crash: Bool = false) {
        self.index = index
        self.payload = LargeEcho.pattern(index, count: payload)
        self.reply = reply
        self.crash = crash
    }
}

/// Moves large values both ways: checks that its payload arrived intact (a value read from the
/// wrong place, or half written, fails the item), logs the call like ``Faulty``, and returns
/// `reply` bytes of the pattern of `index + 1`, or dies when asked.
public struct LargeEcho: PoolTask {
    public struct Garbled: Error, CustomStringConvertible {
        public let index: Int
        public var description: String { "the payload of input \(index) arrived garbled" }
    }

    public static func run(_ input: LargeEchoInput) throws -> [UInt8] {
        Faulty.logCall(input.index)
        guard input.payload == pattern(input.index, count: input.payload.count) else {
            throw Garbled(index: input.index)
        }
        if input.crash { kill(getpid(), SIGKILL) }
        return pattern(input.index + 1, count: input.reply)
    }

    /// `count` bytes that differ from one seed to the next and along the value.
    public static func pattern(_ seed: Int, count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var value = UInt8(truncatingIfNeeded: seed &* 131)
            for position in 0..<count {
                buffer[position] = value
                value = value &* 5 &+ 1
            }
            initialized = count
        }
    }
}

/// An input that reads a table every call shares.
public struct TableLookup: Codable, Sendable {
    public var table: Shared<[Int]>
    public var index: Int

    public init(table: Shared<[Int]>, index: Int) {
        self.table = table
        self.index = index
    }
}

/// Returns `[table[index], maps]`, `maps` being how many shared values this process has mapped
/// so far: a worker that maps a table once and reuses it reports 1 on every call.
public struct LooksUp: PoolTask {
    public static func run(_ input: TableLookup) -> [Int] {
        [input.table.value[input.index], SharedRegistry.mappedCount]
    }
}

/// Every task of this library, for the fixture worker's entry guard.
public let faultTasks: [any PoolTask.Type] = [
    Faulty.self, CrashProneFaulty.self, RunsFragile.self, Bulky.self, Scribbler.self, Gated.self, LargeEcho.self,
    LooksUp.self, ReadsBorrowed.self,
]
