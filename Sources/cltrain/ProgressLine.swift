import CLTrain
import Foundation
import Logging

/// The live progress line: rewritten in place on a terminal, a log line every N steps otherwise.
final class ProgressLine {
    private let logger: Logger
    private let logEvery: Int
    private let interactive = isatty(STDERR_FILENO) != 0
    private var open = false

    init(logger: Logger, logEvery: Int) {
        self.logger = logger
        self.logEvery = logEvery
    }

    func update(_ r: StepReport) {
        let text = "epoch \(r.epoch) step \(r.window)/\(r.windowsPerEpoch) loss \(format(r.loss)) ppl \(format(r.perplexity)) "
            + "lr \(r.learningRate) \(Int(r.tokensPerSecond)) tok/s ETA \(duration(r.secondsRemaining))"
        if interactive {
            try? FileHandle.standardError.write(contentsOf: Data("\r\u{1B}[K\(text)".utf8))
            open = true
        } else if r.step % logEvery == 0 || r.window == r.windowsPerEpoch {
            logger.info("\(text)")
        }
    }

    func finishLine() {
        if open { try? FileHandle.standardError.write(contentsOf: Data("\n".utf8)) }
        open = false
    }

    private func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : "\(s / 60)m\(String(format: "%02d", s % 60))s"
    }
}
