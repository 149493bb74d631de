internal import PoolSystem

/// How each remote host's workers fare: restarts after a back-off, and dropping a host that
/// keeps failing so the job goes on with the others. Each method runs under the core's lock.
extension ProcessPoolState {
    /// One host's recent failures.
    struct HostHealth {
        /// Failures since its last finished item: starts that failed, connections lost.
        var failures = 0
        /// No more workers start there.
        var dropped = false
        /// The next worker there starts no earlier than this (monotonic nanoseconds).
        var retryAt: UInt64 = 0
        /// What went wrong last, for the error if every host is dropped.
        var lastError: String?
    }

    /// The wait before the `failures`-th restart on a host: 0.1 s, doubling, at most 5 s.
    static func backOffNanoseconds(failures: Int) -> UInt64 {
        let base: UInt64 = 100_000_000
        let shift = UInt64(min(max(failures - 1, 0), 6))
        return min(base << shift, 5_000_000_000)
    }

    /// Host `host` failed (a start, or a lost connection): it is retried after a back-off, or
    /// dropped when the failure cannot pass or it has failed ``ProcessPool/Configuration/hostFailureLimit``
    /// times in a row. With every host dropped the pool breaks.
    ///
    /// Failures of its other workers during a back-off belong to the same incident (a network
    /// blip ends all sixteen connections to a host at once): they are not counted again.
    mutating func hostFailed(_ host: Int, _ error: PoolError, permanent: Bool) -> Action {
        let name = configuration.effectiveHosts[host].launcher.host
        if !permanent && MonotonicClock.nanoseconds() < hostHealth[host].retryAt { return Action() }
        hostHealth[host].failures += 1
        hostHealth[host].lastError = error.message
        let failures = hostHealth[host].failures
        guard permanent || failures >= configuration.hostFailureLimit else {
            let wait = Self.backOffNanoseconds(failures: failures)
            hostHealth[host].retryAt = MonotonicClock.nanoseconds() &+ wait
            var action = Action()
            action.warnings.append(
                "pool-advisor: host \(name) failed (\(error.message)); starting its worker again in \(Double(wait) / 1e9) s"
            )
            return action
        }
        hostHealth[host].dropped = true
        let remaining = hostHealth.indices.filter { !hostHealth[$0].dropped }
        guard !remaining.isEmpty else {
            let reasons = hostHealth.indices.map {
                "\(configuration.effectiveHosts[$0].launcher.host): \(hostHealth[$0].lastError ?? "?")"
            }
            return breakPool(
                PoolError(
                    .workerStartFailed,
                    "process pool '\(configuration.name)' has no host left to run on; \(reasons.joined(separator: "; "))"
                ))
        }
        var action = Action()
        let names = remaining.map { configuration.effectiveHosts[$0].launcher.host }
        action.warnings.append(
            "pool-advisor: host \(name) dropped after \(failures) failure\(failures == 1 ? "" : "s") in a row (last: \(error.message)); the job goes on with \(names.joined(separator: ", "))"
        )
        return action
    }

    /// A worker on host `host` finished an item: the host is well again.
    mutating func hostServed(_ host: Int) {
        if hostHealth[host].failures != 0 {
            hostHealth[host].failures = 0
            hostHealth[host].retryAt = 0
        }
    }
}
