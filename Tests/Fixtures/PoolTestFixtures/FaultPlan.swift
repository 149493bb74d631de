// One fault-injection job, shared by the executor and the command-line fault suites.
import Foundation

/// A job of ``Faulty`` inputs: `count` items (more for shorter items), two of them faulty.
public struct FaultPlan: Sendable {
    /// Spin per item: ~1 µs of call overhead only, 0.2 ms, 3 ms.
    public static let itemNanoseconds = [0, 200_000, 3_000_000]
    /// Every way an item can end badly.
    public static let faults: [Fault] = [.sigkill, .fatalError, .exit, .segfault, .memoryLimit, .hang]

    public let fault: Fault
    /// Spin per item, in nanoseconds.
    public let spin: Int
    /// Where the task logs each call (``Faulty`` reads it from `FAULT_LOG`).
    public let log = CallLog()

    public init(fault: Fault, spin: Int) {
        self.fault = fault
        self.spin = spin
    }

    public var count: Int { spin == 0 ? 1000 : spin < 1_000_000 ? 300 : 60 }
    /// The faulty positions: one early, one late.
    public var faulty: [Int] { [count * 37 / 1000 + 1, count * 3 / 4] }
    public var firstFaulty: Int { faulty.min()! }
    public var inputs: [[Int]] {
        (0..<count).map { Faulty.input($0, faulty.contains($0) ? fault : .none, spin: spin) }
    }
    /// The inputs as JSON Lines, for the command line.
    public var jsonLines: String {
        inputs.map { "[\($0.map(String.init).joined(separator: ","))]\n" }.joined()
    }
}

/// A file the fault task appends each call's input index to, unique to one job.
public struct CallLog: Sendable {
    public let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("pool-advisor-fault-\(getpid())-\(UUID().uuidString).log").path

    public init() {}

    /// The input indexes called, one per call, in the order logged.
    public func calls() -> [Int] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int($0) }
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
