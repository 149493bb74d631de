internal import PoolSystem
import PoolWire
import Synchronization

/// Holds a worker's input span of the arguments arena for as long as any ``ZeroCopyBytes``
/// decoded from it lives (each holds the pin as its lender).
///
/// Almost always the values die with the call, the worker finds the pin unshared when the task
/// returns and drops it quietly: the pool releases the span with the reply as usual. A task
/// that kept a value makes the worker flag the reply instead; the pin's last release then
/// queues its sequence number, which the worker sends in a ``FrameKind/released`` frame so the
/// pool can reuse the span. The release may happen on any thread.
final class ArgumentPin: Sendable {
    let sequence: UInt64
    private let releases: PinReleases
    /// Cleared when the worker drops the pin quietly: its reply releases the span.
    private let reportsRelease = Atomic<Bool>(true)

    init(sequence: UInt64, releases: PinReleases) {
        self.sequence = sequence
        self.releases = releases
    }

    deinit {
        if reportsRelease.load(ordering: .acquiring) { releases.add(sequence) }
    }

    /// Ends the worker's hold on `pin` after its task returned. Returns true when values
    /// borrowed from the span outlive the call: the reply must flag the item as pinned, and the
    /// span's release is reported later.
    static func settle(_ pin: inout ArgumentPin?) -> Bool {
        guard var held = pin else { return false }
        pin = nil
        // Unshared, no other thread can take a new reference to it: the span is free with the
        // reply. Shared, the others may let go at any moment; the deinit then reports it.
        if isKnownUniquelyReferenced(&held) {
            held.reportsRelease.store(false, ordering: .releasing)
            return false
        }
        held.releases.expect()
        return true
    }
}

/// Sequence numbers of pinned argument spans a worker no longer holds, waiting to be sent.
final class PinReleases: Sendable {
    private let state = Locked<(pending: [UInt64], outstanding: Int)>(([], 0))
    /// Sequence numbers per frame: within the protocol's cap and the pool's largest frame.
    private let perFrame: Int

    init(maximumFrameBytes: Int) {
        perFrame = max(1, min(WorkerProtocol.maximumReleasesPerFrame, (maximumFrameBytes - 4) / 8))
    }

    /// A pin outlived its call: a release is owed.
    func expect() {
        state.withLock { $0.outstanding += 1 }
    }

    func add(_ sequence: UInt64) {
        state.withLock { $0.pending.append(sequence) }
    }

    /// Whether releases are owed or waiting: an idle worker must look in now and then.
    var owesReleases: Bool { state.withLock { $0.outstanding > 0 || !$0.pending.isEmpty } }

    /// Takes the waiting sequence numbers (at most `limit`).
    func take(limit: Int) -> [UInt64] {
        state.withLock { state in
            let taken = Array(state.pending.prefix(limit))
            state.pending.removeFirst(taken.count)
            state.outstanding -= taken.count
            return taken
        }
    }

    /// Sends what is waiting as ``FrameKind/released`` frames with `builder`, which must hold no
    /// unfinished frame. Called after a results frame is written (or while idle), so a release
    /// usually follows the reply that flagged its item; when a reply's last item was moved to
    /// a frame of its own, its release can come first, which the pool remembers
    /// (`ArenaSpans.releasedEarly`).
    func send(with builder: FrameBuilder) throws {
        while true {
            let sequences = take(limit: perFrame)
            guard !sequences.isEmpty else { return }
            builder.begin(kind: FrameKind.released.rawValue)
            builder.append(fixed: UInt32(sequences.count))
            for sequence in sequences { builder.append(fixed: sequence) }
            try Descriptor.writeAll(WorkerProtocol.replyDescriptor, builder.finish())
        }
    }
}
