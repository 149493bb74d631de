import Foundation
import PoolAdvisor

/// What the cost model predicts for each reference workload on 1, 10 and 100 hosts like this
/// one, reached as the measured launcher reaches its host: a job sized to take an hour run
/// serially here, priced by ``CostModel/multiHostSeconds(items:hosts:localWorkers:chunk:)``
/// from the profile's own scaling law and the launcher's measured start, round trip and
/// bandwidth. Predictions, not measurements: `docs/cluster.md` explains them.
struct ClusterModel {
    let host: HostProfile
    let quick: Bool

    func add(to report: Report) {
        let machine = (try? MachineCalibration().profile()) ?? .typical(cores: Machine.usableCores)
        var options = ProfilerOptions()
        options.maximumSeconds = quick ? 0.5 : 1.5
        options.minimumSeconds = min(options.minimumSeconds, options.maximumSeconds / 2)
        options.samplingHertz = quick ? 0 : options.samplingHertz
        let profiler = Profiler(options: options, machine: machine)
        var lines = [
            "assumed per host: \(host.usableCores) cores, worker start \(format(host.workerStartSeconds * 1e3)) ms, round trip \(format(host.roundTripSeconds * 1e6)) µs, \(format(host.bandwidthBytesPerSecond / 1e6)) MB/s per stream (as measured through \(host.launcher))",
            pad("workload", 16) + padLeft("items", 11) + padLeft("here", 10) + padLeft("1 host", 10)
                + padLeft("10 hosts", 10) + padLeft("100 hosts", 11) + padLeft("×100/here", 11),
        ]
        for workload in ReferenceWorkloads.all {
            guard let row = predict(workload, profiler: profiler, machine: machine) else { continue }
            lines.append(
                pad(workload.workloadName, 16) + padLeft("\(row.items)", 11) + padLeft(seconds(row.here), 10)
                    + padLeft(seconds(row.hosts[0]), 10) + padLeft(seconds(row.hosts[1]), 10)
                    + padLeft(seconds(row.hosts[2]), 11) + padLeft(format(row.here / row.hosts[2]) + "×", 11))
            report.addJSON([
                ("figure", .text("cluster_model")), ("workload", .text(workload.workloadName)),
                ("items", .number(Double(row.items))), ("here_seconds", .number(row.here)),
                ("one_host_seconds", .number(row.hosts[0])), ("ten_hosts_seconds", .number(row.hosts[1])),
                ("hundred_hosts_seconds", .number(row.hosts[2])),
            ])
        }
        report.addTable("predicted: an hour of serial work per workload, on hosts like this one", lines)
    }

    private func predict(_ workload: any ReferenceWorkload.Type, profiler: Profiler, machine: MachineProfile)
        -> (items: Int, here: Double, hosts: [Double])?
    {
        func profiled<Task: ReferenceWorkload>(_ task: Task.Type) -> TaskProfile? {
            try? profiler.profile(task, sample: task.inputs(count: 16))
        }
        guard let profile = profiled(workload) else { return nil }
        let model = CostModel(profile: profile, machine: machine)
        let wall = max(profile.calls.wallSecondsPerCall.value, 1e-9)
        let items = max(1, Int(min(3600 / wall, 1e9)))
        let here = model.predict(items: items).bestParallel.seconds
        // As many workers per host as keep its cores busy (more for a task that waits), as
        // one would write N/host for it.
        let ratio = max(profile.calls.cpuRatio.value, 0.02)
        let workers = min(64, max(host.usableCores, Int((Double(host.usableCores) / ratio).rounded(.up))))
        let remote = RemoteHost(host, workers: workers)
        let hosts = [1, 10, 100].map { count in
            let chunk = model.chunk(items: items, workers: count * workers, overhead: host.roundTripSeconds)
            return model.multiHostSeconds(
                items: items, hosts: Array(repeating: remote, count: count), localWorkers: 0, chunk: chunk) ?? .nan
        }
        return (items, here, hosts)
    }

    private func seconds(_ value: Double) -> String {
        value >= 100 ? "\(Int(value.rounded())) s" : "\(format(value)) s"
    }
}
