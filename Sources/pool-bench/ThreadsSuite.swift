import Dispatch
import Foundation
import PoolAdvisor

/// `pool-bench threads`: ThreadPool against Dispatch, a TaskGroup, the minimal pthread
/// pool and hand-off, and Python's ThreadPoolExecutor, all with 2 workers, interleaved round
/// by round so that noise from the shared machine lands on every implementation alike.
struct ThreadsSuite {
    let quick: Bool
    let rounds: Int
    let workers = 2

    var submitCount: Int { quick ? 20_000 : 100_000 }
    var mapCount: Int { quick ? 200_000 : 1_000_000 }
    var pythonMapCount: Int { quick ? 20_000 : 100_000 }
    var roundTrips: Int { quick ? 2_000 : 20_000 }
    var pythonRoundTrips: Int { quick ? 1_000 : 5_000 }

    func run() -> Report {
        let report = Report(suite: "threads")
        let pool = ThreadPool(workers: workers, name: "bench")
        let minimalPool = MinimalBatchPool(workers: workers)
        let handoff = MinimalHandoff()
        let inputs = Array(0..<mapCount)
        defer {
            pool.shutdown()
            minimalPool.stop()
            handoff.stop()
        }
        warmUp(pool, minimalPool, handoff, inputs)
        var pythonMissing: String?

        for _ in 0..<rounds {
            // 2. Map a tiny transform over many items, results in order.
            let map = "map_tiny"
            report.measure(
                map, "ThreadPool.map", unit: "ns/item", ours: true,
                value: secondsTaken {
                    let out = try! pool.map(inputs) { $0 &+ 1 }
                    precondition(out.count == inputs.count)
                } / Double(mapCount) * 1e9)
            report.measure(
                map, "concurrentPerform, 1 iteration/item", unit: "ns/item",
                value: secondsTaken {
                    let out = concurrentPerformPerItem(inputs)
                    precondition(out.count == inputs.count)
                } / Double(mapCount) * 1e9)
            report.measure(
                map, "concurrentPerform, hand-chunked", unit: "ns/item",
                value: secondsTaken {
                    let out = concurrentPerformMap(inputs)
                    precondition(out.count == inputs.count)
                } / Double(mapCount) * 1e9)

            // 1. Submit many empty tasks, then wait for all of them.
            let submit = "submit_wait"
            report.measure(
                submit, "ThreadPool", unit: "us/task", ours: true,
                value: perTask(submitCount) {
                    let futures = (0..<submitCount).map { _ in try! pool.submit {} }
                    for future in futures { try! future.result() }
                })
            report.measure(
                submit, "minimal mutex+condvar pool", unit: "us/task",
                value: perTask(submitCount) {
                    for _ in 0..<submitCount { minimalPool.submit {} }
                    minimalPool.waitAll()
                })
            report.measure(
                submit, "DispatchQueue.global().async", unit: "us/task",
                value: dispatchGlobalSeconds(count: submitCount) / Double(submitCount) * 1e6)
            report.measure(
                submit, "TaskGroup", unit: "us/task",
                value: taskGroupSeconds(count: submitCount) / Double(submitCount) * 1e6)

            // 3. One task in flight: submit, wait, repeat.
            let trip = "round_trip"
            report.measure(
                trip, "ThreadPool", unit: "us", ours: true,
                value: perTask(roundTrips) {
                    for _ in 0..<roundTrips { try! pool.submit {}.result() }
                })
            report.measure(
                trip, "minimal mutex+condvar hand-off", unit: "us",
                value: perTask(roundTrips) {
                    for _ in 0..<roundTrips { handoff.roundTrip() }
                })
            report.measure(
                trip, "DispatchQueue.async + semaphore", unit: "us",
                value: perTask(roundTrips) {
                    let queue = DispatchQueue(label: "bench.serial")
                    let done = DispatchSemaphore(value: 0)
                    for _ in 0..<roundTrips {
                        queue.async { done.signal() }
                        done.wait()
                    }
                })

            // 4. Python, started once per round, between the Swift rounds.
            if pythonMissing == nil {
                let arguments = [submitCount, pythonMapCount, pythonRoundTrips, workers].map(String.init)
                switch PythonPeer.run(script: "python_thread_peer.py", arguments: arguments) {
                case .success(let figures):
                    for figure in figures {
                        report.record(
                            figure.figure, "python ThreadPoolExecutor", unit: figure.unit, value: figure.value)
                    }
                case .failure(let unavailable):
                    pythonMissing = unavailable.reason
                }
            }
        }
        if let pythonMissing { report.note("Python peer skipped: \(pythonMissing)") }
        report.note(
            "sizes: submit_wait \(submitCount) tasks, map_tiny \(mapCount) items (python \(pythonMapCount)), "
                + "round_trip \(roundTrips) trips (python \(pythonRoundTrips)); \(workers) workers everywhere")

        let python = "python ThreadPoolExecutor"
        report.addRatio(
            RatioSpec(
                figure: "submit_wait", numerator: python, denominator: "ThreadPool",
                peer: python, target: "≥ 50×", meets: { $0 >= 50 }))
        report.addRatio(
            RatioSpec(
                figure: "submit_wait", numerator: "TaskGroup", denominator: "ThreadPool",
                peer: "TaskGroup", target: "≥ 5×", meets: { $0 >= 5 }))
        report.addRatio(
            RatioSpec(
                figure: "submit_wait", numerator: "DispatchQueue.global().async",
                denominator: "ThreadPool", peer: "DispatchQueue.global().async", target: "info", meets: { _ in true }))
        report.addRatio(
            RatioSpec(
                figure: "map_tiny", numerator: "ThreadPool.map",
                denominator: "concurrentPerform, 1 iteration/item", peer: "concurrentPerform, 1 iteration/item",
                target: "≤ 5×", meets: { $0 <= 5 }))
        report.addRatio(
            RatioSpec(
                figure: "map_tiny", numerator: "ThreadPool.map",
                denominator: "concurrentPerform, hand-chunked", peer: "concurrentPerform, hand-chunked",
                target: "info", meets: { _ in true }))
        report.addRatio(
            RatioSpec(
                figure: "map_tiny", numerator: python, denominator: "ThreadPool.map",
                peer: python, target: "info", meets: { _ in true }))
        report.addRatio(
            RatioSpec(
                figure: "round_trip", numerator: "ThreadPool",
                denominator: "minimal mutex+condvar hand-off", peer: "minimal mutex+condvar hand-off",
                target: "≤ 1.5×", meets: { $0 <= 1.5 }))
        report.addRatio(
            RatioSpec(
                figure: "round_trip", numerator: python, denominator: "ThreadPool",
                peer: python, target: "info", meets: { _ in true }))
        return report
    }

