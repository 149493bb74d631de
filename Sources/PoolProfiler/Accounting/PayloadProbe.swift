import PoolExecutors
import PoolWire
import Synchronization

/// Encodes and decodes a task's inputs and outputs with the codec the process pool uses and
/// times it: with the machine's transfer rate, what shipping a call costs.
///
/// The work is sized by bytes and bounded by a budget. Every value is first coded once, cold. A
/// value whose encoding is large (``largeValueBytes``) is then timed over one more round (warm,
/// as a pool shipping it call after call pays), unless the cold round already ended past the
/// budget, whose time then stands as an upper bound (when its encoding alone ends past the
/// budget, it is not decoded, and its decode counts at the encode's time): one round is long
/// enough to time, and repeating it would cost more than the answer is worth (a 16 MB argument encoded forty times
/// took longer than the job it was profiled for). A small value is repeated for up to
/// ``repeatNanoseconds`` so the clock can resolve it. Inputs and outputs are taken in turn, and
/// once the budget is spent no further value is coded: the first input and the first output are
/// always measured, and the values left over count at the measured means (for a value never
/// encoded, its size is unknown, so the mean of those measured stands for it).
///
/// With a machine profile, a large value whose encoding is one block copy (``WireEncoder/blockSize(of:)``:
/// `[UInt8]`, `[Double]`, `Data`) is not coded at all: its size is known without encoding, and
/// its encode and decode are the copies the machine's transfer rate already includes (the
/// calibration echoes a byte array through a worker, codec and all), so it adds no codec time.
/// A 0.3 s job whose argument was 16 MiB spent 6–7 % of itself profiling, most of it coding
/// that argument once. Any other value's measured codec is added to its transfer, which for a
/// struct holding a large array counts the array's copies twice: an upper bound, kept because
/// the rules' shipping thresholds were set on it. A machine profile of typical figures (no
/// calibration) prices a block at 500 MB/s, slower than any echo measured here (1.4–2.6 GB/s).
enum PayloadProbe {
    /// Values of each kind (inputs, outputs) the probe samples at most.
    static let sampledValues = 8
    /// From this encoded size a value is coded in two rounds (one warm-up, one timed), not repeated.
    static let largeValueBytes = 64 * 1024
    /// How long a small value's encode and decode are repeated, at most.
    static let repeatNanoseconds: Int64 = 1_000_000
    /// The share of the profile's maximum time the payload phase may take.
    static let budgetShare = 0.05

    /// The payload phase's budget in seconds: ``budgetShare`` of `maximumSeconds`, and no more
    /// than is left before the profile's deadline (`origin` + `maximumSeconds`) at `now`
    /// (monotonic nanoseconds).
    static func budget(maximumSeconds: Double, origin: Int64, now: Int64) -> Double {
        let left = maximumSeconds - (now - origin).seconds
        return max(0, min(maximumSeconds * budgetShare, left))
    }

    /// Measures `inputs` and `outputs` (the first ``sampledValues`` of each) within
    /// `budgetSeconds`; `cpuSecondsPerCall` is the task's CPU per call, which the shipping
    /// cost is compared with.
    static func measure<Task: PoolTask>(
        _ task: Task.Type, inputs: [Task.Input], outputs: [Task.Output], cpuSecondsPerCall: Double,
        machine: MachineProfile?, budgetSeconds: Double
    ) -> PayloadProfile {
        measure(
            task, coded: ValueCoding(Array(inputs.prefix(sampledValues)), pricesBlocks: machine != nil),
            outputs: outputs,
            cpuSecondsPerCall: cpuSecondsPerCall, machine: machine, budgetSeconds: budgetSeconds)
    }

