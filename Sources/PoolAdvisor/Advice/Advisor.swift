public import PoolProfiler
public import PoolRules

/// Turns a task's profile into a recommendation by evaluating the decision rules.
///
/// ```swift
/// let profile = try Profiler().profile(Checksum.self, sample: Array(paths.prefix(32)))
/// let advice = Advisor().recommend(profile, items: paths.count)
/// print(advice.summary)        // "threads × 2, chunk 4 (rule cpu-scales-on-threads)"
/// print(advice.explanation)    // every rule, each condition with its measured value
/// ```
///
/// The rules are data: ``defaultRules`` is `rules/decision-matrix.rules` compiled into the
/// binary; ``init(rules:machine:)`` takes any other checked ``RuleSet``.
public struct Advisor: Sendable {
    /// The rules this advisor evaluates.
    public let rules: RuleSet
    /// The machine's costs; nil means "use the cached calibration, or typical figures".
    public let machine: MachineProfile?
    /// Other hosts a job may also run worker processes on, with their measured costs
    /// (``HostCalibration``): the advisor predicts a multi-host plan and the rules choose it
    /// only when it wins after start-up and shipping. Empty: this machine alone.
    public var hosts: [RemoteHost] = []
    /// Worker processes on this machine in a multi-host plan (0 when the hosts list leaves
    /// this machine out).
    public var localWorkersWithHosts = 0

    /// The built-in decision matrix, checked against ``AdvisorFacts/schema``.
    public static let defaultRules: RuleSet = {
        do {
            return try RuleSet(
                source: defaultRulesSource, file: "rules/decision-matrix.rules", schema: AdvisorFacts.schema,
                actions: DecisionMode.actions)
        } catch {
            fatalError("BUG: the built-in rules do not load:\n\(error)")
        }
    }()

    /// An advisor with `rules` (the built-in matrix by default) for `machine`.
    /// - Parameters:
    ///   - rules: a rule set checked against ``AdvisorFacts/schema``.
    ///   - machine: this machine's costs, from ``MachineCalibration``. When nil, the advisor uses
    ///     the cached calibration of the running executable if there is one, and otherwise the
    ///     typical figures of ``MachineProfile/typical(cores:)`` (and says so in a warning).
    public init(rules: RuleSet = Advisor.defaultRules, machine: MachineProfile? = nil) {
        self.rules = rules
        self.machine = machine
        // Resolved once, here: every recommendation and every executor that sizes batches
        // with this advisor then prices the same machine, and the cache is read once.
        cached = machine == nil ? MachineCalibration().cachedProfile() : nil
    }

    /// The cached calibration read when this advisor was made (when no machine was given).
    private let cached: MachineProfile?

    /// The machine this advisor prices plans on: the one given, else the cached calibration,
    /// else typical figures for `cores`.
    package func costMachine(cores: Int) -> MachineProfile {
        resolvedMachine(cores: cores).0
    }

    /// Loads a rules file and checks it against the advisor's facts.
    /// - Throws: ``RuleFileError`` naming every error at `file:line:col`, or ``RuleLoadingError``
    ///   when the file cannot be read.
    public static func loadRules(contentsOf path: String) throws -> RuleSet {
        guard let text = RuleFiles.read(path) else { throw RuleLoadingError(path: path) }
        return try RuleSet(source: text, file: path, schema: AdvisorFacts.schema, actions: DecisionMode.actions)
    }

    /// Recommends how to run `items` inputs of the profiled task.
    /// - Parameters:
    ///   - profile: what ``Profiler`` measured.
    ///   - items: how many inputs the whole job has.
    /// - Returns: the mode with its sizes, the deciding rule, advice, predicted times and the full trace.
    public func recommend(_ profile: TaskProfile, items: Int) -> Recommendation {
        let (machine, machineNote) = resolvedMachine(cores: profile.host.usableCores)
        let model = CostModel(profile: profile, machine: machine)
        let items = max(0, items)
        var costs = model.predict(items: items)
        costs.multiHost = multiHostCost(model, items: items)
        var facts = AdvisorFacts.facts(model: model, items: items, costs: costs)
        AdvisorFacts.addHostFacts(&facts, hosts: hosts, multiHost: costs.multiHost)
        var evaluation = rules.evaluate(facts)
        if let machineNote {
            evaluation.advisories.insert(
                RuleAdvisory(
                    rule: "(advisor)", location: SourceLocation(file: "<advisor>", line: 0, column: 0), kind: .warning,
                    text: machineNote, reason: nil),
                at: 0)
        }
        // A rule set built with a vocabulary of its own may decide something that is no mode.
        if let decision = evaluation.decision, DecisionMode(rawValue: decision.action) == nil {
            evaluation.advisories.insert(
                RuleAdvisory(
                    rule: "(advisor)", location: decision.location, kind: .warning,
                    text:
                        "rule '\(decision.rule)' decided '\(decision.action)', which is not a mode (\(DecisionMode.allCases.map(\.rawValue).joined(separator: ", "))): the job runs serially; load rules with DecisionMode.actions",
                    reason: nil),
                at: 0)
        }
        return Self.recommendation(profile: profile, items: items, evaluation: evaluation, model: model, costs: costs)
    }

