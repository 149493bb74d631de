/// What a task's author knows about it that no profile can measure.
///
/// Declare traits on the task; the advisor's rules read them as the facts `crash_prone` and
/// `thread_unsafe`:
///
/// ```swift
/// struct Render: PoolTask {
///     static let traits: TaskTraits = [.notThreadSafe]   // wraps a C library with global state
///     static func run(_ page: Page) throws -> Image { … }
/// }
/// ```
public struct TaskTraits: OptionSet, Codable, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The task may crash the process (a C library that aborts, unbounded recursion): run it in
    /// worker processes so a crash costs one item, not the program.
    public static let crashProne = TaskTraits(rawValue: 1 << 0)
    /// Two copies must never run at once in one process (global state, a non-reentrant library).
    public static let notThreadSafe = TaskTraits(rawValue: 1 << 1)
    /// Each call runs an external command: it is a process already, so what matters is how
    /// many run at once, and its CPU shows in the children's rusage.
    public static let runsCommand = TaskTraits(rawValue: 1 << 2)
}
