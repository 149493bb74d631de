/// The conversation between a process pool and its workers, over two pipes and a shared page.
///
/// - The worker's descriptor 3 carries requests, 4 carries replies, 5 is the ``ProgressPage``:
///   the item running, and the finished items not yet replied (read by the parent if the
///   worker dies, so they are delivered all the same). 6 and 7 are the ``SharedArena``s for
///   large arguments and large results: such a value's bytes lie there and the frame carries a
///   reference to them.
/// - The worker speaks first: a ``FrameKind/hello`` with the protocol version, its pid, its build
///   id and the tasks it registered (name and signature), or a ``FrameKind/fatal`` saying why it
///   cannot serve.
/// - Then the parent sends ``FrameKind/run`` batches and the worker answers each with one or
///   more ``FrameKind/results`` frames, in order.
/// - A worker whose task kept a ``ZeroCopyBytes`` borrowed from the arguments arena past its
///   call flags that item's reply (``pinnedArgumentFlag``), and names the span in a
///   ``FrameKind/released`` frame once the last copy is gone; the pool reuses it only then.
/// - End of file on the request pipe tells the worker to exit.
/// - A worker on another host (``WorkerLauncher``) speaks the same protocol on its standard
///   input and output, which it moves to 3 and 4 (stdout then goes to stderr, so a task's
///   prints cannot corrupt the stream); it has no progress page and no arenas, and sends each
///   result as soon as it is done. After it exits, its `sh` sends an ``FrameKind/exited``
///   frame with its status.
enum WorkerProtocol {
    static let version: UInt32 = 5
    /// Set in a worker's environment:
    /// `"<version>:<parent pid>:<maximum frame bytes>:<shared-memory threshold, 0 for none>:<faults>"`,
    /// where faults are the fault-injection tests' (`Configuration.injectedFaults`), then
    /// `:stdio` for a remote worker (parent pid 0: not checked).
    static let environmentKey = "POOL_ADVISOR_WORKER"
    /// The argument workers are started with, so a program whose `main` lacks the entry guard
    /// most likely stops at once with a usage error.
    static let workerArgument = "--pool-advisor-worker"
    static let requestDescriptor: Int32 = 3
    static let replyDescriptor: Int32 = 4
    static let progressDescriptor: Int32 = 5
    static let argumentsDescriptor: Int32 = 6
    static let resultsDescriptor: Int32 = 7
    /// Exit status of a worker that reports a fatal problem.
    static let fatalExitStatus: Int32 = 70
    /// A worker flushes finished results at least this often within a long batch (the
    /// progress page's log keeps them safe meanwhile).
    static let flushIntervalNanoseconds: UInt64 = 1_000_000
    static let flushBytes = 1 << 20
    /// Set in a reply item's status byte when its bytes are a reference into the results arena.
    static let sharedResultFlag: UInt8 = 0x80
    /// Set in a reply item's status byte when the worker still holds its input's span of the
    /// arguments arena (a ``FrameKind/released`` frame will name it).
    static let pinnedArgumentFlag: UInt8 = 0x40
    /// The status byte's flags; the rest is the ``ItemStatus``.
    static let statusFlags: UInt8 = sharedResultFlag | pinnedArgumentFlag
    /// Sequence numbers a ``FrameKind/released`` frame may carry.
    static let maximumReleasesPerFrame = 4096
}

/// Where a request item's bytes are: the byte before its length-prefixed field.
enum InputPlacement: UInt8 {
    /// The field is the encoded input.
    case inline = 0
    /// The parent could not encode or place the input: the field is a ``RemoteFailure`` the
    /// worker returns as that item's error, so every item still completes exactly once.
    case failedInParent = 1
    /// The field is a reference to the input's bytes in the arguments arena.
    case shared = 2
}

enum FrameKind: UInt8 {
    case hello = 1
    case fatal = 2
    case run = 3
    case results = 4
    /// Worker to pool: `[count u32]` then `count` sequence numbers (u64) of pinned argument
    /// spans it no longer holds.
    case released = 5
    /// Written by `sh` on a remote host after the worker exits: its exit status as three ASCII
    /// digits (``ExitTrailer``). Never written by a worker.
    case exited = 6
}

/// Per-item status byte in a results frame.
enum ItemStatus: UInt8 {
    case success = 0
    /// The task threw: the payload is a ``RemoteFailure``.
    case taskError = 1
    /// The worker could not decode the input or encode the output: a ``RemoteFailure``.
    case codingError = 2
}

/// A task error as it crosses back: the thrown value's type name and description.
struct RemoteFailure: Codable {
    var typeName: String
    var message: String
}

/// What a worker says about itself in its hello frame.
struct WorkerHello: Codable {
    var protocolVersion: UInt32
    var pid: Int32
    var buildID: String
    var executable: String
    var taskNames: [String]
    var taskSignatures: [String]
    /// Whether it mapped the shared-memory arenas: if not, the pool sends it every value
    /// through the pipe.
    var mapsSharedMemory: Bool
}