    /// The multi-host plan's cost: every host's workers, chunks sized for the slowest round trip.
    private func multiHostCost(_ model: CostModel, items: Int) -> PlanCost? {
        guard !hosts.isEmpty else { return nil }
        let workers = hosts.reduce(localWorkersWithHosts) { $0 + $1.workers }
        let roundTrip = hosts.map(\.profile.roundTripSeconds).max() ?? 0
        let chunk = model.chunk(items: items, workers: workers, overhead: roundTrip)
        guard
            let seconds = model.multiHostSeconds(
                items: items, hosts: hosts, localWorkers: localWorkersWithHosts, chunk: chunk)
        else { return nil }
        return PlanCost(.processes(workers: workers, chunk: chunk), seconds: seconds)
    }

    private func resolvedMachine(cores: Int) -> (MachineProfile, String?) {
        if let machine { return (machine, nil) }
        if let cached { return (cached, nil) }
        return (
            .typical(cores: cores),
            "no machine calibration: typical costs assumed (run `pool-advisor calibrate` for this machine's)"
        )
    }

    static func recommendation(
        profile: TaskProfile, items: Int, evaluation: RuleEvaluation, model: CostModel, costs: CostPrediction
    ) -> Recommendation {
        let decision = evaluation.decision
        let mode = decision.flatMap { DecisionMode(rawValue: $0.action) } ?? .serial
        // A rules file may compute any finite size: clamped, never trapping in the conversion.
        func parameter(_ name: String) -> Int? {
            decision?.parameters[name].map { min(1_000_000, max(1, Int(saturating: $0.rounded(.up)))) }
        }
        var plan: ExecutionPlan
        switch mode {
        case .serial:
            plan = .serial
        case .threads, .processes:
            plan = ExecutionPlan(
                mode: mode, workers: parameter("workers") ?? max(1, profile.host.usableCores),
                chunkSize: parameter("chunk") ?? 1)
        case .pipeline:
            // A pipeline hands on one item at a time: a rule's `chunk` has nothing to size.
            plan = ExecutionPlan(
                mode: .pipeline, workers: parameter("compute_workers") ?? max(1, profile.host.usableCores),
                fetchWorkers: parameter("fetch_workers") ?? max(1, profile.host.usableCores),
                computeStage: decision?.words["compute"].flatMap(DecisionMode.init(rawValue:)) ?? .processes)
        }
        let onHosts = mode == .processes && decision?.words["on"] == "hosts" && costs.multiHost != nil
        if onHosts, let multiHost = costs.multiHost {
            plan = .processes(workers: multiHost.workers, chunk: parameter("chunk") ?? multiHost.chunk)
        }
        var recommendation = Recommendation(
            task: profile.task, items: items, plan: plan, decidingRule: decision,
            warnings: evaluation.advisories.filter { $0.kind == .warning },
            advice: evaluation.advisories.filter { $0.kind == .advice }, predicted: costs,
            predictedSeconds: onHosts
                ? costs.multiHost?.seconds ?? 0
                : plan == .serial ? costs.serial.seconds : model.seconds(for: plan, items: items),
            isBorderline: profile.isBorderline || (profile.scaling?.noisyHost ?? false), evaluation: evaluation)
        recommendation.runsOnHosts = onHosts
        return recommendation
    }
}

/// A rules file that could not be read.
public struct RuleLoadingError: Error, Sendable, CustomStringConvertible {
    /// The path as given.
    public var path: String
    public var description: String { "cannot read the rules file '\(path)' (missing, unreadable or not UTF-8)" }
}
