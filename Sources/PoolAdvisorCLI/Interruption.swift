internal import PoolAdvisor
internal import PoolSystem

/// What `run` does on SIGINT or SIGTERM, as GNU parallel does: the first signal starts no more
/// inputs and lets the running ones finish, so their outputs are written and logged, not lost
/// (and not run again by `--resume`); the job then ends, says on stderr how many outputs there
/// are and where, and exits with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
/// A second signal ends it at once: every output already handed over in input order is
/// written out (the writer's buffer included), and a third gets the default action.
///
/// A watcher thread waits on ``SignalPipe``; the job's thread is not interrupted, so the
/// outputs it handed over are whole lines, and once the writer is stopped the job's thread
/// waits for the exit instead of writing more or renaming the partial file.
final class Interruption: Sendable {
    private let descriptor: Int32
    private let watcher: PlatformThread?
    private let state = Locked(State())
    private let stop: @Sendable () -> String

    private struct State: Sendable {
        /// The first signal, once one came.
        var signal: Int32?
        /// Whether the outputs' place was reported (by the job's end or a second signal).
        var reported = false
    }

    /// Starts watching. On the first signal `drain` runs on the watcher thread (it stops the
    /// job's starts); on a second, `stop`, which returns the sentence saying where the outputs
    /// are. Without a pipe or thread, signals keep their default action.
    init(drain: @escaping @Sendable () -> Void, stop: @escaping @Sendable () -> String) {
        self.stop = stop
        guard let descriptor = SignalPipe.install() else {
            self.descriptor = -1
            watcher = nil
            return
        }
        self.descriptor = descriptor
        watcher = try? PlatformThread.start(name: "signals") { [state] in
            guard let signal = SignalPipe.next(from: descriptor) else { return }
            state.withLock { $0.signal = signal }
            drain()
            let again = signal == Signals.interrupt ? "Ctrl-C" : "\(SignalPipe.name(signal))"
            Terminal.write(
                "\(Self.clearLine)interrupted by \(SignalPipe.name(signal)): no more inputs start; the running ones finish and their outputs are written (\(again) again stops at once)\n",
                to: .error)
            // The job's end sends the stop byte (nil); a second signal stops it now. Writing
            // the finished outputs can block (a stalled pipe, a paused terminal), so a third
            // gets the default action.
            guard let second = SignalPipe.next(from: descriptor) else { return }
            SignalPipe.uninstall()
            let first = state.withLock { state -> Bool in
                defer { state.reported = true }
                return !state.reported
            }
            // The job ended meanwhile and reports itself.
            guard first else { return }
            let place = stop()
            Terminal.write(
                "\(Self.clearLine)interrupted again by \(SignalPipe.name(second)): \(place)\n", to: .error)
            SignalPipe.exitNow(128 + signal)
        }
        if watcher == nil { SignalPipe.uninstall() }
    }

    /// After the job returned: nil when no signal came. Otherwise the job stopped for one and
    /// everything it ran is handed over: writes the outputs out (the partial file keeps its
    /// name, for `--resume`), says where they are, and returns the exit status.
    func endDrained() -> Int32? {
        let signal = state.withLock { state -> Int32? in
            guard let signal = state.signal, !state.reported else { return nil }
            state.reported = true
            return signal
        }
        guard let signal else { return nil }
        Terminal.write("\(Self.clearLine)interrupted by \(SignalPipe.name(signal)): \(stop())\n", to: .error)
        return 128 + signal
    }

    /// Gives the signals their default action back; a second signal that arrived before still
    /// ends the process as described (this call then does not return).
    func end() {
        SignalPipe.uninstall()
        watcher?.join()
        if descriptor >= 0 { SignalPipe.closeReader(descriptor) }
    }

    private static var clearLine: String { Terminal.isTerminal(.error) ? "\r\u{1B}[K" : "" }
}
