import PoolAdvisor
import PoolBenchTasks

/// The processes suite's payload rows: bytes moved to workers (and back) per second, through
/// shared memory (the default) and through the pipe alone (`sharedMemoryThreshold = nil`), the
/// control that shows what the shared path is worth and where the two cross.
struct PayloadFigures {
    static let oneMBItems = 64
    static let bigItems = 8
    static let shared = "ProcessPool, lean worker"
    static let pipe = "ProcessPool, lean worker, pipe only"
    /// The shared pool with `ZeroCopyBytes` arguments, which the worker reads in place.
    static let zeroCopy = "ProcessPool, lean worker, ZeroCopyBytes"

    let quick: Bool
    let bigMB: Int

    /// Sizes around the crossover, each moved `crossoverBytes` in all.
    static let crossoverSizes = [4 << 10, 16 << 10, 64 << 10, 256 << 10]
    var crossoverBytes: Int { quick ? 8 << 20 : 32 << 20 }

    func measure(into report: Report, shared: ProcessPool, pipeOnly: ProcessPool) {
        let oneMB = [UInt8](repeating: 1, count: 1_000_000)
        let big = [UInt8](repeating: 2, count: bigMB * 1_000_000)
        for (name, pool) in [(Self.shared, shared), (Self.pipe, pipeOnly)] {
            report.measure(
                "payload_1MB", name, unit: "MB/s", ours: true,
                value: Self.megabytesPerSecond(Self.oneMBItems * 1_000_000) {
                    let sizes = try! pool.map(
                        ByteCountTask.self, Array(repeating: oneMB, count: Self.oneMBItems), chunkSize: 1)
                    precondition(sizes.reduce(0, +) == Self.oneMBItems * 1_000_000)
                })
            report.measure(
                "payload_\(bigMB)MB", name, unit: "MB/s", ours: true,
                value: Self.megabytesPerSecond(Self.bigItems * bigMB * 1_000_000) {
                    let sizes = try! pool.map(
                        ByteCountTask.self, Array(repeating: big, count: Self.bigItems), chunkSize: 1)
                    precondition(sizes.reduce(0, +) == Self.bigItems * bigMB * 1_000_000)
                })
            if pool === shared {
                measureZeroCopy(into: report, pool: pool, oneMB: ZeroCopyBytes(oneMB), big: ZeroCopyBytes(big))
            }
            // A new worker's first large results pay for fresh pages of its results arena (a page
            // of zeros each, about as much as the copies they save); a few first, so the figure
            // is the steady rate of a worker that has returned large values before.
            _ = try! pool.map(BytesOutTask.self, Array(repeating: 1_000_000, count: 4), chunkSize: 1)
            report.measure(
                "result_1MB", name, unit: "MB/s", ours: true,
                value: Self.megabytesPerSecond(Self.oneMBItems * 1_000_000) {
                    let outputs = try! pool.map(
                        BytesOutTask.self, Array(repeating: 1_000_000, count: Self.oneMBItems), chunkSize: 1)
                    precondition(outputs.allSatisfy { $0.count == 1_000_000 })
                })
            for size in Self.crossoverSizes {
                let count = crossoverBytes / size
                let value = [UInt8](repeating: 4, count: size)
                report.measure(
                    "payload_\(size >> 10)KB", name, unit: "MB/s", ours: true,
                    value: Self.megabytesPerSecond(count * size) {
                        let sizes = try! pool.map(
                            ByteCountTask.self, Array(repeating: value, count: count), chunkSize: 1)
                        precondition(sizes.count == count)
                    })
            }
        }
    }

    /// The payload figures again with arguments a worker borrows instead of copying.
    private func measureZeroCopy(into report: Report, pool: ProcessPool, oneMB: ZeroCopyBytes, big: ZeroCopyBytes) {
        for (figure, value, count) in [
            ("payload_1MB", oneMB, Self.oneMBItems), ("payload_\(bigMB)MB", big, Self.bigItems),
        ] {
            report.measure(
                figure, Self.zeroCopy, unit: "MB/s", ours: true,
                value: Self.megabytesPerSecond(count * value.count) {
                    let sizes = try! pool.map(
                        ZeroCopyByteCountTask.self, Array(repeating: value, count: count), chunkSize: 1)
                    precondition(sizes.reduce(0, +) == count * value.count)
                })
        }
    }

    func addRatios(to report: Report) {
        var figures = ["payload_1MB", "payload_\(bigMB)MB", "result_1MB"]
        figures += Self.crossoverSizes.map { "payload_\($0 >> 10)KB" }
        for figure in figures {
            report.addRatio(
                RatioSpec(
                    figure: figure, numerator: Self.shared, denominator: Self.pipe, peer: "pipe only",
                    target: "info", meets: { _ in true }))
        }
    }

    private static func megabytesPerSecond(_ bytes: Int, _ body: () -> Void) -> Double {
        Double(bytes) / 1e6 / secondsTaken(body)
    }
}
