#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Where the CLI writes, and whether that place is a terminal that takes colour.
enum Terminal {
    enum Stream: Int32 {
        case output = 1
        case error = 2
    }

    /// Writes all of `text` to the stream, retrying short writes and `EINTR`.
    static func write(_ text: String, to stream: Stream) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                Glibc.write(stream.rawValue, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return  // a closed pipe (EPIPE): nothing more can be shown
            }
            offset += written
        }
    }

    /// True when the stream is a terminal.
    static func isTerminal(_ stream: Stream) -> Bool { isatty(stream.rawValue) == 1 }

    /// Colour only on a terminal, never with `NO_COLOR` set (https://no-color.org) or `TERM=dumb`.
    static func usesColour(_ stream: Stream) -> Bool {
        guard isTerminal(stream) else { return false }
        if let noColour = getenv("NO_COLOR"), noColour.pointee != 0 { return false }
        if let term = getenv("TERM"), String(cString: term) == "dumb" { return false }
        return true
    }

    /// Ends the process with `status`, flushing nothing: every write above is unbuffered.
    static func exit(_ status: Int32) -> Never { Glibc.exit(status) }
}