    /// As ``measure(_:inputs:outputs:cpuSecondsPerCall:machine:budgetSeconds:)``, with the
    /// inputs' coding begun already (``BackgroundCoding``): values it left go on within the budget.
    static func measure<Task: PoolTask>(
        _ task: Task.Type, coded: ValueCoding<Task.Input>, outputs: [Task.Output], cpuSecondsPerCall: Double,
        machine: MachineProfile?, budgetSeconds: Double
    ) -> PayloadProfile {
        let deadline = Clocks.monotonic() + Clocks.nanoseconds(min(budgetSeconds, 1e6))
        var input = coded
        var output = ValueCoding(Array(outputs.prefix(sampledValues)), pricesBlocks: machine != nil)
        while !input.isDone || !output.isDone {
            input.codeNext(deadline: deadline)
            output.codeNext(deadline: deadline)
        }
        let codec = input.meanSeconds + output.meanSeconds
        let inputBytes = input.meanBytes
        let outputBytes = output.meanBytes
        // Each by the path the pool takes for a value of its size: shared memory or the pipe.
        let transfer =
            machine.map { $0.transferSeconds(bytes: inputBytes) + $0.transferSeconds(bytes: outputBytes) } ?? 0
        let shipping = codec + transfer
        let estimated = input.unmeasured + output.unmeasured
        let cold = input.timedCold + output.timedCold
        let sized = input.sizedOnly + output.sizedOnly
        return PayloadProfile(
            inputBytes: inputBytes, outputBytes: outputBytes, codecSecondsPerCall: codec,
            transferSecondsPerCall: transfer, shippingSecondsPerCall: shipping,
            shippingToComputeRatio: shipping / max(cpuSecondsPerCall, 1e-9), includesTransfer: machine != nil,
            estimatedValues: estimated > 0 ? estimated : nil, coldTimedValues: cold > 0 ? cold : nil,
            sizedValues: sized > 0 ? sized : nil)
    }

    /// The profile's notes when the budget left values uncoded, or timed large ones cold only.
    static func budgetNotes(_ payload: PayloadProfile) -> [String] {
        var notes: [String] = []
        if let estimated = payload.estimatedValues {
            notes.append(
                "the payload budget ran out: \(estimated) sampled value(s) were not encoded and count at the mean of those that were"
            )
        }
        if let cold = payload.coldTimedValues {
            notes.append(
                "\(cold) large value(s) were coded once, cold, within the payload budget (decoded only when their encoding ended within it, else the decode counted at the encode's time): their time (which includes growing the encoder's buffer) is an upper bound"
            )
        }
        if let sized = payload.sizedValues {
            notes.append(
                "\(sized) large value(s) are one block of memory (an array of trivial values or bytes): priced from their size at the calibrated transfer rate, which includes their copies, without coding them"
            )
        }
        return notes
    }

    /// Codes the first inputs on a thread of its own within `budgetSeconds`, started at once;
    /// ``finish()`` waits for it and hands the coding over. Without a second core (or when no
    /// thread can start), nothing runs early and ``finish()`` returns the coding unstarted, for
    /// the payload phase to do inline.
    // @unchecked: `coding` is the background thread's until it is joined, then the caller's.
    final class BackgroundCoding<Input: Codable & Sendable>: @unchecked Sendable {
        private var coding: ValueCoding<Input>
        private let lock = Locked<PlatformThread?>(nil)

        /// Set by ``finish()``: the coder ends at its next round. Until then it repeated small
        /// values to its deadline (half the profile's budget), which the profile then waited
        /// for, and while it ran, the profile's first reading of the process's CPU clock took
        /// 1.1–2.8 ms (5 of 6 profiles of 0.3 s jobs): 12–13 ms profiles took 16–20.
        private let stopping = Atomic<Bool>(false)

        /// `pricesBlocks`: a machine profile prices block values (see ``ValueCoding``).
        init(_ inputs: [Input], budgetSeconds: Double, inBackground: Bool, pricesBlocks: Bool) {
            coding = ValueCoding(Array(inputs.prefix(PayloadProbe.sampledValues)), pricesBlocks: pricesBlocks)
            guard inBackground else { return }
            let deadline = Clocks.monotonic() + Clocks.nanoseconds(min(budgetSeconds, 1e6))
            let thread = try? PlatformThread.start(name: "pa-payload") { [self] in
                // Values left when stopped are coded in the payload phase, within its budget.
                while !coding.isDone, !stopping.load(ordering: .relaxed) {
                    coding.codeNext(deadline: deadline) { stopping.load(ordering: .relaxed) }
                }
            }
            lock.withLock { $0 = thread }
        }

        // A coding dropped without ``finish()`` lets its thread release itself when it ends
        // (this runs on that thread when it held the last reference, and detaching it is allowed).
        deinit { lock.withLock { $0 }?.detach() }

        /// Waits for the background coding (once; later calls return at once) and returns it.
        @discardableResult
        func finish() -> ValueCoding<Input> {
            stopping.store(true, ordering: .relaxed)
            let thread = lock.withLock { current in
                defer { current = nil }
                return current
            }
            thread?.join()
            return coding
        }
    }

    /// The coding of one kind of value (inputs or outputs), one value at a time.
    struct ValueCoding<Value: Codable> {
        let values: [Value]
        private(set) var measured = 0
        /// Large values timed on their cold round only (the budget held no second round).
        private(set) var timedCold = 0
        /// Large block values priced from their size, not coded.
        private(set) var sizedOnly = 0
        /// Whether a large block value is priced from its size (a machine profile's transfer
        /// rate then covers its copies) instead of coded.
        let pricesBlocks: Bool
        private var totalBytes = 0.0
        private var totalSeconds = 0.0
        private var stopped = false
        private let encoder = WireEncoder()
        private let decoder = WireDecoder()

