internal import PoolSystem

/// One call of a task as `run --joblog` or `--halt never` sees it: the output or the error's
/// text, when the call started, how long it took and where it ran.
package struct RecordedCall<Output: Codable & Sendable>: Codable, Sendable {
    package var output: Output?
    /// The error the task threw, as text (an error crosses a process boundary only as text).
    package var failure: String?
    /// Seconds since the Unix epoch when the call started.
    package var started: Double
    /// The call's duration, from the monotonic clock.
    package var seconds: Double
    /// `pid/tid` of the thread that ran it.
    package var worker: String
    /// Calls made: more than 1 when `--retries` ran a failing call again.
    package var attempts = 1
}

/// An output that stands for a failure without an error thrown: a command that exited
/// non-zero. `--retries` runs such a call again too.
package protocol FailureOutcome {
    /// True when the call failed.
    var callFailed: Bool { get }
}

extension CommandOutcome: FailureOutcome {
    package var callFailed: Bool { !succeeded }
}

/// `Task` run so that its own error is a value: a call that throws becomes a ``RecordedCall``
/// with its `failure`, so the job goes on (`--halt never`) and the job log can say when, how
/// long and where each call ran, whatever mode runs it, worker processes included.
///
/// Traits and idempotence are the task's own, so the advisor profiles and decides as it would
/// for the task. Every worker serves the recorded form of each task it serves
/// (``WorkerEntry/runIfWorker(tasks:)`` adds them), so no program registers them itself.
package enum Recorded<Task: PoolTask>: PoolTask {
    package typealias Input = Task.Input
    package typealias Output = RecordedCall<Task.Output>

    package static var name: String { "pool-advisor.recorded(\(Task.name))" }
    package static var isIdempotent: Bool { Task.isIdempotent }
    package static var traits: TaskTraits { Task.traits }

    package static func run(_ input: Task.Input) throws -> RecordedCall<Task.Output> {
        let started = WallClock.seconds()
        let start = MonotonicClock.nanoseconds()
        let worker = "\(ProcessControl.currentID)/\(SystemThread.currentKernelID)"
        var call = RecordedCall<Task.Output>(output: nil, failure: nil, started: started, seconds: 0, worker: worker)
        while true {
            call.output = nil
            call.failure = nil
            do {
                call.output = try Task.run(input)
            } catch {
                call.failure = "\(error)"
            }
            let failed = call.failure != nil || (call.output as? any FailureOutcome)?.callFailed == true
            guard failed, call.attempts <= retries else { break }
            call.attempts += 1
        }
        call.seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        return call
    }

    /// Further attempts a failing call gets: `run --retries`, read once per process (0 when
    /// unset or not a number from 0 to 100), and only for a task declared idempotent or an
    /// external command (whose `--retries` declares it safe to repeat): a variable inherited
    /// from elsewhere never repeats a task that is not.
    static var retries: Int {
        Task.isIdempotent || Task.self == ExternalCommand.self ? RetrySetting.count : 0
    }
}

/// The environment variable that carries `run --retries N` to worker processes.
package let retriesVariable = "POOL_ADVISOR_RETRIES"

/// `POOL_ADVISOR_RETRIES`, read once per process (workers inherit it from `run`).
private enum RetrySetting {
    static let count: Int = {
        guard let text = Environment.value(retriesVariable), let count = Int(text), (0...100).contains(count)
        else { return 0 }
        return count
    }()
}

/// The recorded form of `task`, for the worker registry.
func recordedForm(of task: any PoolTask.Type) -> any PoolTask.Type {
    func form<Task: PoolTask>(_: Task.Type) -> any PoolTask.Type { Recorded<Task>.self }
    return form(task)
}
