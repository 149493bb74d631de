internal import PoolSystem

/// One call of a task as `run --joblog` or `--halt never` sees it: the output or the error's
/// text, when the call started, how long it took and where it ran.
package struct RecordedCall<Output: Codable & Sendable>: Codable, Sendable {
    package var output: Output?
    /// The error the task threw, as text (an error crosses a process boundary only as text).
    package var failure: String?
    /// Seconds since the Unix epoch when the call started; nil when the pool failed the item
    /// (its worker died or was killed at its timeout, its value could not be coded) and the
    /// call's own record was lost with it.
    package var started: Double?
    /// The call's duration, from the monotonic clock; nil as `started` is.
    package var seconds: Double?
    /// `pid/tid` of the thread that ran it; nil as `started` is.
    package var worker: String?
    /// Calls made: more than 1 when `--retries` ran a failing call again.
    package var attempts = 1
}

extension RecordedCall: SuccessfulCallTiming {
    package var successfulCallSeconds: Double? {
        guard failure == nil, (output as? any FailureOutcome)?.callFailed != true else { return nil }
        return seconds
    }
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
package enum Recorded<Task: PoolTask>: PoolFailureRecording, WrappingTask {
    package static var wrappedName: String { Task.name }

    package typealias Input = Task.Input
    package typealias Output = RecordedCall<Task.Output>

    package static var name: String { "pool-advisor.recorded(\(Task.name))" }
    package static var isIdempotent: Bool { Task.isIdempotent }
    package static var traits: TaskTraits { Task.traits }

    /// A failure the pool met for one item (a crash, a timeout, a value that could not be
    /// coded), recorded as the item's call: the job goes on around it as it does around an
    /// error the task threw (``PoolFailureRecording``).
    package static func output(recordingPoolFailure error: any Error) -> RecordedCall<Task.Output> {
        RecordedCall(output: nil, failure: "\(error)", started: nil, seconds: nil, worker: nil)
    }

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

/// A task that runs another in a form of its own (`run`'s recorded form): messages name the task
/// it wraps, which is the one the user knows.
package protocol WrappingTask: PoolTask {
    static var wrappedName: String { get }
}

/// A task whose output can stand for a failure the pool met on one of its items, so that
/// failure is that item's alone wherever the task runs, auto mode included: the pool hands back
/// ``output(recordingPoolFailure:)`` in place of the error. Only an item's own failures are
/// recorded (``PoolError/isItemFailure(_:)``); a pool that cannot run the job at all, or a job
/// that was cancelled, still fails as before.
package protocol PoolFailureRecording: PoolTask {
    /// The output that records `error` for the item it struck.
    static func output(recordingPoolFailure error: any Error) -> Output
}

extension PoolError {
    /// Whether `error` struck one item and the pool goes on: its worker died or was killed at the
    /// task timeout, or its value could not be coded (any error that is not a ``PoolError``, a
    /// cancellation nor ``ItemNotStarted`` is a coding failure here, since a recorded task throws
    /// none of its own).
    package static func isItemFailure(_ error: any Error) -> Bool {
        if error is CancellationError || error is ItemNotStarted { return false }
        guard let pool = error as? PoolError else { return true }
        return [.workerCrashed, .taskTimedOut, .resultLost].contains(pool.code)
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
