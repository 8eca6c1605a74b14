import Foundation

/// The learning rate as a function of training progress: constant, then halved every
/// `halvingInterval` epochs once `halvingStart` epochs are done (Sutskever et al. 2014: after 5
/// epochs, every half epoch).
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public var initial: Float
    /// Epochs (fractional) before the first halving; nil: never halve.
    public var halvingStart: Double?
    public var halvingInterval: Double

    public init(initial: Float, halvingStart: Double? = nil, halvingInterval: Double = 0.5) {
        self.initial = initial
        self.halvingStart = halvingStart
        self.halvingInterval = halvingInterval
    }

    /// `--lr` positive, `--lr-halve-after` non-negative, `--lr-halve-every` positive, all finite.
    public func validate() throws {
        try InputNumber.check(initial, "--lr", in: .positive, why: "the learning rate")
        if let halvingStart {
            try InputNumber.check(halvingStart, "--lr-halve-after", in: .nonNegative, why: "epochs before the first halving")
        }
        try InputNumber.check(halvingInterval, "--lr-halve-every", in: .positive, why: "epochs between halvings")
    }

    /// `epochs` is the progress in epochs, e.g. 5.25 a quarter into the sixth.
    public func rate(atEpoch epochs: Double) -> Float {
        guard let start = halvingStart, epochs >= start, halvingInterval > 0 else { return initial }
        // In floating point: a tiny interval gives more halvings than an Int holds (0.5^n is then 0).
        let halvings = ((epochs - start) / halvingInterval).rounded(.down) + 1
        return initial * Float(pow(0.5, halvings))
    }
}
