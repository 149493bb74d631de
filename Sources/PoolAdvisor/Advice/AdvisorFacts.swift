public import PoolProfiler
public import PoolRules

/// The facts the rules read: measured by the profiler, declared by the task, measured on the
/// machine, or predicted by the ``CostModel``. `docs/rules.md` lists them with their meaning.
public enum AdvisorFacts {
    /// Every fact with its type, unit and meaning; rules are checked against this list.
    public static let schema = FactSchema([
        // The job.
        FactDefinition("items", .number, unit: "count", "inputs in the job"),
        // The task, measured.
        FactDefinition("call_seconds", .number, unit: "seconds", "mean wall time of one call, run alone"),
        FactDefinition("cpu_seconds", .number, unit: "seconds", "mean CPU time of one call on its own thread"),
        FactDefinition(
            "warm_up_seconds", .number, unit: "seconds",
            "what the first call in a fresh process costs over the others (each worker process pays it once)",
            mayBeUnknown: true),
        FactDefinition(
            "cpu_ratio", .number, unit: "ratio",
            "CPU time over the time the call could run (wall minus waiting for a core)"),
        FactDefinition(
            "blocked_ratio", .number, unit: "ratio",
            "share of wall time the calling thread was blocked (not running, not runnable)"),
        FactDefinition(
            "children_cpu_ratio", .number, unit: "ratio",
            "CPU time of the call's child processes over its wall time (external commands)"),
        FactDefinition(
            "run_queue_ratio", .number, unit: "ratio",
            "share of wall time spent runnable but waiting for a core (other programs)"),
        FactDefinition(
            "io_share", .number, unit: "ratio", "share of samples waiting on I/O (pipe, socket, file, poll, disk)",
            mayBeUnknown: true),
        FactDefinition(
            "lock_share", .number, unit: "ratio",
            "share of samples waiting on a lock, alone or with copies running (the larger)", mayBeUnknown: true),
        FactDefinition("sleep_share", .number, unit: "ratio", "share of samples sleeping", mayBeUnknown: true),
        FactDefinition(
            "dominant_wait", .text, "the most frequent wait (lockWait, pipeIO, diskIO, sleep, …) or \"none\"",
            mayBeUnknown: true),
        FactDefinition("scaling_threads", .number, unit: "count", "threads the scaling test ran", mayBeUnknown: true),
        FactDefinition(
            "cpu_efficiency", .number, unit: "ratio", "work per CPU second on N threads over one thread (E_cpu)",
            mayBeUnknown: true),
        FactDefinition(
            "serial_fraction", .number, unit: "ratio",
            "Karp–Flatt serial fraction e from the speed-up; above 1 means copies slow each other down",
            mayBeUnknown: true),
        FactDefinition(
            "speedup", .number, unit: "ratio", "throughput on N threads over one thread", mayBeUnknown: true),
        FactDefinition(
            "process_speedup", .number, unit: "ratio",
            "throughput of N worker processes over one, when the profile ran the process-scaling test",
            mayBeUnknown: true),
        FactDefinition(
            "process_over_threads", .number, unit: "ratio",
            "N worker processes' speed-up over N threads' in rounds run side by side (quiet host only), "
                + "the mean of the rounds, whether or not they were enough to be sure",
            mayBeUnknown: true),
        FactDefinition(
            "speedup_under_load", .number, unit: "ratio",
            "throughput on N threads over one while other programs held the cores (noisy host only): "
                + "the load's share is in it",
            mayBeUnknown: true),
        FactDefinition(
            "fair_speedup_under_load", .number, unit: "ratio",
            "the speed-up under load that N copies sharing nothing would show beside the other programs measured",
            mayBeUnknown: true),
        FactDefinition("noisy_host", .boolean, "other programs held the cores while scaling was measured"),
        FactDefinition("borderline", .boolean, "a deciding figure's interval straddles one of its thresholds"),
        FactDefinition("borderline_figures", .text, "the names of the borderline figures, or \"none\""),
        FactDefinition("failed_calls", .number, unit: "count", "sampled calls that threw"),
        FactDefinition("input_bytes", .number, unit: "bytes", "encoded size of one input"),
        FactDefinition("output_bytes", .number, unit: "bytes", "encoded size of one output"),
        FactDefinition(
            "ship_seconds", .number, unit: "seconds", "encoding, decoding and piping one call's input and output"),
        FactDefinition("ship_ratio", .number, unit: "ratio", "ship_seconds over the call's CPU time"),
        // The task, declared.
        FactDefinition("crash_prone", .boolean, "the task declares it may crash the process"),
        FactDefinition("thread_unsafe", .boolean, "the task declares copies must not run at once in one process"),
        FactDefinition("has_stages", .boolean, "the task declares a fetch and a compute stage (StagedTask)"),
        FactDefinition("runs_command", .boolean, "each call runs an external command (--exec, TaskTraits.runsCommand)"),
        // The machine.
        FactDefinition("cores", .number, unit: "count", "usable cores (affinity and cgroup quota)"),
        FactDefinition(
            "others_cores", .number, unit: "count",
            "cores' worth of CPU other programs held while the profile ran", mayBeUnknown: true),
        FactDefinition(
            "cpu_workers", .number, unit: "count",
            "copies for CPU-bound work: the cores, or twice them while other programs hold 0.4 of a core or more"),
        FactDefinition("thread_start_seconds", .number, unit: "seconds", "starting and joining one thread"),
        FactDefinition("thread_dispatch_seconds", .number, unit: "seconds", "one submit and wait on the thread pool"),
        FactDefinition(
            "worker_start_seconds", .number, unit: "seconds", "starting a worker process until its first answer"),
        FactDefinition(
            "round_trip_seconds", .number, unit: "seconds", "one empty request and reply with a worker process"),
        FactDefinition("process_item_seconds", .number, unit: "seconds", "per-item cost of a chunked process-pool map"),
        // The cost model's predictions for the whole job.
        FactDefinition("serial_seconds", .number, unit: "seconds", "predicted wall time run serially"),
        FactDefinition(
            "threads_seconds", .number, unit: "seconds", "predicted wall time on the best-sized thread pool"),
        FactDefinition(
            "processes_seconds", .number, unit: "seconds", "predicted wall time on the best-sized process pool"),
        FactDefinition(
            "pipeline_seconds", .number, unit: "seconds",
            "predicted wall time of the split pipeline (unknown without stages)", mayBeUnknown: true),
        FactDefinition(
            "split_pipeline_seconds", .number, unit: "seconds",
            "predicted wall time of the split pipeline with its compute stage on processes (unknown without stages)",
            mayBeUnknown: true),
        FactDefinition("best_parallel_seconds", .number, unit: "seconds", "the fastest predicted parallel mode"),
        // Other hosts (`--ssh`, `--hosts`, Advisor.hosts), as measured through their launchers.
        FactDefinition("hosts", .number, unit: "count", "other hosts the job may also use (0: this machine alone)"),
        FactDefinition(
            "remote_cores", .number, unit: "count", "cores of the other hosts, together", mayBeUnknown: true),
        FactDefinition(
            "remote_workers", .number, unit: "count", "worker processes a multi-host plan runs, every host's",
            mayBeUnknown: true),
        FactDefinition(
            "remote_start_seconds", .number, unit: "seconds",
            "the slowest host's worker start through its launcher", mayBeUnknown: true),
        FactDefinition(
            "remote_round_trip_seconds", .number, unit: "seconds", "the slowest host's round trip",
            mayBeUnknown: true),
        FactDefinition(
            "remote_bandwidth", .number, unit: "bytes/s", "the narrowest host's stream bandwidth", mayBeUnknown: true),
        FactDefinition(
            "multihost_seconds", .number, unit: "seconds",
            "predicted wall time on every host's worker processes (unknown without hosts)", mayBeUnknown: true),
    ])

