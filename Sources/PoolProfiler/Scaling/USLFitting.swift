/// Fits the Universal Scalability Law by Gunther's linearisation: with x = N − 1 and
/// y = N/C(N) − 1, y = κx² + (σ + κ)x, a least-squares fit through the origin. Intervals come
/// from 400 bootstrap resamples of the residuals.
enum USLFitting {
    /// `relativeThroughput[i]` is C(levels[i]) = X(N)/X(1). Needs at least 3 levels besides 1.
    static func fit(levels: [Int], relativeThroughput: [Double]) -> USLFit? {
        let points = zip(levels, relativeThroughput).filter { $0.0 > 1 && $0.1 > 0 }
        guard points.count >= 3 else { return nil }
        let xs = points.map { Double($0.0 - 1) }
        let ys = points.map { Double($0.0) / $0.1 - 1 }
        guard let (a, b) = solve(xs: xs, ys: ys) else { return nil }
        let residuals = zip(xs, ys).map { x, y in y - (a * x * x + b * x) }
        var generator = SplitMix(seed: 0x5eed)
        var sigmas: [Double] = []
        var kappas: [Double] = []
        for _ in 0..<400 {
            let resampled = xs.map { x in
                a * x * x + b * x + residuals[Int(generator.next() % UInt64(residuals.count))]
            }
            if let (ra, rb) = solve(xs: xs, ys: resampled) {
                kappas.append(ra)
                sigmas.append(rb - ra)
            }
        }
        let sigma = interval(b - a, sigmas)
        let kappa = interval(a, kappas)
        let identifiable = kappa.isClear(of: 0)
        let peak = identifiable && a > 0 && (1 - (b - a)) > 0 ? ((1 - (b - a)) / a).squareRoot() : nil
        return USLFit(sigma: sigma, kappa: kappa, kappaIdentifiable: identifiable, peakThreads: peak, levels: levels)
    }

    /// Least squares of y = a·x² + b·x (no intercept).
    private static func solve(xs: [Double], ys: [Double]) -> (Double, Double)? {
        var s4 = 0.0, s3 = 0.0, s2 = 0.0, sx2y = 0.0, sxy = 0.0
        for (x, y) in zip(xs, ys) {
            s4 += x * x * x * x
            s3 += x * x * x
            s2 += x * x
            sx2y += x * x * y
            sxy += x * y
        }
        let determinant = s4 * s2 - s3 * s3
        guard abs(determinant) > 1e-12 else { return nil }
        return ((sx2y * s2 - s3 * sxy) / determinant, (s4 * sxy - s3 * sx2y) / determinant)
    }

    private static func interval(_ value: Double, _ draws: [Double]) -> Estimate {
        let sorted = draws.sorted()
        guard sorted.count >= 20 else {
            return Estimate(value: value, low: -.infinity, high: .infinity, observations: 0)
        }
        return Estimate(
            value: value, low: sorted[Int(Double(sorted.count) * 0.025)],
            high: sorted[Int(Double(sorted.count) * 0.975) - 1], observations: draws.count)
    }
}

/// A small deterministic generator, so a fit gives the same interval every time.
struct SplitMix: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
