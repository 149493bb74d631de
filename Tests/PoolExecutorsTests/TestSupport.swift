import Dispatch
import Foundation
import Testing

@testable import PoolExecutors

/// A latch that blocks tasks until the test opens it; waits are bounded so a bug fails the
/// test instead of hanging the suite.
final class Gate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let openCount = Locked(0)

    /// Blocks until opened; `false` if not opened within `seconds` (a failure, not a timing).
    @discardableResult
    func wait(seconds: Double = 30) -> Bool {
        let passed = semaphore.wait(timeout: .now() + seconds) == .success
        if passed { semaphore.signal() }  // let every waiter through once open
        return passed
    }

    func open() {
        let first = openCount.withLock {
            $0 += 1
            return $0 == 1
        }
        if first { semaphore.signal() }
    }
}

/// All `parties` threads must arrive before any leaves: proof they run at the same time.
final class Barrier: Sendable {
    private let parties: Int
    private let arrived = Locked(0)
    private let release = DispatchSemaphore(value: 0)

    init(parties: Int) { self.parties = parties }

    /// `false` if the others did not all arrive within `seconds`.
    func arriveAndWait(seconds: Double = 60) -> Bool {
        let last = arrived.withLock {
            $0 += 1
            return $0 == parties
        }
        if last { for _ in 0..<parties { release.signal() } }
        return release.wait(timeout: .now() + seconds) == .success
    }
}

/// A thread-safe counter for tests.
final class Counter: Sendable {
    private let value = Locked(0)
    func increment() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}

/// Live threads of this process whose name starts with `prefix` (from /proc/self/task/*/comm).
func liveThreads(named prefix: String) -> Int {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.filter { tid in
        let name = (try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)) ?? ""
        return name.hasPrefix(prefix)
    }.count
}

/// Polls `condition` until it holds or `seconds` pass: for states reached asynchronously
/// (threads exiting after a pool is dropped). Returns whether it held.
func eventually(seconds: Double = 20, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}

struct TestFailure: Error, Equatable {
    let code: Int
}

/// Keeps one of `pool`'s workers busy until the returned gate opens, and returns once that
/// task is running (the worker taken, not merely the task queued).
func occupyWorker(of pool: ThreadPool) throws -> Gate {
    let gate = Gate()
    let started = Gate()
    _ = try pool.submit {
        started.open()
        gate.wait()
    }
    #expect(started.wait())
    return gate
}
