// The reference workloads that contend on shared state (a lock, a mutex, an atomic) share it
// process-wide, and every test target runs in one process: a test that measures their
// contention and a test that merely runs them must not overlap, or each sees the other's.
import Synchronization

private let contendedWorkloads = Mutex(())

/// Runs `body` while no other test runs the contended reference workloads in this process.
public func withContendedWorkloads<T>(_ body: () throws -> T) rethrows -> T {
    try contendedWorkloads.withLock { _ in try body() }
}

/// The reference workloads whose contended state is shared by every caller in the process.
public let contendedWorkloadNames: Set<String> = ["blocking-lock", "spinning-mutex", "atomic-counter"]
