import Glibc

/// Signal numbers, dispositions and masks: the one `sigaction`, `signal` and `pthread_sigmask`
/// of the program, and the one write a signal handler may make.
package enum Signals {
    /// `SIGINT`: ^C at the terminal.
    package static let interrupt = SIGINT
    /// `SIGTERM`: a polite request to stop.
    package static let terminate = SIGTERM
    /// `SIGKILL`: cannot be caught; how pools end workers.
    package static let kill = SIGKILL
    /// `SIGPIPE`: a write to a pipe whose reader is gone.
    package static let brokenPipe = SIGPIPE

    /// The C name of the signals a worker commonly dies of (`SIGSEGV`, …), nil for others.
    package static func name(of signal: Int32) -> String? {
        switch signal {
        case SIGKILL: "SIGKILL"
        case SIGTERM: "SIGTERM"
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGINT: "SIGINT"
        case SIGPIPE: "SIGPIPE"
        default: nil
        }
    }

    /// Whether `signal` is ignored (`SIG_IGN`) in this process; false when it cannot be read.
    package static func isIgnored(_ signal: Int32) -> Bool {
        // SIG_IGN is the handler address 1 on Linux; function pointers do not compare.
        guard let current = disposition(signal) else { return false }
        return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == 1
    }

    /// Installs `handler` for `signal` (nil: the default disposition), with `SA_RESTART` (so
    /// that most interrupted calls resume by themselves) and no extra signals blocked while it runs.
    package static func setHandler(_ signal: Int32, _ handler: (@convention(c) (Int32) -> Void)?) {
        var action = sigaction()
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        action.__sigaction_handler.sa_handler = handler ?? SIG_DFL
        _ = sigaction(signal, &action, nil)
    }

    /// Ignores `signal` unless the program already chose its own handling for it (only a
    /// default disposition is replaced).
    package static func ignoreUnlessHandled(_ signal: Int32) {
        guard let current = disposition(signal) else { return }
        if current.__sigaction_handler.sa_handler == nil { _ = Glibc.signal(signal, SIG_IGN) }
    }

    /// Unblocks `signals` for the calling thread (and the threads it starts later, which
    /// inherit its mask).
    package static func unblock(_ signals: [Int32]) {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        _ = pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Writes `byte` to `fd` once, ignoring the outcome, and leaves `errno` as it found it:
    /// async-signal-safe, for a signal handler (or a call that must behave like one). Not
    /// retried on `EINTR`: a handler must not loop, and a lost byte is the sender's to handle.
    package static func writeByte(_ byte: UInt8, to fd: Int32) {
        let saved = errno
        var value = byte
        _ = write(fd, &value, 1)
        errno = saved
    }

    /// The current disposition of `signal`, or nil when `sigaction` refuses it.
    private static func disposition(_ signal: Int32) -> sigaction? {
        var current = sigaction()
        guard sigaction(signal, nil, &current) == 0 else { return nil }
        return current
    }
}
