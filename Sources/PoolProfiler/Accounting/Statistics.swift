/// A measured figure with its 95 % confidence interval and the number of observations behind it.
public struct Estimate: Codable, Sendable, Equatable, CustomStringConvertible {
    public var value: Double
    public var low: Double
    public var high: Double
    /// Observations (calls, samples or runs) the interval rests on.
    public var observations: Int

    public init(value: Double, low: Double, high: Double, observations: Int) {
        self.value = value
        self.low = low
        self.high = high
        self.observations = observations
    }

    /// Whether the whole interval lies on one side of `threshold`.
    public func isClear(of threshold: Double) -> Bool { low > threshold || high < threshold }

    public var description: String {
        "\(Self.format(value)) [\(Self.format(low)), \(Self.format(high))] n=\(observations)"
    }

    private enum CodingKeys: String, CodingKey { case value, low, high, observations }

    /// An unbounded side (too few observations to know the spread) is written as `null`:
    /// JSON has no infinity.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        value = try container.decode(Double.self, forKey: .value)
        low = try container.decodeIfPresent(Double.self, forKey: .low) ?? -.infinity
        high = try container.decodeIfPresent(Double.self, forKey: .high) ?? .infinity
        observations = try container.decode(Int.self, forKey: .observations)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(value, forKey: .value)
        try container.encode(low.isFinite ? low : nil, forKey: .low)
        try container.encode(high.isFinite ? high : nil, forKey: .high)
        try container.encode(observations, forKey: .observations)
    }

    static func format(_ value: Double) -> String {
        let scaled = (value * 1000).rounded() / 1000
        return "\(scaled)"
    }
}

/// The few statistics the profiler needs, written out so no dependency is needed.
enum Statistics {
    static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    static func standardDeviation(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 0 }
        let average = mean(values)
        let squares = values.reduce(0) { $0 + ($1 - average) * ($1 - average) }
        return (squares / Double(values.count - 1)).squareRoot()
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Two-sided 95 % quantile of Student's t with `degrees` degrees of freedom.
    static func t95(degrees: Int) -> Double {
        let table: [Double] = [
            12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14, 2.13,
        ]
        if degrees < 1 { return .infinity }
        if degrees <= table.count { return table[degrees - 1] }
        if degrees <= 30 { return 2.09 }
        return 1.96
    }

    /// `value` with the t-interval of the mean of `observations` around it. One observation
    /// gives an unbounded interval: nothing is known about its spread.
    static func estimate(_ value: Double, spreadOf observations: [Double]) -> Estimate {
        let count = observations.count
        guard count > 1 else { return Estimate(value: value, low: -.infinity, high: .infinity, observations: count) }
        let half = t95(degrees: count - 1) * standardDeviation(observations) / Double(count).squareRoot()
        return Estimate(value: value, low: value - half, high: value + half, observations: count)
    }

    /// The Wilson score interval of a proportion: sound even for fractions near 0 or 1 and for
    /// few samples, where the normal approximation claims impossible certainty.
    static func proportion(_ hits: Int, of total: Int) -> Estimate {
        guard total > 0 else { return Estimate(value: 0, low: 0, high: 1, observations: 0) }
        let z = 1.96
        let n = Double(total)
        let p = Double(hits) / n
        let denominator = 1 + z * z / n
        let centre = (p + z * z / (2 * n)) / denominator
        let half = z * ((p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()) / denominator
        return Estimate(value: p, low: max(0, centre - half), high: min(1, centre + half), observations: total)
    }
}
