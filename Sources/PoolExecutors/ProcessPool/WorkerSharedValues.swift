import PoolWire

/// A worker's side of its shared memory: the arguments arena it reads, the results arena it
/// fills, and the page through which the pool says how far it has read the results.
///
/// A large output is encoded straight into the results arena when the last one was large too (a
/// span a quarter larger than it is offered to the task's encoder); otherwise it is encoded into
/// the reply and moved to the arena if it turns out large. Either way only a reference goes out.
final class WorkerSharedValues {
    let arguments: SharedArena?
    let results: SharedArena?
    let page: ProgressPage?
    /// Outputs of at least this many encoded bytes go through the results arena.
    let threshold: Int
    /// The encoded size of the last output: a guess at the next one's.
    private var lastOutputBytes = 0
    /// Whether spans of the results arena may still be live (the pool has not said it read them).
    private(set) var holdsResults = false
    /// Argument spans that tasks' kept values held past their calls and have since let go.
    let releases: PinReleases

    /// The fault-injection tests' setting: every second reference sent points outside the arena.
    private let corruptsReferences: Bool
    private var referencesSent = 0

    init(
        arguments: SharedArena?, results: SharedArena?, page: ProgressPage?, threshold: Int, maximumFrameBytes: Int,
        corruptsReferences: Bool
    ) {
        releases = PinReleases(maximumFrameBytes: maximumFrameBytes)
        self.arguments = arguments
        self.results = results
        self.page = page
        self.threshold = threshold
        self.corruptsReferences = corruptsReferences
    }

    /// Writes the reference to `span` in place of the output.
    private func appendReference(_ span: ArenaSpans.Span, to builder: FrameBuilder) {
        referencesSent += 1
        if corruptsReferences && referencesSent % 2 == 0 {
            builder.append(reference: ArenaSpans.Span(offset: 1 << 40, count: span.count, sequence: span.sequence))
        } else {
            builder.append(reference: span)
        }
    }

    /// The argument bytes a request's reference `field` points at, and a pin that keeps them
    /// from being reused while values borrowed from them live.
    func argument(at field: UnsafeRawBufferPointer) throws -> (bytes: UnsafeRawBufferPointer, pin: ArgumentPin) {
        guard let arguments else {
            throw WireError(.invalidValue, at: 0, "an input refers to shared memory this worker could not map")
        }
        var cursor = FrameCursor(field)
        let reference = try cursor.readReference()
        let bytes = try arguments.bytes(at: reference.offset, count: reference.count)
        return (bytes, ArgumentPin(sequence: reference.sequence, releases: releases))
    }

    /// Gives back the results the pool has read, and the pages of an arena emptied long enough
    /// ago (`idle`: the worker is waiting for requests, so the short grace applies).
    func releaseConsumedResults(idle: Bool = false) {
        guard let results else { return }
        if holdsResults, let page {
            results.release(through: page.resultsConsumed)
            holdsResults = results.hasLiveSpans
        }
        // Pages above the warm ones go back once the arena has stayed empty for its grace (the
        // longer one between items); `awaitsTrim` is a lock-free read, so an item pays
        // nothing more for it otherwise.
        if results.awaitsTrim { results.trimIfIdle(grace: SharedArena.grace(idle: idle)) }
    }

    /// How long an idle worker may wait for a request before it must look at its arenas again:
    /// soon while the pool still holds large results (to release what it read) or a kept
    /// argument may be let go (to say so), within
    /// the arena's grace while emptied pages wait to be given back, else for ever (-1).
    func idleWaitMilliseconds() -> Int32 {
        if holdsResults || releases.owesReleases { return 50 }
        guard let results, results.awaitsTrim else { return -1 }
        return SharedArena.idleWaitMilliseconds
    }

    /// A span of the results arena for the next output to be encoded into, when the last output
    /// was large; nil otherwise (or when no memory or room can be had: the output then takes
    /// the usual path, which reports a real shortage).
    func offerRegion() -> ArenaSpans.Span? {
        guard let results, lastOutputBytes >= threshold else { return nil }
        let offer = try? results.claim(lastOutputBytes + lastOutputBytes / 4 + 64, key: 0)
        if offer != nil { holdsResults = true }
        return offer
    }

    /// The writable memory of an offered span.
    func memory(of span: ArenaSpans.Span) -> UnsafeMutableRawBufferPointer {
        results!.memory(of: span)
    }

    /// Puts the output just produced where it belongs and returns whether a reference to the
    /// results arena now stands in the reply for it (after payload offset `offset`).
    ///
    /// `inRegion` is how many bytes the task's output took in the offered span, nil if it was
    /// encoded into the reply instead (it did not fit, or no span was offered, or it failed).
    /// - Throws: ``SystemCallError`` when a large output finds no memory.
    func placeOutput(
        from builder: FrameBuilder, at offset: Int, offer: ArenaSpans.Span?, inRegion: Int?, _ status: ItemStatus
    ) throws -> Bool {
        if let offer, let results {
            if let written = inRegion {
                lastOutputBytes = written
                if written >= threshold {
                    appendReference(results.shrink(offer, to: written), to: builder)
                    return true
                }
                builder.append(bytes: UnsafeRawBufferPointer(rebasing: results.memory(of: offer).prefix(written)))
            }
            results.abandon(offer)
        }
        guard status == .success else { return false }
        let encoded = builder.payloadCount - offset
        lastOutputBytes = encoded
        guard encoded >= threshold, let results else { return false }
        guard let span = try results.store(builder.payload(from: offset), key: 0) else { return false }
        holdsResults = true
        builder.truncate(toPayloadCount: offset)
        appendReference(span, to: builder)
        return true
    }
}
