// A worker executable for the process-pool tests: tasks that echo, throw, crash and hang, and
// modes that imitate a program whose main lacks the entry guard.
import PoolAdvisorCLI
import PoolExecutors
import PoolTestFixtures

#if canImport(Glibc)
    import Glibc
#endif

struct Echo: PoolTask {
    static func run(_ input: Int) -> Int { input }
}

struct Square: PoolTask {
    static func run(_ input: Int) -> Int { input * input }
}

struct Oops: Error, CustomStringConvertible {
    let value: Int
    var description: String { "no multiples of three, got \(value)" }
}

/// Throws for multiples of three.
struct PickyTask: PoolTask {
    static func run(_ input: Int) throws -> Int {
        if input % 3 == 0 { throw Oops(value: input) }
        return input
    }
}

/// Dies on its input: 13 → SIGKILL, -1 → fatalError, -2 → exit(7); anything else echoes.
struct Crashy: PoolTask {
    static func run(_ input: Int) -> Int {
        switch input {
        case 13: kill(getpid(), SIGKILL)
        case -1: fatalError("asked to crash")
        case -2: exit(7)
        default: break
        }
        return input
    }
}

/// Sleeps `input` milliseconds.
struct Nap: PoolTask {
    static func run(_ input: Int) -> Int {
        usleep(UInt32(input) * 1000)
        return input
    }
}

/// The worker's pid.
struct WhoAmI: PoolTask {
    static func run(_ input: Int) -> Int32 { getpid() }
}

/// Byte count of a payload.
struct Measure: PoolTask {
    static func run(_ input: [UInt8]) -> Int { input.count }
}

/// Writes to stdout and stderr, which must not disturb the protocol.
struct Chatty: PoolTask {
    static func run(_ input: String) -> String {
        print("chatty says \(input)")
        let complaint = "chatty complains \(input)\n"
        _ = complaint.withCString { write(2, $0, strlen($0)) }
        return input.uppercased()
    }
}

/// Crashes the first time it sees a path that does not exist yet (creating it), then succeeds.
struct CrashOnce: PoolTask {
    static var isIdempotent: Bool { true }
    static func run(_ path: String) -> String {
        if access(path, F_OK) != 0 {
            let fd = creat(path, 0o600)
            close(fd)
            kill(getpid(), SIGKILL)
        }
        return path
    }
}

/// Sleeps `input` milliseconds times `FIXTURE_SLOWDOWN` (1 when unset) and returns
/// `FIXTURE_HOST_TAG`: which host of a multi-host pool ran it.
struct TaggedNap: PoolTask {
    static func run(_ input: Int) -> String {
        let slowdown = getenv("FIXTURE_SLOWDOWN").flatMap { Int(String(cString: $0)) } ?? 1
        usleep(UInt32(input * slowdown) * 1000)
        return getenv("FIXTURE_HOST_TAG").map { String(cString: $0) } ?? "untagged"
    }
}

/// Sleeps `input` milliseconds, then returns the worker's pid: held that long, a worker cannot
/// take the next of several questions asked at once.
struct NapThenWhoAmI: PoolTask {
    static func run(_ input: Int) -> Int32 {
        usleep(UInt32(input) * 1000)
        return getpid()
    }
}

/// Starts a pool of its own: must be refused inside a worker.
struct Nested: PoolTask {
    static func run(_ input: Int) throws -> Int {
        _ = try ProcessPool(workers: 1)
        return input
    }
}

let allTasks: [any PoolTask.Type] =
    [
        Echo.self, Square.self, PickyTask.self, Crashy.self, Nap.self, WhoAmI.self, Measure.self, Chatty.self,
        CrashOnce.self, Nested.self, TaggedNap.self, NapThenWhoAmI.self,
    ] + faultTasks

switch getenv("FIXTURE_MODE").map({ String(cString: $0) }) ?? "" {
case "no-guard-pool":
    // Imitates a program whose main forgot the guard and starts a pool.
    _ = try? ProcessPool(workers: 1)
    print("unreachable in a worker: the pool refuses to start")
case "no-guard-exit":
    exit(3)
case "no-guard-hang":
    while true { sleep(10) }
case "without-echo":
    WorkerEntry.runIfWorker(tasks: [Square.self])
default:
    WorkerEntry.runIfWorker(tasks: allTasks)
}

