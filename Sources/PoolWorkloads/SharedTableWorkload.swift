public import PoolExecutors
internal import PoolSystem

/// One call of ``SharedTable``: the table every call reads, and this call's own work.
public struct TableWork: Codable, Sendable {
    /// The same table in every input: shipped to each worker process once, not with each call.
    public var table: Shared<[UInt8]>
    public var work: ComputeWork

    public init(table: Shared<[UInt8]>, work: ComputeWork) {
        self.table = table
        self.work = work
    }

    /// Decodes a call. From JSON every line spells out the table: one equal to the workload's
    /// own is that `Shared`, so a job of many lines still ships it to each worker once.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let table = try container.decode(Shared<[UInt8]>.self, forKey: .table)
        self.table = !table.isCopy && table.value == SharedTable.table.value ? SharedTable.table : table
        work = try container.decode(ComputeWork.self, forKey: .work)
    }
}

/// Arithmetic on a 4 MiB table every call reads, inside one process-wide lock, as code that
/// calls a library that is not thread-safe must: copies on threads take turns, and worker
/// processes (each with its own lock) scale if the table does not travel with every call.
/// It is a ``Shared`` value, so each worker maps it once.
public struct SharedTable: ReferenceWorkload {
    public static let workloadName = "shared-table"
    public static let inputMeaning =
        "{\"table\": [byte values], \"work\": {\"seed\": S, \"iterations\": N}}: the table (the same on every line), and N rounds of arithmetic on its bytes from seed S"
    public static let summary =
        "a 4 MiB table read by every call inside a process-wide lock (a non-thread-safe library): threads take turns; workers map the Shared table once"
    public static let tableBytes = 4 << 20

    /// The table, made once per process: the same bytes wherever it is made.
    public static let table: Shared<[UInt8]> = Shared(
        [UInt8](unsafeUninitializedCapacity: tableBytes) { buffer, initialized in
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            for index in 0..<tableBytes {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                buffer[index] = UInt8(truncatingIfNeeded: state >> 56)
            }
            initialized = tableBytes
        })

    public static func inputs(count: Int) -> [TableWork] {
        ComputeWork.series(count, iterations: 2_000_000).map { TableWork(table: table, work: $0) }
    }

    private static let lock = ConditionLock()

    /// 50 holds of the lock, each mixing one table byte into a fiftieth of the work (2,000,000
    /// rounds, the default, take about 4 ms).
    public static func run(_ input: TableWork) -> UInt64 {
        let table = input.table.value
        guard !table.isEmpty else { return input.work.seed }
        var sum = input.work.seed
        let slice = max(input.work.iterations / 50, 10)
        for round in 0..<50 {
            lock.lock()
            let byte = table[Int((sum &+ UInt64(round) &* 4_099) % UInt64(table.count))]
            sum = sum &+ churn(sum &+ UInt64(byte), iterations: slice)
            lock.unlock()
        }
        return sum
    }
}
