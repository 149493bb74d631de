internal import Foundation
internal import PoolAdvisor
internal import Synchronization

/// `run`'s plain path on threads (no job log, tag or retries: each output is only written): a
/// chunk of inputs is run *and encoded* on a pool thread into one buffer of JSON lines, and the
/// buffers are written in input order. Handing each output over, putting it back in order and
/// encoding it one at a time on one thread was most of a trivial task's cost: the Swift
/// runtime's generic-metadata lookups alone took 18 % of `run tiny` (the task is chosen at run
/// time, so that path runs unspecialised), per item.
///
/// Chunks shrink as the block runs out (a quarter of an even share of what is left, as the
/// thread pool's own automatic chunks do) and last about 5 ms at most, or are `--chunk` long. A
/// failure stops the job at the
/// lowest failing input, after every output before it is written (``MapError``); a stop ends
/// each running chunk at the input it is on, and no chunk starts after it.
///
/// A serial plan runs the same chunks on the calling thread (`pool` nil), 4,096 inputs each.
struct EncodedChunks<Task: PoolTask> {
    let pool: ThreadPool?
    /// `--chunk`, or nil for shrinking chunks.
    let chunkSize: Int?

    /// One chunk's lines: the encoded outputs, how many, and what ended it early (a failure at
    /// an offset in the chunk, or a stop).
    struct Chunk: Sendable {
        var bytes: [UInt8] = []
        var count = 0
        var failure: (offset: Int, error: any Error)?
    }

    /// Set when the consumer leaves a stream early (a failure, a write error): chunks running
    /// then stop at their next input, as the pool's own streams do, instead of running inputs
    /// whose outputs nobody will write.
    final class Abandoned: Sendable {
        let flag = Atomic<Bool>(false)
    }

    /// The longest a chunk should take: its outputs are written only when it ends, so a job of
    /// slow calls still writes them as they come (a serial job of 20 ms calls: one a chunk).
    static var chunkSeconds: Double { 0.005 }

    /// The chunks of inputs `start..<count`, each at most `cap` inputs: shrinking as the block
    /// runs out (a quarter of an even share of what is left, as the thread pool's own automatic
    /// chunks do; 4,096 at most serially), or `--chunk` long.
    func ranges(from start: Int, count: Int, cap: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = start
        while start < count {
            let guided = pool.map { max(1, (count - start) / (4 * max(1, $0.workerCount))) } ?? 4096
            let size = min(count - start, chunkSize ?? max(1, min(guided, cap)))
            ranges.append(start..<(start + size))
            start += size
        }
        return ranges
    }

    /// Runs `inputs`, handing each chunk's lines, in order, to `write` (with how many outputs
    /// they hold), and counting them in `progress`. The first inputs run one a chunk, and their
    /// time sizes the rest's chunks (``chunkSeconds``).
    /// - Throws: ``MapError`` for the lowest failing input, after the lines before it.
    func run(
        _ inputs: [Task.Input], progress: ProgressCounter, stopping: JobStop,
        write: ([UInt8], Int) throws -> Void
    ) throws {
        let probe = Array((0..<min(inputs.count, 2 * (pool?.workerCount ?? 1))).map { $0..<($0 + 1) })
        let started = ContinuousClock.now
        try run(inputs, probe, progress, stopping, write)
        guard let last = probe.last, last.upperBound < inputs.count, !stopping.isStopped else { return }
        let wall = (ContinuousClock.now - started) / .seconds(1)
        let perItem = max(1e-9, wall * Double(pool?.workerCount ?? 1) / Double(probe.count))
        let cap = max(1, Int(min(1e6, Self.chunkSeconds / perItem)))
        try run(inputs, ranges(from: last.upperBound, count: inputs.count, cap: cap), progress, stopping, write)
    }

    /// Runs `ranges` of `inputs` as chunks, in order.
    private func run(
        _ inputs: [Task.Input], _ ranges: [Range<Int>], _ progress: ProgressCounter, _ stopping: JobStop,
        _ write: ([UInt8], Int) throws -> Void
    ) throws {
        func deliver(_ chunk: Chunk, at index: Int) throws {
            try write(chunk.bytes, chunk.count)
            progress.add(chunk.count)
            if let failure = chunk.failure {
                throw MapError(index: ranges[index].lowerBound + failure.offset, error: failure.error)
            }
        }
        guard let pool else {
            for (index, range) in ranges.enumerated() where !stopping.isStopped {
                try deliver(Self.encode(inputs, range, stopping, nil), at: index)
            }
            return
        }
        let abandoned = Abandoned()
        let stream = try pool.mapUnordered(Array(ranges.indices), chunkSize: 1) { index in
            Self.encode(inputs, ranges[index], stopping, abandoned)
        }
        stopping.whileRunning { stream.stopStarting() }
        defer {
            stopping.finishedRunning()
            abandoned.flag.store(true, ordering: .relaxed)
            stream.cancel()
        }
        var waiting: [Int: Chunk] = [:]
        var next = 0
        for completion in stream.blocking {
            switch completion.result {
            case .success(let chunk): waiting[completion.index] = chunk
            case .failure(let error) where error is ItemNotStarted: continue
            case .failure(let error): throw error
            }
            while let chunk = waiting.removeValue(forKey: next) {
                try deliver(chunk, at: next)
                next += 1
            }
        }
        // Stopped: chunks past one that never started ran all the same; their lines follow.
        for index in waiting.keys.sorted() { try deliver(waiting[index]!, at: index) }
    }

    /// Runs and encodes one chunk, stopping at its first failure or at a stop.
    private static func encode(
        _ inputs: [Task.Input], _ range: Range<Int>, _ stopping: JobStop, _ abandoned: Abandoned?
    ) -> Chunk {
        var chunk = Chunk()
        let encoder = OutputWriter.makeEncoder()
        for index in range {
            if stopping.isStopped || abandoned?.flag.load(ordering: .relaxed) == true { break }
            do {
                let output = try Task.run(inputs[index])
                if !JSONScalars.append(output, to: &chunk.bytes) {
                    chunk.bytes.append(contentsOf: try encoder.encode(output))
                }
                chunk.bytes.append(UInt8(ascii: "\n"))
                chunk.count += 1
            } catch {
                chunk.failure = (index - range.lowerBound, error)
                break
            }
        }
        return chunk
    }
}
