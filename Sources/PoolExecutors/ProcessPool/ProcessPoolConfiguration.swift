/// Which program a process pool starts as its workers.
public enum WorkerExecutable: Sendable, Equatable {
    /// This very executable (through `/proc/self/exe`, so a rebuild on disk cannot swap it);
    /// the handshake requires the worker's build id to equal this process's.
    case current
    /// Another executable that calls ``WorkerEntry/runIfWorker(tasks:)`` in its `main`. With
    /// `requireSameBuild`, its build id must equal this process's; otherwise only the task
    /// signatures are compared.
    case path(String, requireSameBuild: Bool = false)
}

extension ProcessPool {
    /// How a ``ProcessPool`` starts, sizes, times and recycles its workers.
    public struct Configuration: Sendable {
        /// Worker processes; defaults to the cores this process may use. With ``hosts`` set,
        /// their total (setting ``hosts`` sets it).
        public var workers: Int
        /// Where the workers run, and how many on each host: empty (the default) runs
        /// ``workers`` workers on this machine. Items go to whichever worker has room, so a
        /// faster host drains more of them. A host whose workers keep failing to start or
        /// dying without finishing anything is dropped with a warning (``onWarning``), and the
        /// job goes on with the others.
        public var hosts: [WorkerHost] = [] {
            didSet { if !hosts.isEmpty { workers = Self.totalWorkers(hosts) } }
        }
        /// Where warnings go (a host dropped, a worker restarted after a back-off); nil writes
        /// them to standard error.
        public var onWarning: (@Sendable (String) -> Void)?
        /// Consecutive failures (a start that failed, or a worker that ended without finishing
        /// an item) after which a remote host is dropped. Each restart waits twice as long as
        /// the last, from 0.1 s up to 5 s.
        public var hostFailureLimit: Int = 5
        /// The program workers run; defaults to ``WorkerExecutable/current``.
        public var executable: WorkerExecutable = .current
        /// Extra `NAME=value` environment entries for workers.
        public var environment: [String: String] = [:]
        /// Longest a single item may run; past it the worker is killed and replaced and the item
        /// fails with ``PoolError/Code/taskTimedOut``. `nil` (the default) waits forever.
        public var taskTimeout: Duration?
        /// A task timeout its owner sets while the pool runs (see ``TaskTimeLimit``), used when
        /// ``taskTimeout`` is nil; no item times out while it holds none.
        public var adjustableTaskTimeout: TaskTimeLimit?
        /// Longest a new worker may take to say hello before the pool gives up on it.
        public var startTimeout: Duration = .seconds(20)
        /// Items a worker runs before it is replaced by a fresh process (leaky libraries);
        /// `nil` keeps workers for the pool's life. A batch is never split, so a worker may
        /// finish the batch that crosses the limit.
        public var maxTasksPerWorker: Int?
        /// How many times an item of an idempotent task (``PoolTask/isIdempotent``) is re-run
        /// after its worker crashed or timed out. Non-idempotent tasks are never re-run.
        public var retries: Int = 0
        /// Largest request or reply frame in bytes; a larger one is refused as corrupt. At most
        /// ``largestFrameBytes`` (lengths on the wire are 31 bits).
        public var maximumFrameBytes: Int = 1 << 30

        /// The most ``maximumFrameBytes`` may be: 2 GiB less a header.
        public static let largestFrameBytes = Int(Int32.max) - 64
        /// Arguments and results whose encoded size is at least this many bytes go through
        /// shared memory instead of the pipe: the bytes are written once into memory the worker
        /// maps, and only a 24-byte reference is sent. Nil sends everything through the pipe.
        ///
        /// The default is where the two paths cross on this kind of machine (`pool-bench
        /// processes`, figure `payload_crossover`): below it a pipe's copies cost less than the
        /// shared arena's bookkeeping.
        public var sharedMemoryThreshold: Int? = 64 << 10
        /// Bytes of shared memory each worker may use per direction. Virtual: pages are taken
        /// only as values need them, and given back when its arena empties. A value larger than
        /// this goes through the pipe.
        public var sharedMemoryBytesPerWorker: Int = 1 << 30
        /// For the fault-injection tests: every shared-memory reservation fails as if memory
        /// were exhausted, in the pool and in its workers.
        package var failsSharedMemoryReservations = false
        /// For the fault-injection tests: every second large result a worker sends refers
        /// outside its arena, as a corrupt reference would.
        package var corruptsSharedResults = false

        /// The fault-injection settings a worker gets: bit 0 fails reservations, bit 1 corrupts
        /// every second shared result.
        var injectedFaults: Int { (failsSharedMemoryReservations ? 1 : 0) | (corruptsSharedResults ? 2 : 0) }
        /// Batches queued per worker, so it never waits for the next request.
        public var batchesInFlightPerWorker: Int = 3
        /// Names the pool's threads (`name-c0`, `name-w0`) in debuggers and `top -H`.
        public var name: String = "procpool"

        /// The defaults, with `workers` worker processes (nil: the usable core count).
        public init(workers: Int? = nil) {
            self.workers = max(1, workers ?? Machine.usableCores)
        }

        /// The defaults, with workers on `hosts` (``WorkerHost/local(workers:)`` for this
        /// machine).
        public init(hosts: [WorkerHost]) {
            self.workers = max(1, Self.totalWorkers(hosts))
            self.hosts = hosts
        }