    /// The other hosts' facts (all unknown but `hosts` when there are none).
    static func addHostFacts(_ facts: inout Facts, hosts: [RemoteHost], multiHost: PlanCost?) {
        func set(_ name: String, _ value: Double?) { facts[name] = value.map(FactValue.number) ?? .unknown }
        set("hosts", Double(hosts.count))
        let known = !hosts.isEmpty
        set("remote_cores", known ? Double(hosts.reduce(0) { $0 + $1.profile.usableCores }) : nil)
        set("remote_workers", multiHost.map { Double($0.workers) })
        set("remote_start_seconds", hosts.map(\.profile.workerStartSeconds).max())
        set("remote_round_trip_seconds", hosts.map(\.profile.roundTripSeconds).max())
        set("remote_bandwidth", hosts.map(\.profile.bandwidthBytesPerSecond).min())
        set("multihost_seconds", multiHost?.seconds)
    }

    /// The facts for `profile` run on `items` inputs on `machine`.
    public static func facts(for profile: TaskProfile, items: Int, machine: MachineProfile, costs: CostPrediction)
        -> Facts
    {
        facts(model: CostModel(profile: profile, machine: machine), items: items, costs: costs)
    }

    /// The facts for the profile and machine `model` prices, with its `costs` for `items` inputs.
    static func facts(model: CostModel, items: Int, costs: CostPrediction) -> Facts {
        let profile = model.profile
        let machine = model.machine
        var facts = Facts()
        func set(_ name: String, _ value: Double?) { facts[name] = value.map(FactValue.number) ?? .unknown }
        set("items", Double(items))
        set("call_seconds", profile.calls.wallSecondsPerCall.value)
        set("cpu_seconds", profile.calls.threadCPUSecondsPerCall)
        set("warm_up_seconds", profile.calls.firstCallSeconds == nil ? nil : profile.calls.warmUpSeconds)
        set("cpu_ratio", profile.calls.cpuRatio.value)
        set("blocked_ratio", profile.calls.blockedRatio)
        set("children_cpu_ratio", profile.calls.childrenCPURatio)
        set("run_queue_ratio", profile.calls.runQueueRatio)
        if let waits = profile.waits {
            set("io_share", waits.ioFraction.value)
            set("sleep_share", waits.fraction(.sleep).value)
            set(
                "lock_share",
                max(waits.fraction(.lockWait).value, profile.scaling?.waits?.fraction(.lockWait).value ?? 0))
            facts["dominant_wait"] = .text(waits.dominantWait?.rawValue ?? "none")
        }
        if let scaling = profile.scaling {
            set("scaling_threads", Double(scaling.threads))
            set("cpu_efficiency", scaling.cpuEfficiency.value)
            set("serial_fraction", scaling.serialFraction?.value)
            set("speedup", scaling.speedup?.value)
            set("process_speedup", scaling.processSpeedup?.value)
            set("process_over_threads", scaling.processOverThreads?.value)
            set("speedup_under_load", scaling.speedupUnderLoad?.value)
            set(
                "fair_speedup_under_load",
                scaling.speedupUnderLoad == nil ? nil : model.fairSpeedupUnderLoad(copies: scaling.threads))
        }
        facts["noisy_host"] = .boolean(profile.scaling?.noisyHost ?? false)
        facts["borderline"] = .boolean(profile.isBorderline)
        let borderline = profile.figures.filter(\.isBorderline).map(\.name)
        facts["borderline_figures"] = .text(borderline.isEmpty ? "none" : borderline.joined(separator: ", "))
        set("failed_calls", Double(profile.failures.count))
        set("input_bytes", profile.payload.inputBytes)
        set("output_bytes", profile.payload.outputBytes)
        set("ship_seconds", profile.payload.shippingSecondsPerCall)
        set("ship_ratio", profile.payload.shippingToComputeRatio)
        let declared = profile.declared ?? TaskDeclaration()
        facts["crash_prone"] = .boolean(declared.crashProne)
        facts["thread_unsafe"] = .boolean(declared.notThreadSafe)
        facts["has_stages"] = .boolean(declared.stages != nil)
        facts["runs_command"] = .boolean(declared.runsCommand ?? false)
        set("cores", Double(machine.usableCores))
        set("others_cores", model.measuredOthersCores)
        set("cpu_workers", Double(model.cpuWorkers(items: items)))
        set("thread_start_seconds", machine.threadStartSeconds)
        set("thread_dispatch_seconds", machine.threadDispatchSeconds)
        set("worker_start_seconds", machine.workerStartSeconds)
        set("round_trip_seconds", machine.roundTripSeconds)
        set("process_item_seconds", machine.processMapItemSeconds)
        set("serial_seconds", costs.serial.seconds)
        set("threads_seconds", costs.threads.seconds)
        set("processes_seconds", costs.processes.seconds)
        set("pipeline_seconds", costs.pipeline?.seconds)
        set("split_pipeline_seconds", costs.splitPipeline?.seconds)
        set("best_parallel_seconds", costs.bestParallel.seconds)
        addHostFacts(&facts, hosts: [], multiHost: nil)
        return facts
    }
}
