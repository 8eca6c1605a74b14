import Foundation

/// The checkpoint rule both trainers follow: a checkpoint is encoded after an update and written
/// only once its weights have given a finite loss (the next step's, or a validation pass's), so
/// the one on disk — the one a divergence names — always evaluates and resumes.
final class JudgedCheckpoints {
    /// Nil where this process writes nothing (no folder, or a data-parallel rank other than 0).
    var writer: CheckpointWriter?
    /// Encoded after an update; written once its weights have given a finite loss.
    private var pending: PendingCheckpoint?
    /// A checkpoint was encoded whose weights have given no loss yet (also on a rank that writes
    /// nothing: it still scores the last weights with the others).
    private(set) var unjudged = false
    /// The last checkpoint written (or resumed from): finite weights that gave a finite loss.
    var lastCheckpoint: URL?
    var onCheckpoint: (URL) -> Void = { _ in }

    /// Holds the checkpoint `encode` makes with the writer (if this process writes), until judged.
    func hold(_ encode: (CheckpointWriter) throws -> PendingCheckpoint) throws {
        unjudged = true
        guard let writer else { return }
        pending = try encode(writer)
    }

    /// The held checkpoint's weights gave a finite loss: writes it.
    func commit() throws {
        unjudged = false
        guard let writer, let checkpoint = pending else { return }
        pending = nil
        let url = try writer.commit(checkpoint)
        lastCheckpoint = url
        onCheckpoint(url)
    }

    /// Divergence at `step`: nothing pending is written; the last checkpoint written stays.
    func diverged(epoch: Int, step: Int, loss: Double) -> TrainingError {
        pending = nil
        unjudged = false
        return TrainingError.diverged(epoch: epoch, step: step, loss: loss, lastCheckpoint: lastCheckpoint?.path)
    }

    /// The norm of the step's gradients (scaled by `lossScale`, clipped at `maxNorm`) once the loss
    /// and the norm are finite, and the held checkpoint written now that its weights gave them;
    /// a non-finite loss or norm is the divergence at `step`, before any update.
    func judgeStep(loss: Double, parameters: [Parameter], maxNorm: Float, lossScale: Float, epoch: Int, step: Int) throws -> Double {
        let norm: Double
        do {
            guard loss.isFinite else { throw TrainingError.nonFinite(what: "loss", value: loss) }
            norm = try clipGradients(parameters, maxNorm: maxNorm, lossScale: lossScale)
        } catch is TrainingError {
            throw diverged(epoch: epoch, step: step, loss: loss)
        }
        try commit()
        return norm
    }
}
