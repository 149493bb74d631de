import Foundation
import PoolAdvisor
import Testing

/// Figures that a corrupt or hostile calibration, profile or rules file can hold.
let hostileNumbers: [Double] = [1e308, .infinity, -.infinity, .nan, -1, 0, .leastNonzeroMagnitude]

@Suite("The cost model and the advisor never trap on hostile numbers")
struct NumberSafetyTests {
    @Test("chunk sizes and predictions from a machine with any value in any figure", arguments: hostileNumbers)
    func hostileMachine(_ value: Double) throws {
        let base = try quickProfile(PureCPU.self, count: 4)
        let profiles = [
            shaped(base, wall: 0.001, cpuShare: 1), shaped(base, wall: value, cpuShare: value),
            shaped(base, wall: 1e-6, cpuShare: 0.5, shipping: value),
        ]
        var machines: [MachineProfile] = []
        for figure in [
            \MachineProfile.roundTripSeconds, \.threadDispatchSeconds, \.workerStartSeconds, \.threadStartSeconds,
            \.processMapItemSeconds, \.ipcBandwidthBytesPerSecond,
        ] {
            var machine = testMachine
            machine[keyPath: figure] = value
            machines.append(machine)
        }
        for profile in profiles {
            for machine in machines {
                let model = CostModel(profile: profile, machine: machine)
                for items in [1, 1000, Int.max / 8] {
                    let chunk = model.chunk(items: items, workers: 2, overhead: value)
                    #expect(chunk >= 1 && chunk <= max(1, items / 8))
                }
                _ = model.predict(items: 1000)
                let advice = Advisor(machine: machine).recommend(profile, items: 1000)
                #expect((advice.chunkSize ?? 1) >= 1 && (advice.workers ?? 1) >= 1)
            }
        }
    }

    @Test("a rule whose sizes compute to huge finite numbers gives clamped sizes, not a trap")
    func hostileRuleSizes() throws {
        let profile = shaped(try quickProfile(PureCPU.self, count: 4), wall: 0.001, cpuShare: 1)
        for expression in ["1e300", "round_trip_seconds * 1e300", "items * 1e30"] {
            let rules = try RuleSet(
                source: "rule sizes when true then processes workers = \(expression) chunk = \(expression)\n",
                schema: AdvisorFacts.schema, actions: DecisionMode.actions)
            let advice = Advisor(rules: rules, machine: testMachine).recommend(profile, items: 100)
            #expect(advice.mode == .processes, "\(advice.explanation)")
            #expect(advice.workers == 1_000_000 && advice.chunkSize == 1_000_000, "\(expression)")
        }
        // Infinity and NaN never reach the conversion: the rule engine rejects them.
        let rules = try RuleSet(
            source: "rule sizes when true then processes workers = 0 * (1e300 * 1e300)\n", schema: AdvisorFacts.schema,
            actions: DecisionMode.actions)
        #expect(Advisor(rules: rules, machine: testMachine).recommend(profile, items: 100).mode == .serial)
    }
}
