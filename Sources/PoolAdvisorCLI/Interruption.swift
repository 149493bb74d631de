internal import PoolExecutors

/// What `run` does on SIGINT or SIGTERM: write out every output already handed over in input
/// order (the writer's buffer included), say on stderr how many there are and where, and exit
/// with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM). A second signal while
/// that is under way ends the process at once (the default action).
///
/// A watcher thread waits on ``SignalPipe``; the job's thread is not interrupted, so the
/// outputs it handed over are whole lines, and once the writer is stopped the job's thread
/// waits for the exit instead of writing more or renaming the partial file.
final class Interruption: Sendable {
    private let descriptor: Int32
    private let watcher: PlatformThread?

    /// Starts watching; `stop` runs on the watcher thread when a signal arrives and returns the
    /// sentence saying where the outputs are. Without a pipe or thread, signals keep their
    /// default action.
    init(stop: @escaping @Sendable () -> String) {
        guard let descriptor = SignalPipe.install() else {
            self.descriptor = -1
            watcher = nil
            return
        }
        self.descriptor = descriptor
        watcher = try? PlatformThread.start(name: "signals") {
            guard let signal = SignalPipe.next(from: descriptor) else { return }
            // A second signal gets the default action: writing the finished outputs can block
            // (a stalled pipe, a paused terminal), and a user's second Ctrl-C must still end it.
            SignalPipe.uninstall()
            let place = stop()
            let clear = Terminal.isTerminal(.error) ? "\r\u{1B}[K" : ""
            Terminal.write("\(clear)interrupted by \(SignalPipe.name(signal)): \(place)\n", to: .error)
            SignalPipe.exitNow(128 + signal)
        }
        if watcher == nil { SignalPipe.uninstall() }
    }

    /// Gives the signals their default action back; a signal that arrived before still ends
    /// the process as described (this call then does not return).
    func end() {
        SignalPipe.uninstall()
        watcher?.join()
        if descriptor >= 0 { SignalPipe.closeReader(descriptor) }
    }
}
