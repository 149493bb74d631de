internal import Foundation

/// Reading rules files: the one place the advisor touches the file system for them.
enum RuleFiles {
    static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
