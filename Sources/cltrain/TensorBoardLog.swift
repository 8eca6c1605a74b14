import CLTrain
import Foundation

/// `train --tensorboard DIR`: the run's scalars in a TensorBoard event file of its own in DIR
/// (`TensorBoardEventFile`), written at each logged step and each validation, as `--metrics`
/// is. A failed write (a full disk) is said once; training goes on without it.
final class TensorBoardLog {
    /// The tags, stable across runs so that TensorBoard overlays them.
    enum Tag {
        static let loss = "train/loss", perplexity = "train/perplexity", learningRate = "train/learning_rate"
        static let gradientNorm = "train/grad_norm", tokensPerSecond = "train/tokens_per_second"
        static let validationLoss = "valid/loss", validationPerplexity = "valid/perplexity"
    }

    private let file: TensorBoardEventFile
    private var failed = false

    init(directory: String) throws {
        file = try TensorBoardEventFile(directory: URL(fileURLWithPath: directory))
    }

    var path: String { file.url.path }

    func step(_ report: StepReport) {
        write([(Tag.loss, report.loss), (Tag.perplexity, report.perplexity), (Tag.learningRate, Double(report.learningRate)),
               (Tag.gradientNorm, report.gradientNorm), (Tag.tokensPerSecond, report.tokensPerSecond)], step: report.step)
    }

    func validation(_ report: ValidationReport, step: Int) {
        write([(Tag.validationLoss, report.loss), (Tag.validationPerplexity, report.perplexity)], step: step)
    }

    private func write(_ scalars: [(tag: String, value: Double)], step: Int) {
        guard !failed else { return }
        do {
            try file.write(scalars: scalars, step: step)
        } catch {
            failed = true
            try? FileHandle.standardError.write(contentsOf: Data("cltrain: --tensorboard: \(error); no more events are written\n".utf8))
        }
    }
}
