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
        do {
            call.output = try Task.run(input)
        } catch {
            call.failure = "\(error)"
        }
        call.seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        return call
    }
}

/// The recorded form of `task`, for the worker registry.
func recordedForm(of task: any PoolTask.Type) -> any PoolTask.Type {
    func form<Task: PoolTask>(_: Task.Type) -> any PoolTask.Type { Recorded<Task>.self }
    return form(task)
}