// `pool-test-worker cli ARGS…`: the pool-advisor command line with the fault tasks, so the
// fault-injection suite can drive `run` with tasks that crash.
if CommandLine.arguments.dropFirst().first == "cli" {
    PoolAdvisorCLI.main(tasks: allTasks, arguments: [CommandLine.arguments[0]] + CommandLine.arguments.dropFirst(2))
}

// Not a worker: act as a parent for the "killed parent" test. Print the workers' pids, then wait
// to be killed.
if CommandLine.arguments.dropFirst().first == "parent" {
    let pool = try ProcessPool(workers: 2)
    _ = try pool.map(WhoAmI.self, Array(0..<20), chunkSize: 1)
    // Both workers must be serving (under a sanitizer the second can start much later).
    var waited = 0
    while pool.workerProcessIDs.count < 2 && waited < 60_000 {
        usleep(1_000)
        waited += 1
    }
    print("workers \(pool.workerProcessIDs.map(String.init).joined(separator: " "))")
    fflush(nil)
    while true { sleep(10) }
}
// Not a worker: like "parent", with two workers on the ssh server whose port and key
// directory `FIXTURE_SSH_PORT` and `FIXTURE_SSH_DIRECTORY` give; prints their remote pids.
if CommandLine.arguments.dropFirst().first == "ssh-parent", let port = getenv("FIXTURE_SSH_PORT"),
    let directory = getenv("FIXTURE_SSH_DIRECTORY")
{
    let options = [
        "-p", String(cString: port), "-i", String(cString: directory) + "/client_key", "-o",
        "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
    ]
    var configuration = ProcessPool.Configuration(hosts: [WorkerHost(.ssh("127.0.0.1", options: options), workers: 2)])
    // A remote worker inherits nothing from here: the log's path goes with the pool's variables.
    if let log = getenv("FAULT_LOG") { configuration.environment["FAULT_LOG"] = String(cString: log) }
    let pool = try ProcessPool(configuration: configuration)
    // Two items that each hold a worker for ten minutes (logged to FAULT_LOG when they start,
    // which the test waits for), so both are in a task when the parent dies: only the watchdog
    // ends them in time.
    // Both workers connected (a login takes a while under load), then one question each: the
    // second submission goes to the worker the first left idle.
    var waited = 0
    while pool.workerProcessIDs.count < 2 && waited < 120_000 {
        usleep(1_000)
        waited += 1
    }
    let first = try pool.submit(NapThenWhoAmI.self, 500)
    let second = try pool.submit(NapThenWhoAmI.self, 500)
    let pids = Set([try first.result(), try second.result()])
    _ = try pool.submit(Faulty.self, Faulty.input(1, spin: 600_000_000_000))
    _ = try pool.submit(Faulty.self, Faulty.input(2, spin: 600_000_000_000))
    print("workers \(pids.sorted().map(String.init).joined(separator: " "))")
    fflush(nil)
    while true { sleep(10) }
}
// Not a worker: `cycles N` creates, uses and shuts down N pools of two workers, then prints
// "descriptors BEFORE AFTER zombies Z": a leak check in a process of its own, where no other
// test's descriptors or children can blur the counts.
if CommandLine.arguments.dropFirst().first == "cycles", CommandLine.arguments.count == 3,
    let cycles = Int(CommandLine.arguments[2])
{
    func descriptorCount() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = -1  // the directory's own descriptor
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count
    }
    func unreapedChildren() -> Int {
        // waitid(WNOWAIT) finds an ended child without reaping it: a zombie of ours.
        var info = siginfo_t()
        let found = waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT)
        return found == 0 && info._sifields._sigchld.si_pid != 0 ? 1 : 0
    }
    let before = descriptorCount()
    for cycle in 0..<cycles {
        let pool = try ProcessPool(workers: 2)
        guard try pool.map(Echo.self, [cycle, cycle + 1], chunkSize: 1) == [cycle, cycle + 1] else { exit(2) }
        pool.shutdown(wait: true)
    }
    print("descriptors \(before) \(descriptorCount()) zombies \(unreapedChildren())")
    exit(0)
}
// Not a worker: `shared-cycles N` is `cycles N` with large values: each cycle moves arguments
// and results through shared memory, kills a worker while it maps them, and shuts the pool
// down. It prints "descriptors BEFORE AFTER zombies Z segments S", S the shared-memory files
// still open after the last cycle.
if CommandLine.arguments.dropFirst().first == "shared-cycles", CommandLine.arguments.count == 3,
    let cycles = Int(CommandLine.arguments[2])
{
    func descriptorLinks() -> [String] {
        guard let directory = opendir("/proc/self/fd") else { return [] }
        defer { closedir(directory) }
        var links: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard !name.hasPrefix(".") else { continue }
            var target = [CChar](repeating: 0, count: 512)
            let count = readlink("/proc/self/fd/\(name)", &target, target.count - 1)
            links.append(
                count > 0 ? String(decoding: target.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?")
        }
        return links
    }
    var info = siginfo_t()
    let before = descriptorLinks().count
    for cycle in 0..<cycles {
        var configuration = ProcessPool.Configuration(workers: 1)
        configuration.sharedMemoryThreshold = 1 << 10
        let pool = try ProcessPool(configuration: configuration)
        let inputs = [
            LargeEchoInput(index: cycle, payload: 40_000, reply: 50_000),
            LargeEchoInput(index: cycle + 1, payload: 40_000, reply: 10, crash: true),
            LargeEchoInput(index: cycle + 2, payload: 10, reply: 60_000),
        ]
        var results: [Int: Result<[UInt8], any Error>] = [:]
        for item in try pool.mapUnordered(LargeEcho.self, inputs, chunkSize: 1).blocking {
            results[item.index] = item.result
        }
        guard case .success(let first)? = results[0], first == LargeEcho.pattern(cycle + 1, count: 50_000),
            case .failure? = results[1], case .success(let third)? = results[2],
            third == LargeEcho.pattern(cycle + 3, count: 60_000)
        else { exit(2) }
        pool.shutdown(wait: true)
    }
    let links = descriptorLinks()
    let found = waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT)
    let zombies = found == 0 && info._sifields._sigchld.si_pid != 0 ? 1 : 0
    print(
        "descriptors \(before) \(links.count) zombies \(zombies) segments \(links.filter { $0.contains("pool-advisor") }.count)"
    )
    exit(0)
}

