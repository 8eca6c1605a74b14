import Foundation

/// Maps data values onto a pixel span, linearly or by log10, with the ticks an axis shows.
public struct PlotScale {
    public let lower: Double
    public let upper: Double
    /// Pixel positions of `lower` and `upper` (a y axis runs from bottom to top: start > end).
    public let start: Double
    public let end: Double
    public let logarithmic: Bool
    /// The distance between linear ticks (a decade on a log scale).
    private let step: Double

    /// A scale over `values` (the non-finite ones and, on a log scale, those ≤ 0 left out),
    /// widened to whole decades (log) or nice steps (linear); a span of one value is widened too.
    public init(covering values: [Double], from start: Double, to end: Double, logarithmic: Bool) {
        self.start = start
        self.end = end
        self.logarithmic = logarithmic
        let usable = values.filter { $0.isFinite && (!logarithmic || $0 > 0) }
        if logarithmic {
            let low = usable.min().map { floor(log10($0)) } ?? 0, high = usable.max().map { ceil(log10($0)) } ?? 1
            lower = pow(10, low)
            upper = pow(10, max(high, low + 1))
            step = 10
        } else {
            var low = usable.min() ?? 0, high = usable.max() ?? 1
            if high - low < 1e-12 * max(abs(high), 1) { low -= 0.5; high += 0.5 }
            let step = Self.niceStep((high - low) / 8)
            lower = floor(low / step) * step
            upper = ceil(high / step) * step
            self.step = step
        }
    }

    /// The pixel position of `value`; nil for a value the scale cannot place (≤ 0 on a log scale).
    public func position(_ value: Double) -> Double? {
        guard value.isFinite, !logarithmic || value > 0 else { return nil }
        let fraction = logarithmic ? (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
                                   : (value - lower) / (upper - lower)
        return start + fraction * (end - start)
    }

    /// Every decade on a log scale; eight or so round steps on a linear one.
    public var ticks: [Double] {
        if logarithmic {
            let low = Int(log10(lower).rounded()), high = Int(log10(upper).rounded())
            return (low...max(low, high)).map { pow(10, Double($0)) }
        }
        var result: [Double] = [], value = lower
        while value <= upper + step * 1e-9, result.count < 50 {
            result.append(abs(value) < step * 1e-9 ? 0 : value)
            value += step
        }
        return result
    }

    /// 1, 2 or 5 times a power of ten, at least `rough`.
    static func niceStep(_ rough: Double) -> Double {
        guard rough.isFinite, rough > 0 else { return 1 }
        let power = pow(10, floor(log10(rough)))
        return [1, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
    }

    /// A tick label: "0.01", "2.5", "1000", "1e+06".
    public static func label(_ value: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 { return String(format: "%.0e", value) }
        return String(format: "%g", value)
    }
}
