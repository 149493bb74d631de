public import PoolProfiler

/// Another host a job may use: its measured costs (``HostProfile``) and the workers it would run.
public struct RemoteHost: Sendable, Codable, Equatable {
    /// What the host costs, measured through its launcher.
    public var profile: HostProfile
    /// Workers it runs (by default its cores).
    public var workers: Int

    /// `profile`'s host running `workers` workers (nil: its cores).
    public init(_ profile: HostProfile, workers: Int? = nil) {
        self.profile = profile
        self.workers = max(1, workers ?? profile.usableCores)
    }
}

/// The multi-host prediction (`docs/cluster.md` has the formulas): every host pulls items as
/// its workers free up, so the job drains at the sum of the hosts' rates.
///
/// A remote worker's time per item is the call, plus encoding and decoding, plus the item's
/// bytes through that host's stream (both ways, at its measured bandwidth), plus a round trip
/// per chunk; a host's cores scale as copies did on this machine (the profile's fitted law,
/// ``processSpeedup(_:)``), and hosts add up. The job then
/// takes the slowest host's start (they start together), plus the largest of: the items over
/// the summed rates, the parent's own work per item (it encodes every input and decodes every
/// output), and the bytes every stream carries over what this machine's cores can push
/// through the launchers (ssh encrypts on both ends). The remote CPU is assumed to run a call
/// as fast as this one.
extension CostModel {
    /// Bytes one call ships, input and output.
    private var bytesPerCall: Double { max(0, profile.payload.inputBytes + profile.payload.outputBytes) }

    /// Predicted seconds for `items` on `hosts` (and, with `localWorkers` > 0, that many
    /// worker processes on this machine too), `chunk` items a request; nil without hosts.
    public func multiHostSeconds(items: Int, hosts: [RemoteHost], localWorkers: Int, chunk: Int = 1) -> Double? {
        guard !hosts.isEmpty else { return nil }
        let n = Double(max(0, items))
        // A profile read from a file may hold a negative shipping time: none is cheaper than free.
        let shipping = max(0, ship)
        let perChunk = 1 / Double(max(1, chunk))
        var rate = 0.0
        var start = 0.0
        for host in hosts {
            let transfer = bytesPerCall / max(host.profile.bandwidthBytesPerSecond, 1e3)
            let occupied = wall + shipping / 2 + transfer + host.profile.roundTripSeconds * perChunk
            let computing = max(cpu + shipping / 2, 1e-9)
            let workers = Double(max(1, host.workers))
            let cores = Double(max(1, host.profile.usableCores))
            // Within a host, copies scale as the profile measured them here (its fitted law);
            // between hosts nothing is shared.
            rate += min(workers / occupied, processSpeedup(Int(min(workers, cores))) / computing)
            start = max(start, host.profile.workerStartSeconds)
        }
        if localWorkers > 0 {
            let local = Double(localWorkers)
            let occupied = wall + shipping / 2 + machine.roundTripSeconds * perChunk
            let computing = max(cpu + shipping + machine.processMapItemSeconds, 1e-9)
            rate += min(local / occupied, processSpeedup(min(localWorkers, machine.usableCores)) / computing)
            start = max(start, machine.workerStartSeconds)
        }
        let parent = n * (shipping / 2 + machine.processMapItemSeconds)
        let streams = hosts.map { Double($0.workers) * $0.profile.bandwidthBytesPerSecond }.reduce(0, +)
        let pushed = n * bytesPerCall / max(min(streams, Double(machine.usableCores) * Self.launcherBytesPerCore), 1e3)
        return start + profile.calls.warmUpSeconds + max(n / max(rate, 1e-12), parent, pushed)
    }

    /// Bytes per second one core of this machine moves through a launcher's stream (ssh's
    /// encryption and copies); the measured bandwidth of one stream is usually below it.
    static let launcherBytesPerCore = 150e6
}
