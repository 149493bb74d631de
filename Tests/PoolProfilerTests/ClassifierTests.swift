import Foundation
import Testing

@testable import PoolProfiler

/// The sampler's reading of `/proc` lines, fed synthetic lines (syscall numbers of this
/// architecture).
@Suite struct ClassifierTests {
    #if arch(x86_64)
        static let (futex, read, clockNanosleep, fsync) = (202, 0, 230, 74)
    #elseif arch(arm64)
        static let (futex, read, clockNanosleep, fsync) = (98, 63, 115, 82)
    #endif

    func classify(_ state: Character, _ line: String, kind: ProcFS.DescriptorKind = .other) -> ThreadActivity {
        Array(line.utf8).withUnsafeBufferPointer { bytes in
            ActivityClassifier.classify(state: state.asciiValue!, syscall: bytes) { _ in kind }
        }
    }

    @Test func runningAndDiskComeFromTheStateLetter() {
        #expect(classify("R", "running") == .running)
        #expect(classify("D", "\(Self.read) 0x3 0x7f00 0x1000") == .diskIO)
    }

    @Test func futexOperationsTellLocksFromConditions() {
        #expect(classify("S", "\(Self.futex) 0x5584 0x80 0x2 0x0") == .lockWait)  // pthread mutex, NSLock
        #expect(classify("S", "\(Self.futex) 0x5584 0x86 0x0 0x0") == .lockWait)  // Synchronization.Mutex (PI)
        #expect(classify("S", "\(Self.futex) 0x5584 0x189 0x0 0x0") == .conditionWait)  // condition, semaphore
        #expect(classify("S", "\(Self.futex) 0x5584 0x81 0x1 0x0") == .otherWait)  // FUTEX_WAKE is not a wait
    }

    @Test func readsAreClassifiedByTheirDescriptor() {
        #expect(classify("S", "\(Self.read) 0x3 0x7f00 0x100", kind: .pipe) == .pipeIO)
        #expect(classify("S", "\(Self.read) 0x3 0x7f00 0x100", kind: .socket) == .socketIO)
        #expect(classify("S", "\(Self.read) 0x3 0x7f00 0x100", kind: .file) == .fileIO)
    }

    @Test func sleepsSyncsAndTransitions() {
        #expect(classify("S", "\(Self.clockNanosleep) 0x1 0x0 0x7ffc") == .sleep)
        #expect(classify("S", "\(Self.fsync) 0x4 0x0") == .diskIO)
        #expect(classify("S", "-1 0x7ffc 0x5584") == .otherWait)  // blocked outside a system call
        #expect(classify("S", "running") == .transition)  // the two files disagree
    }

    @Test func countsEncodeAsNamesAndRoundTrip() throws {
        var counts = ActivityCounts()
        counts.add(.sleep, count: 3)
        counts.add(.lockWait)
        let encoded = try JSONEncoder().encode(counts)
        #expect(String(decoding: encoded, as: UTF8.self).contains("\"sleep\":3"))
        #expect(try JSONDecoder().decode(ActivityCounts.self, from: encoded) == counts)
        #expect(counts.total == 4)
    }
}

@Suite struct StatisticsTests {
    @Test func wilsonIntervalStaysInsideZeroAndOne() {
        let none = Statistics.proportion(0, of: 10)
        #expect(none.low == 0 && none.high > 0.2 && none.high < 0.4)
        let all = Statistics.proportion(400, of: 400)
        #expect(all.high == 1 && all.low > 0.98)
    }

    @Test func oneObservationHasAnUnboundedInterval() throws {
        let single = Statistics.estimate(0.5, spreadOf: [0.5])
        #expect(!single.isClear(of: 0.3))
        let decoded = try JSONDecoder().decode(Estimate.self, from: JSONEncoder().encode(single))
        #expect(decoded.low == -.infinity && decoded.high == .infinity && decoded.value == 0.5)
    }

    @Test func uslFitRecoversKnownCoefficients() throws {
        let levels = Array(1...8)
        let (sigma, kappa) = (0.05, 0.02)
        let throughput = levels.map { n in
            Double(n) / (1 + sigma * Double(n - 1) + kappa * Double(n) * Double(n - 1))
        }
        let fit = try #require(USLFitting.fit(levels: levels, relativeThroughput: throughput))
        #expect(abs(fit.sigma.value - sigma) < 1e-9)
        #expect(abs(fit.kappa.value - kappa) < 1e-9)
        #expect(fit.kappaIdentifiable)
        #expect(abs(try #require(fit.peakThreads) - ((1 - sigma) / kappa).squareRoot()) < 1e-6)
    }

    @Test func uslFitSaysWhenCoherencyCannotBeTold() throws {
        // Amdahl-shaped data with noise: κ's interval straddles 0.
        let levels = Array(1...6)
        let noise = [0.0, 0.03, -0.025, 0.02, -0.03, 0.025]
        let throughput = levels.enumerated().map { index, n in
            Double(n) / (1 + 0.1 * Double(n - 1)) * (1 + noise[index])
        }
        let fit = try #require(USLFitting.fit(levels: levels, relativeThroughput: throughput))
        #expect(!fit.kappaIdentifiable)
        #expect(fit.peakThreads == nil)
        #expect(USLFitting.fit(levels: [1, 2], relativeThroughput: [1, 1.9]) == nil)  // two points: no fit
    }
}
