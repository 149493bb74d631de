/// A host as a person writes it: GNU parallel's `--sshlogin` form, with forms for Slurm and for
/// any other launcher, and the worker count if given.
///
/// | written | means |
/// | --- | --- |
/// | `:` | this machine |
/// | `node7`, `user@node7` | OpenSSH to that destination |
/// | `ssh -p 2222 -i key user@node7` | OpenSSH with those client options (the last word is the destination) |
/// | `srun`, `srun --partition=debug` | Slurm job steps, with those `srun` options |
/// | `cmd: docker exec -i worker1` | any launcher: the words after `cmd:` are its command |
///
/// Any of them may start with `N/`, the number of workers there (`4/user@node7`); without it
/// the count is left to the caller (GNU parallel's default: the host's cores). Words are split
/// on spaces; there is no quoting.
public struct HostLogin: Sendable, Hashable, CustomStringConvertible {
    public var launcher: WorkerLauncher
    /// Workers there, or nil when the login did not say.
    public var workers: Int?
    /// The text it was read from.
    public let text: String

    /// The most workers one login may ask for.
    public static let maximumWorkers = 4096

    /// Reads one login.
    /// - Throws: ``PoolError`` (``PoolError/Code/invalidConfiguration``) saying what is wrong
    ///   and what a login looks like.
    public init(parsing text: String) throws(PoolError) {
        self.text = text
        var rest = Substring(text.trimmingWhitespace())
        func invalid(_ why: String) -> PoolError {
            PoolError(
                .invalidConfiguration,
                "host '\(text)' \(why); write [N/]LOGIN, where LOGIN is ':' (this machine), [user@]host, 'ssh OPTIONS… [user@]host', 'srun OPTIONS…' or 'cmd: COMMAND…'"
            )
        }
        guard rest.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw invalid("holds a control character")
        }
        if let slash = rest.firstIndex(of: "/"), rest[..<slash].allSatisfy(\.isASCIIDigitCharacter),
            !rest[..<slash].isEmpty
        {
            guard let count = Int(rest[..<slash]), (1...Self.maximumWorkers).contains(count) else {
                throw invalid("asks for \(rest[..<slash]) workers; give 1 to \(Self.maximumWorkers)")
            }
            workers = count
            rest = rest[rest.index(after: slash)...]
        } else {
            workers = nil
        }
        let words = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let first = words.first else { throw invalid("names no host") }
        if words == [":"] {
            launcher = .local
        } else if first == "srun" {
            launcher = .slurm(options: Array(words.dropFirst()))
        } else if first == "cmd:" {
            guard words.count > 1 else { throw invalid("gives no command after 'cmd:'") }
            launcher = .command(Array(words.dropFirst()), host: words.dropFirst().joined(separator: " "))
        } else {
            let destination = words[words.count - 1]
            guard !destination.hasPrefix("-"), destination != ":" else {
                throw invalid("ends with '\(destination)', which is not a host")
            }
            if words.count > 1, let taken = Self.optionValueTaking(destination, in: words.dropLast()) {
                throw invalid("ends with '\(destination)', the value of ssh's \(taken), and names no host after it")
            }
            guard !destination.contains("/") else {
                throw invalid(
                    "names host '\(destination)', and a host name has no '/' (a worker count goes first: N/host)")
            }
            let command = words.count > 1 ? first : "ssh"
            // More than one word: the first is the ssh client itself (`ssh`, `/usr/bin/ssh`,
            // `autossh`), never a host taken for a program to run.
            guard words.count == 1 || (command.split(separator: "/").last ?? "").contains("ssh") else {
                throw invalid("starts with '\(command)', which is not an ssh command; one login names one host")
            }
            launcher = .ssh(destination, options: Array(words.dropFirst().dropLast()), command: command)
        }
    }

    /// ssh's options that take a value (its `getopt` string's letters with a colon).
    private static let sshOptionsWithValues = Set("bceilmopBDEFIJLOPQRSWw")

    /// The option whose value the last word of `words` + `last` would be (`-p` in
    /// `ssh -p 22`), or nil when `last` stands alone.
    private static func optionValueTaking(_ last: String, in words: ArraySlice<String>) -> String? {
        var index = words.startIndex + 1  // past the ssh command itself
        while index < words.endIndex {
            let word = words[index]
            index += 1
            guard word.hasPrefix("-"), word.count >= 2 else { continue }
            // A cluster of flags ends at the first letter that takes a value; that value is
            // the rest of the word, or else the next word.
            for (offset, letter) in word.dropFirst().enumerated() where sshOptionsWithValues.contains(letter) {
                if offset + 2 == word.count {
                    if index == words.endIndex { return "-\(letter)" }
                    index += 1
                }
                break
            }
        }
        return nil
    }

    /// Reads a hosts file: one login per line; blank lines and lines starting with `#` are
    /// skipped. `source` names the file in errors.
    /// - Throws: ``PoolError`` naming `source`, the line and what is wrong.
    public static func list(parsing text: String, source: String) throws(PoolError) -> [HostLogin] {
        var logins: [HostLogin] = []
        // `\r\n` is one Character in Swift: split on every line end, not on "\n" alone.
        for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let trimmed = String(line).trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            do {
                logins.append(try HostLogin(parsing: trimmed))
            } catch {
                throw PoolError(.invalidConfiguration, "\(source):\(number + 1): \(error.message)")
            }
            guard logins.count <= Self.maximumWorkers else {
                throw PoolError(
                    .invalidConfiguration, "\(source) lists more than \(Self.maximumWorkers) hosts; split the job")
            }
        }
        return logins
    }

    public var description: String { text }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { isASCII && isWholeNumber }
}

extension String {
    /// Without leading and trailing spaces, tabs and line ends.
    fileprivate func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
