/// How much of the thread-scaling test a profile's budget holds, decided before it starts.
///
/// A round is a run of k calls on one thread, then k on each of the copies: at least 2k calls'
/// time with the copies no more than the cores, and one more k for each further wave of copies.
/// The minimum rounds (``ProfilerOptions/minimumScalingRounds``) give a speed-up; fewer give a
/// CPU efficiency from a round or two and no speed-up. So runs last about
/// ``ProfilerOptions/scalingRunSeconds``, shortened until the minimum rounds fit (the budget,
/// and the inputs left when each is called once), but never below ``shortestRunSeconds`` (or
/// one call, if longer): a run of a call or two of a fraction of a millisecond reads the copies'
/// start-up skew as their speed-up. A `scalingRunSeconds` shorter than that is raised to it.
/// When no such runs fit (a short job's budget: the auto executor profiles a 0.3 s job in
/// about 15 ms), one run of copies may still, timed against the serial phase's last
/// measurement as its single-thread run: a CPU efficiency and the copies' waits for the price
/// of one run.
enum ScalingFit: Equatable {
    /// The minimum rounds fit, with runs of this many calls.
    case rounds(callsPerRun: Int)
    /// One run of copies fits, each making this many calls: as many as the serial phase's last
    /// measurement, or enough for a run of ``shortestRunSeconds`` (the sampler, at 1 kHz, needs
    /// a few milliseconds of copies to see what they wait on).
    case oneRound(callsPerCopy: Int)
    /// Nothing fits: why, for the profile's notes.
    case none(String)

    /// The shortest run the minimum rounds are shrunk to (to the nearest whole call). Thread
    /// starts are tens of microseconds apart: a few percent of it. (Runs of one to three 0.3 ms
    /// calls read text-words' speed-up 1.26–1.54, where long runs read 1.64, and memory-scan's
    /// low enough to send their 0.3 s jobs to processes, 1.14–1.33× the best.)
    static let shortestRunSeconds = 0.002

    /// The fit for `threads` copies of calls of `callSeconds` on `cores` cores, with `left`
    /// seconds of budget; `lastCalls` is the serial phase's last measurement's calls (nil: none),
    /// `inputsLeft` the sample inputs left when each is called once (nil: calls may repeat).
    init(
        threads: Int, cores: Int, callSeconds: Double, lastCalls: Int?, left: Double, inputsLeft: Int?,
        options: ProfilerOptions
    ) {
        let call = callSeconds.isFinite ? max(callSeconds, 1e-9) : 1e9
        let copies = max(1, threads)
        let rounds = Self.minimumRounds(options)
        let waves = Double((copies + max(1, cores) - 1) / max(1, cores))
        let wanted = options.scalingRunSeconds.isFinite ? max(0, options.scalingRunSeconds) : 0
        let shortest = max(1, Int(min(1e6, (Self.shortestRunSeconds / call).rounded())))
        // Runs as long as the options want, but never shorter than the shortest reliable run.
        let perRun = max(shortest, Int(min(1e6, (wanted / call).rounded())))
        let byInputs = inputsLeft.map { max(0, $0) / ((1 + copies) * rounds) } ?? Int.max
        let room = left.isFinite ? max(0, left) : 0
        let fitting = Int(min(1e6, room / (Double(rounds) * (1 + waves) * call)))
        if min(perRun, fitting, byInputs) >= shortest {
            self = .rounds(callsPerRun: min(perRun, fitting, byInputs))
            return
        }
        if let lastCalls, lastCalls >= 1 {
            let perCopy = max(lastCalls, shortest)
            if inputsLeft.map({ $0 >= copies * perCopy }) ?? true, waves * Double(perCopy) * call <= room {
                self = .oneRound(callsPerCopy: perCopy)
                return
            }
        }
        if let inputsLeft, byInputs < shortest {
            self = .none(
                "the sample ran out: each input is called once, and \(inputsLeft) are left where \(rounds) rounds of runs of \(shortest) call(s) on 1 and \(copies) threads need \((1 + copies) * rounds * shortest)"
            )
            return
        }
        let needed = Double(rounds) * (1 + waves) * call * Double(max(1, shortest))
        self = .none(
            "the budget left \(Self.milliseconds(room)) for the scaling test, where \(rounds) rounds of runs of \(Self.milliseconds(call * Double(max(1, shortest)))) on 1 and \(copies) threads take \(Self.milliseconds(needed)) at least: the speed-up is not measured"
        )
    }

    /// ``ProfilerOptions/minimumScalingRounds`` within 1…1000, as the fit and the probe both
    /// read it (a product of rounds and inputs cannot overflow, and no run has zero calls).
    static func minimumRounds(_ options: ProfilerOptions) -> Int {
        min(max(1, options.minimumScalingRounds), 1_000)
    }

    /// `seconds` in milliseconds for a note: two decimal places below 10 ms, whole above.
    static func milliseconds(_ seconds: Double) -> String {
        let value = seconds * 1000
        guard value.isFinite else { return "\(value) ms" }
        guard abs(value) < 1e15 else { return "\(value) ms" }
        return value < 10 ? "\((value * 100).rounded() / 100) ms" : "\(Int(value.rounded())) ms"
    }
}
