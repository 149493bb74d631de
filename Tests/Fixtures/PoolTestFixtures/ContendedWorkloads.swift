// The reference workloads that contend on shared state (a lock, a mutex, an atomic) share it
// process-wide, and every test target runs in one process: a test that measures their
// contention and a test that merely runs them must not overlap, or each sees the other's.
import PoolExecutors

#if canImport(Glibc)
    import Glibc
#endif

// Locked, not Synchronization.Mutex: a contended Mutex hands over where ThreadSanitizer cannot
// see it (a false race).
private let contendedWorkloads = Locked(())

/// Runs `body` while no other test runs the contended reference workloads in this process.
public func withContendedWorkloads<T>(_ body: () throws -> T) rethrows -> T {
    try contendedWorkloads.withLock { _ in try body() }
}

/// The reference workloads whose contended state is shared by every caller in the process.
public let contendedWorkloadNames: Set<String> = ["blocking-lock", "spinning-mutex", "atomic-counter", "shared-table"]

/// Tests that measure the machine (CPU ratios, scaling) run alone; tests that load it with many
/// worker processes (the fault-injection suites) share the machine with each other but not with
/// a measurement. A writer-preferring read-write lock: a measurement waits for the loads under
/// way, and no new load starts meanwhile.
private final class MachineUse: @unchecked Sendable {
    private let state = Locked((loads: 0, measuring: false, waitingMeasurements: 0))

    func withLoad<T>(_ body: () throws -> T) rethrows -> T {
        while !state.withLock({ state in
            guard !state.measuring, state.waitingMeasurements == 0 else { return false }
            state.loads += 1
            return true
        }) { pause() }
        defer { state.withLock { $0.loads -= 1 } }
        return try body()
    }

    func withMeasurement<T>(_ body: () throws -> T) rethrows -> T {
        state.withLock { $0.waitingMeasurements += 1 }
        while !state.withLock({ state in
            guard !state.measuring, state.loads == 0 else { return false }
            state.measuring = true
            state.waitingMeasurements -= 1
            return true
        }) { pause() }
        defer { state.withLock { $0.measuring = false } }
        return try body()
    }

    private func pause() { usleep(5_000) }
}

private let machineUse = MachineUse()

/// Runs `body`, which loads the machine with many processes, never during a measurement.
public func withMachineLoad<T>(_ body: () throws -> T) rethrows -> T { try machineUse.withLoad(body) }

/// Runs `body`, which measures the machine, with no test of this process loading it.
public func withMachineMeasurement<T>(_ body: () throws -> T) rethrows -> T { try machineUse.withMeasurement(body) }
