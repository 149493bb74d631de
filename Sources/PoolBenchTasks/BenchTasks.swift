// The tasks pool-bench runs in worker processes. They live in their own small library so that
// pool-bench (which links Foundation) and the lean worker executables register the very same
// tasks under the same explicit names.
public import PoolExecutors
public import PoolWire

/// Does nothing: measures the pool's own cost per task.
public struct NoopTask: PoolTask {
    public static var name: String { "bench.noop" }
    public static func run(_ input: Int) -> Int { input }
}

/// Returns the size of its payload: measures moving bytes to workers.
public struct ByteCountTask: PoolTask {
    public static var name: String { "bench.bytecount" }
    public static func run(_ input: [UInt8]) -> Int { input.count }
}

/// Returns the size of its payload, read in place where it lies in shared memory: measures
/// moving bytes to workers without the worker's copy.
public struct ZeroCopyByteCountTask: PoolTask {
    public static var name: String { "bench.bytecount.zerocopy" }
    public static func run(_ input: ZeroCopyBytes) -> Int { input.count }
}

/// Returns `input` bytes: measures moving results back from workers.
public struct BytesOutTask: PoolTask {
    public static var name: String { "bench.bytesout" }
    public static func run(_ input: Int) -> [UInt8] { [UInt8](repeating: 3, count: max(0, input)) }
}

/// Every bench task, for `WorkerEntry.runIfWorker(tasks:)`.
public let benchTasks: [any PoolTask.Type] = [
    NoopTask.self, ByteCountTask.self, ZeroCopyByteCountTask.self, BytesOutTask.self,
]
