import Foundation
import PoolTestFixtures
import Testing

@testable import PoolExecutors

/// Kills the launcher of `pool`'s only worker while it runs the first of `count` ``Faulty``
/// items (spinning ten minutes, far past every wait here: only the watchdog ends it in time),
/// and checks what every host's lost connection must give: that item
/// fails as a crash on `host` whose connection was lost, the others arrive or fail as possibly
/// run, none runs twice, and the remote worker exits although it was in a task.
func expectLostConnectionFailsOnlyItsItems(
    _ pool: ProcessPool, count: Int, log: CallLog, host: String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let remotePID = try pool.submit(WhoAmI.self, 0).result()
    let launcher = try #require(pool.workerProcessIDs.first, sourceLocation: sourceLocation)
    let inputs = [Faulty.input(0, spin: 600_000_000_000)] + (1..<count).map { Faulty.input($0) }
    let stream = try pool.mapUnordered(Faulty.self, inputs, chunkSize: 1)
    #expect(eventually { log.calls().contains(0) }, "item 0 never started", sourceLocation: sourceLocation)
    kill(launcher, SIGKILL)
    var outcomes: [Int: Result<Int, any Error>] = [:]
    for item in stream.blocking { outcomes[item.index] = item.result }
    #expect(outcomes.count == count, sourceLocation: sourceLocation)
    guard case .failure(let error as PoolError)? = outcomes[0] else {
        Issue.record(
            "item 0 should fail with a PoolError: \(String(describing: outcomes[0]))", sourceLocation: sourceLocation)
        return
    }
    #expect(error.code == .workerCrashed && error.inputIndexes == [0], sourceLocation: sourceLocation)
    #expect(
        error.message.contains("on host \(host)") && error.message.contains("lost its connection"), "\(error)",
        sourceLocation: sourceLocation)
    // The others ran on the next worker, or (sent behind item 0 over the lost connection)
    // failed as possibly run.
    for index in 1..<count {
        switch outcomes[index] {
        case .success(let value)?: #expect(value == index * 2, sourceLocation: sourceLocation)
        case .failure(let error as PoolError)?:
            #expect(error.code == .resultLost, "\(error)", sourceLocation: sourceLocation)
        default: Issue.record("item \(index): \(String(describing: outcomes[index]))", sourceLocation: sourceLocation)
        }
    }
    let counts = Dictionary(grouping: log.calls(), by: { $0 }).mapValues(\.count)
    #expect(counts.values.allSatisfy { $0 == 1 }, "some input ran twice: \(counts)", sourceLocation: sourceLocation)
    let gone = eventually(seconds: 30) { processIsGone(remotePID) }
    #expect(gone, "remote worker \(remotePID) outlived its connection", sourceLocation: sourceLocation)
    if !gone { kill(remotePID, SIGKILL) }  // the loopback's "remote" worker is ours to clean up
}