    private func warmUp(_ pool: ThreadPool, _ minimalPool: MinimalBatchPool, _ handoff: MinimalHandoff, _ inputs: [Int])
    {
        for _ in 0..<1_000 {
            try! pool.submit {}.result()
            handoff.roundTrip()
            minimalPool.submit {}
        }
        minimalPool.waitAll()
        _ = try! pool.map(inputs.prefix(10_000)) { $0 }
        _ = taskGroupSeconds(count: 1_000)
        _ = dispatchGlobalSeconds(count: 1_000)
        _ = concurrentPerformMap(Array(inputs.prefix(10_000)))
        _ = concurrentPerformPerItem(Array(inputs.prefix(10_000)))
    }
}

/// Lets threads left spinning by the previous implementation (Dispatch's and the cooperative
/// pool's workers linger for a while) go idle, so each measurement starts on a quiet machine.
func settle() {
    usleep(20_000)
}

/// The peer the issue names: `concurrentPerform` with one iteration per item, each writing its
/// result: Dispatch's own per-iteration cost (19 ns measured in shared/reference).
func concurrentPerformPerItem(_ inputs: [Int]) -> [Int] {
    [Int](unsafeUninitializedCapacity: inputs.count) { buffer, initialized in
        nonisolated(unsafe) let output = buffer.baseAddress!
        DispatchQueue.concurrentPerform(iterations: inputs.count) { index in
            (output + index).initialize(to: inputs[index] &+ 1)
        }
        initialized = inputs.count
    }
}

/// Microseconds per operation for `count` operations done by `body`.
private func perTask(_ count: Int, _ body: () -> Void) -> Double {
    secondsTaken(body) / Double(count) * 1e6
}

/// The same map as `ThreadPool.map`, on `concurrentPerform`: an output array filled in
/// chunks, one chunk per iteration, as a careful Dispatch user would write it.
func concurrentPerformMap(_ inputs: [Int]) -> [Int] {
    let count = inputs.count
    let chunks = Machine.usableCores * 4
    return [Int](unsafeUninitializedCapacity: count) { buffer, initialized in
        nonisolated(unsafe) let output = buffer.baseAddress!
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = chunk * count / chunks
            let end = (chunk + 1) * count / chunks
            for index in start..<end { (output + index).initialize(to: inputs[index] &+ 1) }
        }
        initialized = count
    }
}
