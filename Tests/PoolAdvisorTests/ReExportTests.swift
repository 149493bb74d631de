import PoolAdvisor
import Testing

/// `import PoolAdvisor` alone must give the executors' public API.
@Suite struct ReExportTests {
    @Test func poolAdvisorReExportsTheExecutors() throws {
        let pool = ThreadPool(workers: 2)
        defer { pool.shutdown() }
        #expect(try pool.map([1, 2, 3]) { $0 * 10 } == [10, 20, 30])
        #expect(Machine.usableCores >= 1)
    }
}
