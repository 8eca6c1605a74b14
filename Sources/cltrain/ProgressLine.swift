import CLTrain
import Foundation
import Logging

/// The live progress line: rewritten in place on a terminal, a log line every N steps otherwise.
///
/// Tokens per second is a moving average over the last `averagedSteps` steps (`MovingRate`); it
/// shows as "-" until some time has passed.
final class ProgressLine {
    private let logger: Logger
    private let logEvery: Int
    private let tokensPerStep: Double
    private let interactive = isatty(STDERR_FILENO) != 0
    private var open = false
    private var rate = MovingRate(window: ProgressLine.averagedSteps)
    static let averagedSteps = 20

    init(logger: Logger, logEvery: Int, tokensPerStep: Double) {
        self.logger = logger
        self.logEvery = logEvery
        self.tokensPerStep = tokensPerStep
    }

    /// Tokens per second over the recent steps; nil before any measurable time has passed.
    var tokensPerSecond: Double? { rate.rate }

    func update(_ r: StepReport) {
        record(r)
        let rate = tokensPerSecond.map { String(format: "%.0f", $0) } ?? "-"
        let text = "epoch \(r.epoch) step \(r.window)/\(r.windowsPerEpoch) loss \(format(r.loss)) ppl \(format(r.perplexity)) "
            + "lr \(r.learningRate) \(rate) tok/s ETA \(Self.duration(r.secondsRemaining))"
        if interactive {
            try? FileHandle.standardError.write(contentsOf: Data("\r\u{1B}[K\(text)".utf8))
            open = true
        } else if r.step % logEvery == 0 || r.window == r.windowsPerEpoch {
            logger.info("\(text)")
        }
    }

    /// The step's tokens over its wall time (`WallClock`, as the trainer measured it).
    func record(_ r: StepReport) {
        rate.record(units: tokensPerStep, seconds: r.seconds)
    }

    func finishLine() {
        if open { try? FileHandle.standardError.write(contentsOf: Data("\n".utf8)) }
        open = false
    }

    /// "3m07s", "2h05m"; "-" for a time not yet known or beyond a year (no Int conversion can trap).
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 366 * 86_400 else { return "-" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : "\(s / 60)m\(String(format: "%02d", s % 60))s"
    }
}