// Not a worker: a parent for the "commands die with their parent" tests.
// `commands PLACE END DIR`: runs two shell commands (each records its pid and its background
// child's pid in DIR, then waits) on pool threads (`threads`), in pool workers (`processes`) or
// on the main thread (`main`); then waits to be killed (`END` = `wait`) or, once both commands
// have written their pids, returns from main with them still running (`END` = `return`).
if CommandLine.arguments.dropFirst().first == "commands", CommandLine.arguments.count == 5 {
    let (place, end, directory) = (CommandLine.arguments[2], CommandLine.arguments[3], CommandLine.arguments[4])
    // A test runner's thread may have started us with signals blocked: be a normal program.
    var unblocked = sigset_t()
    sigemptyset(&unblocked)
    sigprocmask(SIG_SETMASK, &unblocked, nil)
    let script =
        #"echo $$ > "$0/$1.shell.tmp"; sleep 600 & echo $! > "$0/$1.child.tmp"; "#
        + #"mv "$0/$1.shell.tmp" "$0/$1.shell"; mv "$0/$1.child.tmp" "$0/$1.child"; wait"#
    let calls = (0..<2).map { CommandCall(arguments: ["/bin/sh", "-c", script, directory, "command\($0)"]) }
    var keep: [AnyObject] = []
    switch place {
    case "threads":
        let pool = ThreadPool(workers: 2)
        for call in calls { _ = try pool.submit { try ExternalCommand.run(call) } }
        keep.append(pool)
    case "processes":
        // One pool per command: a fresh pool may queue both on its first worker.
        for call in calls {
            let pool = try ProcessPool(workers: 1)
            _ = try pool.submit(ExternalCommand.self, call)
            keep.append(pool)
        }
    default:
        _ = try ExternalCommand.run(calls[0])  // blocks until the test kills this process
    }
    withExtendedLifetime(keep) {
        if end == "return" {
            let names = ["command0.shell", "command0.child", "command1.shell", "command1.child"]
            var waited = 0
            while !names.allSatisfy({ access(directory + "/" + $0, F_OK) == 0 }) && waited < 120_000 {
                usleep(1_000)
                waited += 1
            }
            exit(0)  // what returning from main does, with the pools and their commands still running
        }
        while true { sleep(10) }
    }
}
print("pool-test-worker: run by the process-pool tests")
