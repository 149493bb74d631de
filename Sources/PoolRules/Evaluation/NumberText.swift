/// Number formatting without Foundation: the rules module stays pure Swift.
public enum NumberText {
    /// `x` with `decimals` digits after the point (rounded half away from zero).
    public static func fixed(_ x: Double, decimals: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (Swift.abs(x) * scale).rounded()
        guard scaled < 9e18 else { return String(x) }
        let whole = UInt64(scaled)
        let sign = x < 0 && whole != 0 ? "-" : ""
        let unit = UInt64(scale)
        let integer = whole / unit
        guard decimals > 0 else { return sign + String(integer) }
        var fraction = String(whole % unit)
        while fraction.count < decimals { fraction = "0" + fraction }
        return "\(sign)\(integer).\(fraction)"
    }

    /// About three significant digits; whole numbers print without a point.
    public static func automatic(_ x: Double) -> String {
        guard x.isFinite else { return fixed(x, decimals: 0) }
        if x == x.rounded() && Swift.abs(x) < 1e9 { return fixed(x, decimals: 0) }
        let magnitude = Swift.abs(x)
        if magnitude >= 1 { return significant(x) }
        // Below one: two digits after the leading zeros (0.97, 0.052, 0.0012).
        var decimals = 2
        var bound = 0.1
        while magnitude < bound && decimals < 9 {
            bound /= 10
            decimals += 1
        }
        return fixed(x, decimals: decimals)
    }

    /// A duration with a unit chosen for it: `850 ns`, `12.5 µs`, `3.20 ms`, `1.50 s`.
    public static func seconds(_ x: Double) -> String {
        let magnitude = Swift.abs(x)
        if !x.isFinite { return fixed(x, decimals: 0) }
        if magnitude >= 1 || magnitude == 0 { return "\(significant(x)) s" }
        if magnitude >= 1e-3 { return "\(significant(x * 1e3)) ms" }
        if magnitude >= 1e-6 { return "\(significant(x * 1e6)) µs" }
        return "\(significant(x * 1e9)) ns"
    }

    /// A byte count in binary units: `512 B`, `4.0 KiB`, `3.5 MiB`.
    public static func bytes(_ x: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = x
        var unit = 0
        while Swift.abs(value) >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(fixed(value, decimals: 0)) B" : "\(significant(value)) \(units[unit])"
    }

    /// Three significant digits for values from 1 to 999.
    static func significant(_ x: Double) -> String {
        let magnitude = Swift.abs(x)
        return fixed(x, decimals: magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2)
    }

    static func format(_ x: Double, _ format: ValueFormat) -> String {
        switch format {
        case .automatic: automatic(x)
        case .percent(let decimals):
            fixed(x * 100, decimals: decimals ?? (x != 0 && Swift.abs(x) < 0.01 ? 1 : 0)) + "%"
        case .fixed(let decimals): fixed(x, decimals: decimals)
        case .seconds: seconds(x)
        case .bytes: bytes(x)
        case .times(let decimals): fixed(x, decimals: decimals) + "×"
        case .integer: fixed(x, decimals: 0)
        }
    }
}
