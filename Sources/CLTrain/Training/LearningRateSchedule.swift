import Foundation

/// The learning rate as a function of training progress: constant, then divided by `decayFactor`
/// (2: halved) every `halvingInterval` epochs once `halvingStart` epochs are done (Sutskever et
/// al. 2014: halved after 5 epochs, every half epoch; Zaremba et al. 2014: divided by 2, 1.2 or
/// 1.15 every epoch after 4, 6 or 14, as their TensorFlow code's `lr_decay ** max(i + 1 − max_epoch, 0)`
/// for 0-based epoch i; their Lua code decays one epoch later).
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public var initial: Float
    /// Epochs (fractional) before the first decay; nil: never decay.
    public var halvingStart: Double?
    public var halvingInterval: Double
    /// What each decay divides the rate by; nil: 2 (kept out of the checkpoint, so a run that never
    /// set it writes what it always wrote).
    public var decayFactor: Double?

    public init(initial: Float, halvingStart: Double? = nil, halvingInterval: Double = 0.5, decayFactor: Double? = nil) {
        self.initial = initial
        self.halvingStart = halvingStart
        self.halvingInterval = halvingInterval
        self.decayFactor = decayFactor
    }

    /// `--lr` positive, `--lr-halve-after` non-negative, `--lr-halve-every` positive, all finite.
    public func validate() throws {
        try InputNumber.check(initial, "--lr", in: .positive, why: "the learning rate")
        if let halvingStart {
            try InputNumber.check(halvingStart, "--lr-halve-after", in: .nonNegative, why: "epochs before the first halving")
        }
        try InputNumber.check(halvingInterval, "--lr-halve-every", in: .positive, why: "epochs between halvings")
        if let decayFactor {
            try InputNumber.check(decayFactor, "--lr-decay", in: .closed(1, 1000),
                                  why: "what each decay divides the rate by; below 1 it would grow, and beyond 1000 one decay all but stops training")
        }
    }

    /// `epochs` is the progress in epochs, e.g. 5.25 a quarter into the sixth.
    public func rate(atEpoch epochs: Double) -> Float {
        guard let start = halvingStart, epochs >= start, halvingInterval > 0 else { return initial }
        // In floating point: a tiny interval gives more halvings than an Int holds (0.5^n is then 0).
        let halvings = ((epochs - start) / halvingInterval).rounded(.down) + 1
        return initial * Float(pow(1 / (decayFactor ?? 2), halvings))   // 1 / 2 is 0.5 exactly: halving as before
    }
}
