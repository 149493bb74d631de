internal import PoolSystem
internal import Synchronization

/// The write end of the pipe the signal handler reports on, -1 while none is installed.
private let signalPipe = Atomic<Int32>(-1)

/// SIGINT and SIGTERM turned into bytes on a pipe, so that an ordinary thread (not the
/// handler, where almost nothing is safe) can act on them.
///
/// The handler only writes the signal number as one byte (`write` is async-signal-safe);
/// worker processes start with default dispositions (the spawn resets them), so they are not
/// affected.
enum SignalPipe {
    /// The signals the CLI stops on.
    static let stopping: [Int32] = [Signals.interrupt, Signals.terminate]

    /// Installs the handler and returns the read end; nil if the pipe cannot be made.
    ///
    /// A signal the parent set to be ignored stays ignored (a background job of a shell ignores
    /// SIGINT so that ^C does not reach it). The calling thread unblocks the signals, and the
    /// threads it starts later inherit that: a parent that spawned this process from a thread
    /// that blocks them (Dispatch's threads block most signals) would otherwise leave the
    /// signals pending for ever.
    static func install() -> Int32? {
        guard let ends = try? Descriptor.makePipe() else { return nil }
        signalPipe.store(ends.write, ordering: .sequentiallyConsistent)
        let handled = stopping.filter { !Signals.isIgnored($0) }
        for signal in handled { Signals.setHandler(signal, handleSignal) }
        Signals.unblock(handled)
        return ends.read
    }

    /// Puts the default dispositions back and sends the reader a 0 byte after any signal byte
    /// already written. The write end stays open (one descriptor per `run`): a handler that
    /// started before might still write to it, and a closed number could be a stranger's file.
    static func uninstall() {
        for signal in stopping where !Signals.isIgnored(signal) { Signals.setHandler(signal, nil) }
        let end = signalPipe.exchange(-1, ordering: .sequentiallyConsistent)
        if end >= 0 { Signals.writeByte(0, to: end) }
    }

    /// Waits for the next byte: the signal's number, or nil for the stop byte or end-of-file.
    static func next(from descriptor: Int32) -> Int32? {
        var byte: UInt8 = 0
        guard case .moved(1)? = try? Descriptor.read(descriptor, into: &byte, count: 1), byte != 0 else { return nil }
        return Int32(byte)
    }

    static func closeReader(_ descriptor: Int32) { Descriptor.close(descriptor) }

    /// `SIGINT` or `SIGTERM`.
    static func name(_ signal: Int32) -> String { signal == Signals.terminate ? "SIGTERM" : "SIGINT" }

    /// Ends the process at once with `status`: no exit handlers run while other threads work.
    static func exitNow(_ status: Int32) -> Never { ProcessControl.exitImmediately(status) }
}

/// The handler: one byte on the pipe, `errno` left as it was (``Signals/writeByte(_:to:)``).
private func handleSignal(_ signal: Int32) {
    let end = signalPipe.load(ordering: .relaxed)
    if end >= 0 { Signals.writeByte(UInt8(truncatingIfNeeded: signal), to: end) }
}