        init(_ values: [Value], pricesBlocks: Bool = false) {
            self.values = values
            self.pricesBlocks = pricesBlocks
        }

        var isDone: Bool { stopped || measured == values.count }
        /// Sampled values the budget left uncoded.
        var unmeasured: Int { values.count - measured }
        /// Mean encoded size of the values coded (a value that cannot be coded counts as 0).
        var meanBytes: Double { measured > 0 ? totalBytes / Double(measured) : 0 }
        /// Mean encode + decode seconds of the values coded.
        var meanSeconds: Double { measured > 0 ? totalSeconds / Double(measured) : 0 }

        /// Codes the next value, unless the budget (`deadline`, monotonic nanoseconds) is
        /// spent and one value has been coded already. `stop` ends a small value's repeated
        /// rounds early (after one timed round): the caller wants its thread back.
        mutating func codeNext(deadline: Int64, stop: () -> Bool = { false }) {
            guard !isDone else { return }
            // Sized before the budget is looked at: it costs nothing, and is exact.
            if pricesBlocks, let size = WireEncoder.blockSize(of: values[measured]), size >= largeValueBytes {
                totalBytes += Double(size)
                sizedOnly += 1
                measured += 1
                return
            }
            if measured > 0, Clocks.monotonic() >= deadline {
                stopped = true
                return
            }
            let timing = code(values[measured], deadline: deadline, stop: stop)
            totalBytes += Double(timing.bytes)
            totalSeconds += timing.seconds
            if timing.cold { timedCold += 1 }
            measured += 1
        }

        /// Encoded size and encode + decode seconds of `value`: one cold round, then one timed
        /// round for a large value (or once the budget is spent), else timed rounds until
        /// ``repeatNanoseconds`` have passed.
        ///
        /// The first round is cold and counts only where nothing else can: for a large value it
        /// grows the encoder's buffer and faults in fresh pages (for 4 MiB, seven times the steady
        /// cost on the development machine); for a small one it pays the type's first use, which
        /// read 0.4–0.55 ms for a 16-byte input timed alone on a short budget, a hundred times its
        /// steady cost. A pool shipping such values call after call pays either once per worker.
        /// A large value whose cold round ends past the budget is not coded again: that round's
        /// time stands, an upper bound (`cold`), since a second round of a 16 MiB value would
        /// double a payload phase already over its budget (a 0.3 s job spent a fifth of itself
        /// profiling, most of it coding its argument twice).
        private func code(_ value: Value, deadline: Int64, stop: () -> Bool) -> (
            bytes: Int, seconds: Double, cold: Bool
        ) {
            // Decoded from the encoder's own buffer, as a worker decodes from the bytes it read:
            // no copy of the encoding into an array of its own (16 MiB of fresh pages). A large
            // value whose encoding ends past `decodeBy` is not decoded (`decoded` false): the
            // cold round's decode then counts at the encode's time (for a contiguous array both
            // are one copy into fresh pages). A 0.3 s job whose argument is 16 MiB spent 9 % of
            // itself profiling, most of it waiting for that round's encode and decode.
            func round(decodeBy: Int64 = .max) -> (bytes: Int, decoded: Bool)? {
                try? encoder.withEncoded(value) { bytes in
                    guard bytes.count < largeValueBytes || Clocks.monotonic() < decodeBy else {
                        return (bytes.count, false)
                    }
                    _ = try? decoder.decode(Value.self, from: bytes)
                    return (bytes.count, true)
                }
            }
            let coldStart = Clocks.monotonic()
            guard let cold = round(decodeBy: deadline) else { return (0, 0, false) }
            let bytes = cold.bytes
            if !cold.decoded { return (bytes, 2 * (Clocks.monotonic() - coldStart).seconds, true) }
            let start = Clocks.monotonic()
            let large = bytes >= largeValueBytes
            if large, start >= deadline { return (bytes, (start - coldStart).seconds, true) }
            let end = large ? start : min(start + repeatNanoseconds, deadline)
            var now = start
            var rounds = 0
            repeat {
                _ = round()
                rounds += 1
                now = Clocks.monotonic()
            } while now < end && rounds < 10_000 && !stop()
            return (bytes, (now - start).seconds / Double(rounds), false)
        }
    }
}
