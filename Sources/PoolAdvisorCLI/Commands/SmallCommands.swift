internal import Foundation
internal import PoolAdvisor

/// `pool-advisor calibrate`: the machine's costs.
enum CalibrateCommand {
    static let spec = CommandSpec(
        name: "calibrate", synopsis: "[--refresh] [--json] [--ssh LOGINS] [--hosts FILE] [--remote-executable PATH]",
        summary: "Measure this machine's costs: worker start, round trip, pipe bandwidth, thread costs.",
        discussion: """
            Each figure is measured in several rounds and the quietest round is kept; a figure whose
            rounds differ more than 2× is flagged as noisy (the machine was busy). The result is cached
            per host and build for 7 days (1 hour when noisy); a cache that is unreadable, a link, or
            holds implausible figures is measured again with a note. --refresh measures again.

            With --ssh or --hosts, each other host is measured through its launcher instead: its
            cores, the time to start a worker there, a round trip and the stream's bandwidth,
            cached per host, launcher and build for a day.
            """,
        options: .list(refresh, json, HostOptions.ssh, HostOptions.hosts, HostOptions.remoteExecutable))

    static let refresh = CommandOption.flag(
        "--refresh", help: "Measure again even if a fresh calibration is cached.")
    static let json = CommandOption.flag("--json", help: "Print the machine profile as JSON.")

    static func run(_ arguments: ArraySlice<String>, _ context: CommandContext) throws -> Int32 {
        guard let parsed = try context.parse(arguments, spec) else { return 0 }
        let logins = try HostOptions.logins(parsed)
        if !logins.isEmpty { return try calibrateHosts(logins, parsed, context) }
        let machine = try context.machine(refresh: parsed.has(refresh))
        if parsed.has(json) {
            try context.printJSON(machine)
            return 0
        }
        var rows: [(String, String)] = [
            ("usable cores", "\(machine.usableCores)"),
            ("worker start", NumberText.seconds(machine.workerStartSeconds)),
            ("round trip", NumberText.seconds(machine.roundTripSeconds)),
            ("pipe bandwidth", "\(NumberText.bytes(machine.ipcBandwidthBytesPerSecond))/s"),
        ]
        if let shared = machine.sharedMemoryBandwidthBytesPerSecond, let threshold = machine.sharedMemoryThresholdBytes
        {
            rows.append(
                (
                    "shared memory",
                    "\(NumberText.bytes(shared))/s (values of \(NumberText.bytes(Double(threshold))) and more)"
                ))
        }
        rows += [
            ("thread start", NumberText.seconds(machine.threadStartSeconds)),
            ("thread dispatch", NumberText.seconds(machine.threadDispatchSeconds)),
            ("thread map item", NumberText.seconds(machine.threadMapItemSeconds)),
            ("process map item", NumberText.seconds(machine.processMapItemSeconds)),
        ]
        let about = provenance(machine, cachePath: MachineCalibration().cachePath)
        context.print((rows + about).map { "  \($0.0.padded(to: 17)) \($0.1)" }.joined(separator: "\n") + "\n")
        return 0
    }

    /// `calibrate --ssh/--hosts`: each remote host's costs through its launcher (this
    /// machine's `:` is the usual calibration).
    private static func calibrateHosts(_ logins: [HostLogin], _ parsed: ParsedArguments, _ context: CommandContext)
        throws -> Int32
    {
        let calibration = HostCalibration()
        var profiles: [HostProfile] = []
        for login in logins where !login.launcher.isLocal {
            if parsed.has(refresh) || calibration.cachedProfile(for: login.launcher) == nil {
                context.note("measuring host \(login.launcher.host) through `\(login.launcher)`…\n")
            }
            do {
                profiles.append(try calibration.profile(for: login.launcher, refresh: parsed.has(refresh)))
            } catch {
                throw CommandFailure(message: "host \(login.launcher.host): \(error)")
            }
        }
        if parsed.has(json) {
            try context.printJSON(profiles)
            return 0
        }
        for (login, host) in zip(logins.filter { !$0.launcher.isLocal }, profiles) {
            let measured = Date(timeIntervalSince1970: host.measuredAtEpochSeconds)
            let rows: [(String, String)] = [
                (
                    "usable cores",
                    "\(host.usableCores) (it calls itself \(String(host.reportedHostName.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(255))))"
                ),
                ("worker start", NumberText.seconds(host.workerStartSeconds)),
                ("round trip", NumberText.seconds(host.roundTripSeconds)),
                ("bandwidth", "\(NumberText.bytes(host.bandwidthBytesPerSecond))/s"),
                ("measured", timestamp(measured)),
                (
                    "cached in",
                    "\(calibration.cachePath(for: login.launcher) ?? "nowhere") until \(timestamp(measured.addingTimeInterval(calibration.maximumAgeSeconds)))"
                ),
            ]
            context.print(
                "host \(host.host) (\(login.launcher))\n"
                    + rows.map { "  \($0.0.padded(to: 17)) \($0.1)" }.joined(separator: "\n")
                    + "\n")
        }
        return 0
    }

    /// When and how the figures were measured, where they are cached and until when, and
    /// which figures are noisy.
    static func provenance(_ machine: MachineProfile, cachePath: String?, now: Date = Date()) -> [(String, String)] {
        let measured = Date(timeIntervalSince1970: machine.measuredAtEpochSeconds)
        let age = max(0, now.timeIntervalSince(measured))
        var rows = [
            ("measured", "\(timestamp(measured)) (\(age < 5 ? "just now" : NumberText.seconds(age) + " ago"))")
        ]
        guard let method = machine.method else {
            rows.append(("method", "not recorded (cached by an older version; --refresh measures again)"))
            return rows
        }
        rows.append(
            (
                "method",
                "\(method.threadRounds) rounds of thread figures, \(method.workerRounds) of worker figures; each figure is its quietest round"
            ))
        let life = method.isNoisy ? MachineCalibration.noisyAgeSeconds : MachineCalibration().maximumAgeSeconds
        if let cachePath {
            rows.append(("cached in", "\(cachePath) until \(timestamp(measured.addingTimeInterval(life)))"))
        }
        if let share = method.otherProgramsCPUShare {
            let busy = method.isBusy ? " (busy: kept for an hour only)" : ""
            rows.append(
                (
                    "other programs",
                    "used \(NumberText.fixed(share * 100, decimals: 0))% of the CPU while measuring\(busy)"
                ))
        }
        for figure in method.noisyFigures {
            let spread = NumberText.fixed(method.spread[figure] ?? 0, decimals: 1)
            rows.append(
                (
                    "noisy",
                    "\(figure): rounds differed \(spread)× (a busy machine, or a figure that varies by where the scheduler puts the worker); kept for an hour only"
                ))
        }
        return rows
    }

    private static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
