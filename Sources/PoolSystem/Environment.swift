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

    /// Removes `name` from this process's environment (children spawned later do not see it).
    package static func remove(_ name: String) {
        unsetenv(name)
    }
}
