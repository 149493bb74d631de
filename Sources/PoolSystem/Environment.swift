import Glibc

/// The process's environment variables: the one reader (and the one place that changes them).
package enum Environment {
    /// The value of `name`, if set.
    package static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Whether `name` is set to something other than the empty string.
    package static func isSet(_ name: String) -> Bool {
        guard let value = getenv(name) else { return false }
        return value.pointee != 0
    }

    /// The whole environment as `NAME=value` strings, in `environ`'s order: what a spawned
    /// child is given (less what the caller filters out).
    package static func all() -> [String] {
        var result: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            result.append(String(cString: entry))
            cursor += 1
        }
        return result
    }

    /// Sets `name` to `value` in this process's environment, for it and the children it spawns
    /// later. Call it before other threads read the environment (`setenv` is not thread-safe).
    package static func set(_ name: String, to value: String) {
        setenv(name, value, 1)
    }

    /// Removes `name` from this process's environment (children spawned later do not see it).
    package static func remove(_ name: String) {
        unsetenv(name)
    }
}