        /// The hosts' workers together, saturating instead of overflowing (``validate()``
        /// refuses a host with more than ``HostLogin/maximumWorkers``).
        static func totalWorkers(_ hosts: [WorkerHost]) -> Int {
            hosts.reduce(0) { total, host in
                let (sum, overflow) = total.addingReportingOverflow(max(0, host.workers))
                return overflow ? Int.max : sum
            }
        }

        /// Whether `name` is a POSIX shell variable name.
        static func isShellName(_ name: String) -> Bool {
            guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
            return name.unicodeScalars.allSatisfy {
                $0.isASCII
                    && (("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_")
            }
        }

        /// These settings with `count` workers: on this machine alone when ``hosts`` is empty,
        /// else the hosts' own counts, which a count for the whole pool cannot split.
        public func sized(workers count: Int) -> Self {
            guard hosts.isEmpty else { return self }
            var sized = self
            sized.workers = max(1, count)
            return sized
        }

        /// These settings with `count` workers on this machine, whatever the hosts (a worker
        /// of its own for one call, a profile).
        public func onThisMachine(workers count: Int) -> Self {
            var local = self
            local.hosts = []
            local.workers = max(1, count)
            return local
        }

        /// The hosts the pool's slots belong to: ``hosts``, or this machine alone.
        var effectiveHosts: [WorkerHost] { hosts.isEmpty ? [.local(workers: workers)] : hosts }

        /// For each worker slot, the index of its host in ``effectiveHosts``.
        var slotHosts: [Int] {
            effectiveHosts.enumerated().flatMap { index, host in Array(repeating: index, count: host.workers) }
        }

        /// Throws if a setting is outside what the pool can honour.
        func validate() throws {
            if let threshold = sharedMemoryThreshold, threshold < 1 {
                throw PoolError(
                    .invalidConfiguration,
                    "ProcessPool.Configuration.sharedMemoryThreshold is \(threshold); it must be at least 1 byte, or nil to send every value through the pipe"
                )
            }
            guard sharedMemoryBytesPerWorker >= 1 << 16 else {
                throw PoolError(
                    .invalidConfiguration,
                    "ProcessPool.Configuration.sharedMemoryBytesPerWorker is \(sharedMemoryBytesPerWorker); it must be at least 65536"
                )
            }
            if Self.totalWorkers(hosts) > 4 * HostLogin.maximumWorkers {
                throw PoolError(
                    .invalidConfiguration,
                    "ProcessPool.Configuration.hosts hold \(Self.totalWorkers(hosts)) workers together; one pool runs at most \(4 * HostLogin.maximumWorkers) (each has a thread here)"
                )
            }
            for host in hosts where host.workers > HostLogin.maximumWorkers {
                throw PoolError(
                    .invalidConfiguration,
                    "ProcessPool.Configuration.hosts gives host \(host.launcher.host) \(host.workers) workers; at most \(HostLogin.maximumWorkers) run on one host"
                )
            }
            for host in hosts where host.workers < 1 {
                throw PoolError(
                    .invalidConfiguration,
                    "ProcessPool.Configuration.hosts gives host \(host.launcher.host) \(host.workers) workers; each host needs at least 1"
                )
            }
            if !hosts.isEmpty && workers != Self.totalWorkers(hosts) {
                throw PoolError(
                    .invalidConfiguration,
                    "ProcessPool.Configuration.workers is \(workers) but its hosts hold \(Self.totalWorkers(hosts)) workers; with hosts set, give each host its count instead"
                )
            }
            // A remote worker's variables are set by a shell there: a name must be a name.
            if hosts.contains(where: { !$0.launcher.isLocal }) {
                for name in environment.keys where !Self.isShellName(name) {
                    throw PoolError(
                        .invalidConfiguration,
                        "ProcessPool.Configuration.environment has the variable name '\(name)', which a shell on another host cannot set; use letters, digits and '_', not starting with a digit"
                    )
                }
                // The command travels as one line of shell (csh rejects a line break inside
                // quotes), and a C string ends at a NUL.
                let texts =
                    environment.map { "the value of \($0.key)" as String } + hosts.compactMap(\.launcher.executable)
                let values = Array(environment.values) + hosts.compactMap(\.launcher.executable)
                for (text, value) in zip(texts, values)
                where value.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" }) {
                    throw PoolError(
                        .invalidConfiguration,
                        "ProcessPool.Configuration: \(text.hasPrefix("the value") ? text : "the executable path '\(text)'") holds a line break or NUL, which cannot travel to another host in a command line"
                    )
                }
            }
            guard hostFailureLimit >= 1 else {
                throw PoolError(
                    .invalidConfiguration,
                    "ProcessPool.Configuration.hostFailureLimit is \(hostFailureLimit); it must be at least 1")
            }
            guard (4096...Self.largestFrameBytes).contains(maximumFrameBytes) else {
                throw PoolError(
                    .invalidConfiguration,
                    "ProcessPool.Configuration.maximumFrameBytes is \(maximumFrameBytes); it must be between 4096 and \(Self.largestFrameBytes) (lengths on the wire are 31 bits)"
                )
            }
        }
    }
}
