internal import Glibc
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
    static let stopping: [Int32] = [SIGINT, SIGTERM]

    /// Installs the handler and returns the read end; nil if the pipe cannot be made.
    ///
    /// A signal the parent set to be ignored stays ignored (a background job of a shell ignores
    /// SIGINT so that ^C does not reach it). The calling thread unblocks the signals, and the
    /// threads it starts later inherit that: a parent that spawned this process from a thread
    /// that blocks them (Dispatch's threads block most signals) would otherwise leave the
    /// signals pending for ever.
    static func install() -> Int32? {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return nil }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        signalPipe.store(ends[1], ordering: .sequentiallyConsistent)
        var set = sigset_t()
        sigemptyset(&set)
        for signal in stopping where !isIgnored(signal) {
            setHandler(signal, installing: true)
            sigaddset(&set, signal)
        }
        _ = pthread_sigmask(SIG_UNBLOCK, &set, nil)
        return ends[0]
    }

    private static func isIgnored(_ signal: Int32) -> Bool {
        var current = sigaction()
        guard sigaction(signal, nil, &current) == 0 else { return false }
        // SIG_IGN is the handler address 1 on Linux and macOS; function pointers do not compare.
        #if canImport(Glibc)
            return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == 1
        #else
            return unsafeBitCast(current.__sigaction_u.__sa_handler, to: Int.self) == 1
        #endif
    }

    /// Puts the default dispositions back and sends the reader a 0 byte after any signal byte
    /// already written. The write end stays open (one descriptor per `run`): a handler that
    /// started before might still write to it, and a closed number could be a stranger's file.
    static func uninstall() {
        for signal in stopping where !isIgnored(signal) { setHandler(signal, installing: false) }
        let end = signalPipe.exchange(-1, ordering: .sequentiallyConsistent)
        var stop: UInt8 = 0
        if end >= 0 { _ = write(end, &stop, 1) }
    }

    /// Waits for the next byte: the signal's number, or nil for the stop byte or end-of-file.
    static func next(from descriptor: Int32) -> Int32? {
        var byte: UInt8 = 0
        let count = SystemCall.retryingInterrupts { read(descriptor, &byte, 1) }
        return count == 1 && byte != 0 ? Int32(byte) : nil
    }

    static func closeReader(_ descriptor: Int32) { _ = close(descriptor) }

    /// `SIGINT` or `SIGTERM`.
    static func name(_ signal: Int32) -> String { signal == SIGTERM ? "SIGTERM" : "SIGINT" }

    /// Ends the process at once with `status`: no exit handlers run while other threads work.
    static func exitNow(_ status: Int32) -> Never { _exit(status) }

    private static func setHandler(_ signal: Int32, installing: Bool) {
        var action = sigaction()
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = installing ? handleSignal : SIG_DFL
        #else
            action.__sigaction_u.__sa_handler = installing ? handleSignal : SIG_DFL
        #endif
        _ = sigaction(signal, &action, nil)
    }
}

/// The handler: one byte on the pipe, `errno` left as it was.
private func handleSignal(_ signal: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: signal)
    let end = signalPipe.load(ordering: .relaxed)
    if end >= 0 { _ = write(end, &byte, 1) }
    errno = saved
}
