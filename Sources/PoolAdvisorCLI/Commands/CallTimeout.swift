/// `run --timeout`: a fixed number of seconds, or a percentage of the median successful call
/// (GNU parallel's `--timeout 200%`), for jobs whose calls' normal length is not known ahead.
enum CallTimeout: Sendable, Equatable {
    case seconds(Double)
    /// `P%`: P from 100 to 100,000.
    case percentOfMedian(Double)

    /// `30`, `0.5` or `200%`; nil for anything else (a percentage under 100 would stop calls of
    /// the median length itself).
    init?(parsing text: String) {
        if text.hasSuffix("%") {
            guard let percent = Double(text.dropLast()), (100...100_000).contains(percent) else { return nil }
            self = .percentOfMedian(percent)
        } else {
            guard let seconds = Double(text), (0.001...2_592_000).contains(seconds) else { return nil }
            self = .seconds(seconds)
        }
    }
}
