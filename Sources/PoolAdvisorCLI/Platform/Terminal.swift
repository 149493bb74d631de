internal import PoolSystem

/// Where the CLI writes, and whether that place is a terminal that takes colour.
enum Terminal {
    enum Stream: Int32 {
        case output = 1
        case error = 2
    }

    /// Writes all of `text` to the stream, retrying short writes and `EINTR`.
    static func write(_ text: String, to stream: Stream) {
        let bytes = Array(text.utf8)
        var offset = 0
        // A closed pipe (EPIPE) or a non-blocking stream that is full ends it: the text is
        // dropped rather than the run held up by whoever reads it.
        while offset < bytes.count,
            case .moved(let count)? = bytes.withUnsafeBytes({ buffer in
                try? Descriptor.write(stream.rawValue, from: buffer.baseAddress! + offset, count: buffer.count - offset)
            }), count > 0
        {
            offset += count
        }
    }

    /// True when the stream is a terminal.
    static func isTerminal(_ stream: Stream) -> Bool { Descriptor.isTerminal(stream.rawValue) }

    /// Colour only on a terminal, never with `NO_COLOR` set (https://no-color.org) or `TERM=dumb`.
    static func usesColour(_ stream: Stream) -> Bool {
        guard isTerminal(stream) else { return false }
        if Environment.isSet("NO_COLOR") { return false }
        if Environment.value("TERM") == "dumb" { return false }
        return true
    }

    /// Ends the process with `status`, flushing nothing: every write above is unbuffered.
    static func exit(_ status: Int32) -> Never { ProcessControl.exit(status) }
}
