import CLTrain
import Foundation
import Logging

/// The command line's one live progress line, for every command that shows progress (`train`,
/// `verify`): on a terminal, one line on stderr rewritten in place; otherwise nothing in place
/// (a log file should not fill with carriage returns), only the updates the caller marks as
/// worth a line, logged at info level.
final class ProgressLine {
    private let logger: Logger
    /// Whether stderr is a terminal (the line is then rewritten in place).
    let interactive: Bool
    private var open = false

    init(logger: Logger, interactive: Bool = isatty(STDERR_FILENO) != 0) {
        self.logger = logger
        self.interactive = interactive
    }

    /// Shows `text` in place of the previous update on a terminal; elsewhere logs it when `log`.
    func show(_ text: String, log: Bool = false) {
        if interactive {
            Self.writeStandardError("\r\u{1B}[K\(text)")
            open = true
        } else if log {
            logger.info("\(text)")
        }
    }

    /// Ends the line, keeping its last text, so that what follows starts on a line of its own.
    func finishLine() {
        if open { Self.writeStandardError("\n") }
        open = false
    }

    /// Erases the line (what follows takes its place).
    func clear() {
        if open { Self.writeStandardError("\r\u{1B}[K") }
        open = false
    }

    private static func writeStandardError(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
    }
}

extension ProgressLine {
    /// Updates averaged for the tokens/s of `train`'s line (`MovingRate`).
    static let averagedSteps = 20

    /// `train`'s line: "epoch 1 step 20/100 loss 4.123 ppl 61.75 lr 0.7 12345 tok/s ETA 3m07s";
    /// the rate shows as "-" until some time has passed.
    /// `unit`: what the rate counts ("words/s" for translation: source + target words).
    static func training(_ r: StepReport, tokensPerSecond: Double?, unit: String = "tok/s") -> String {
        let rate = tokensPerSecond.map { String(format: "%.0f", $0) } ?? "-"
        return "epoch \(r.epoch) step \(r.window)/\(r.windowsPerEpoch) loss \(format(r.loss)) ppl \(format(r.perplexity)) "
            + "lr \(r.learningRate) \(rate) \(unit) ETA \(duration(r.secondsRemaining))"
    }

    /// "3m07s", "2h05m"; "-" for a time not yet known or beyond a year (no Int conversion can trap).
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 366 * 86_400 else { return "-" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : "\(s / 60)m\(String(format: "%02d", s % 60))s"
    }
}
