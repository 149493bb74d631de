import Foundation
import Testing

@testable import PoolAdvisor
@testable import PoolAdvisorCLI

/// The demo's table and JSON lines for rows built by hand: a disturbed row is marked.
@Suite struct DemoTableTests {
    func row(othersShare: Double?, profileNoisy: Bool? = nil) -> ModeComparison {
        let threads = ModeComparison.Timing(
            plan: ExecutionPlan(mode: .threads, workers: 2), predictedSeconds: 0.5, measuredSeconds: 0.52,
            rounds: [0.52])
        let processes = ModeComparison.Timing(
            plan: ExecutionPlan(mode: .processes, workers: 2), predictedSeconds: 0.6, measuredSeconds: 0.25,
            rounds: [0.25])
        return ModeComparison(
            workload: "blocking-lock", items: 100, recommended: threads, rule: "cpu-scales-on-threads",
            modes: ["threads": threads, "processes": processes], fastest: "processes", regret: 2.08,
            profilingSeconds: 0.9, othersCPUShare: othersShare, profileNoisyHost: profileNoisy)
    }

    @Test("a row measured while others held a core gets a * and a note naming their share")
    func noisyRowIsMarked() throws {
        let noisy = row(othersShare: 0.97)
        #expect(noisy.noisy)
        let text = DemoTable.line(noisy, style: Style(colour: false))
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.hasSuffix("2.08*") == true, "\(text)")
        #expect(lines.last?.contains("other programs held 0.97 of a core") == true, "\(text)")
        let json = try JSONSerialization.jsonObject(with: Data(try DemoTable.jsonLine(noisy).utf8)) as? [String: Any]
        #expect(json?["noisy"] as? Bool == true)
        #expect(json?["others_cpu_share"] as? Double == 0.97)
        // Each column names the plan it ran, which may differ from the recommended one.
        #expect(json?["threads_plan"] as? String == "threads × 2")
        #expect(json?["processes_plan"] as? String == "processes × 2")
    }

    @Test("two plans whose rounds overlap are contested, whichever won; rounds apart or missing are not")
    func contestedPlans() {
        #expect(ModeComparison.overlap([0.34, 0.52, 0.41], [0.45, 0.39, 0.47]))
        #expect(ModeComparison.overlap([0.45, 0.39, 0.47], [0.34, 0.52, 0.41]))
        #expect(ModeComparison.overlap([0.5], [0.5]))
        #expect(!ModeComparison.overlap([0.30, 0.31, 0.32], [0.40, 0.41, 0.45]))
        #expect(!ModeComparison.overlap([0.40, 0.41, 0.45], [0.30, 0.31, 0.32]))
        #expect(!ModeComparison.overlap([], [0.3]))
    }

    @Test("a noisy profile marks the row too; a quiet row has no mark")
    func quietAndProfileNoise() throws {
        let profileNoisy = row(othersShare: 0.02, profileNoisy: true)
        #expect(profileNoisy.noisy)
        #expect(DemoTable.line(profileNoisy, style: Style(colour: false)).contains("scaling rounds were disturbed"))
        let quiet = row(othersShare: 0.1, profileNoisy: false)
        #expect(!quiet.noisy)
        let text = DemoTable.line(quiet, style: Style(colour: false))
        #expect(!text.contains("*"))
        #expect(text.split(separator: "\n").count == 1)
        let json = try JSONSerialization.jsonObject(with: Data(try DemoTable.jsonLine(quiet).utf8)) as? [String: Any]
        #expect(json?["noisy"] as? Bool == false)
        // Unknown share (no /proc/stat): no figure is made up.
        let unknown = try JSONSerialization.jsonObject(with: Data(try DemoTable.jsonLine(row(othersShare: nil)).utf8))
        #expect((unknown as? [String: Any])?["others_cpu_share"] == nil)
    }
}
