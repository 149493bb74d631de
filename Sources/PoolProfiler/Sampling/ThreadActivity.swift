import CPoolPlatform

/// What one sample found a task thread doing.
///
/// A sampler cannot tell *running* from *runnable* (both read `R`); the exact run-queue wait
/// comes from schedstat in per-call accounting instead.
public enum ThreadActivity: String, Codable, Sendable, CaseIterable {
    /// On a core, or runnable and waiting for one (`R`).
    case running
    /// Blocked acquiring a lock: futex `WAIT` (pthread mutex, NSLock) or `LOCK_PI`
    /// (`Synchronization.Mutex` once it stops spinning).
    case lockWait
    /// Blocked on a condition, semaphore or join (futex `WAIT_BITSET`/`WAIT_REQUEUE_PI`).
    case conditionWait
    /// Blocked reading or writing a pipe.
    case pipeIO
    /// Blocked on a socket (read, recv, accept, connect, send).
    case socketIO
    /// Blocked reading or writing a regular file (page cache, not yet the device).
    case fileIO
    /// Waiting in poll, select or epoll.
    case pollWait
    /// In uninterruptible sleep (`D`: the block device) or in fsync.
    case diskIO
    /// In nanosleep or clock_nanosleep.
    case sleep
    /// Waiting for a child process (wait4, waitid).
    case childWait
    /// Blocked in another system call, or outside one (a page fault).
    case otherWait
    /// The thread's files disagreed (it changed state between the two reads).
    case transition

    /// Whether the activity is time spent waiting on input or output of any kind.
    public var isIO: Bool {
        switch self {
        case .pipeIO, .socketIO, .fileIO, .pollWait, .diskIO: true
        default: false
        }
    }
}

/// Classifies one sample from a thread's `stat` state letter and its `syscall` line.
enum ActivityClassifier {
    /// `syscall` reads "running", or "NR arg1 arg2 …" (hex arguments) while in a call, or
    /// "-1 sp pc" when blocked outside one.
    static func classify(
        state: UInt8, syscall: UnsafeBufferPointer<UInt8>, descriptorKind: (Int) -> ProcFS.DescriptorKind
    ) -> ThreadActivity {
        let inCall = syscall.first.map { $0 != UInt8(ascii: "r") } ?? false
        switch state {
        case UInt8(ascii: "R"):
            return .running
        case UInt8(ascii: "D"):
            return .diskIO
        default:
            break
        }
        guard inCall else { return .transition }
        guard syscall.first != UInt8(ascii: "-"), let number = parseNumber(syscall, from: 0) else { return .otherWait }
        let first = parseNumber(syscall, from: number.end)
        switch poolsys_classify_syscall(Int(number.value)) {
        case POOLSYS_CALL_FUTEX:
            let operation = first.flatMap { parseNumber(syscall, from: $0.end) }?.value ?? -1
            return futexActivity(operation)
        case POOLSYS_CALL_READ, POOLSYS_CALL_WRITE:
            switch descriptorKind(Int(first?.value ?? -1)) {
            case .pipe: return .pipeIO
            case .socket: return .socketIO
            case .file: return .fileIO
            case .other: return .otherWait
            }
        case POOLSYS_CALL_POLL: return .pollWait
        case POOLSYS_CALL_NETWORK: return .socketIO
        case POOLSYS_CALL_SYNC: return .diskIO
        case POOLSYS_CALL_SLEEP: return .sleep
        case POOLSYS_CALL_CHILD: return .childWait
        default: return .otherWait
        }
    }

    /// The futex operation without its PRIVATE (128) and CLOCK_REALTIME (256) flags: WAIT (0),
    /// LOCK_PI (6) and LOCK_PI2 (13) are mutexes; WAIT_BITSET (9) and WAIT_REQUEUE_PI (11)
    /// are condition variables, semaphores and joins.
    static func futexActivity(_ operation: Int64) -> ThreadActivity {
        guard operation >= 0 else { return .otherWait }
        switch operation & 0x7f {
        case 0, 6, 13: return .lockWait
        case 9, 11: return .conditionWait
        default: return .otherWait
        }
    }
}
