/// Repeated timings of one benchmark case, summarised by order statistics: the median and the
/// 10th and 90th percentiles, which a few slow outliers (another process, a clock change) move
/// far less than a mean.
public struct TimingSummary: Codable, Sendable, Equatable {
    /// Every timing, in seconds, in the order the runs were made.
    public let samples: [Double]
    public let median: Double
    public let p10: Double
    public let p90: Double

    /// - Throws: `CLTrainError.invalidArgument` for no samples or a non-finite one.
    public init(samples: [Double]) throws {
        guard !samples.isEmpty, samples.allSatisfy(\.isFinite) else {
            throw CLTrainError.invalidArgument("TimingSummary needs at least one finite sample, got \(samples)")
        }
        self.samples = samples
        let sorted = samples.sorted()
        median = Self.percentile(0.5, ofSorted: sorted)
        p10 = Self.percentile(0.1, ofSorted: sorted)
        p90 = Self.percentile(0.9, ofSorted: sorted)
    }

    /// The `fraction` quantile of ascending, non-empty `sorted`, interpolating linearly between
    /// the two nearest samples (NumPy's default): position (n − 1)·fraction, so 0.5 of an even
    /// count is the mean of the middle two, and one sample is every quantile.
    public static func percentile(_ fraction: Double, ofSorted sorted: [Double]) -> Double {
        precondition(!sorted.isEmpty && (0...1).contains(fraction))
        let position = Double(sorted.count - 1) * fraction
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        return sorted[lower] + (position - Double(lower)) * (sorted[upper] - sorted[lower])
    }
}
