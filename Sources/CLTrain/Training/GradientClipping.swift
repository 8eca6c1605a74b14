import Foundation

/// Rescales all gradients together when their global L2 norm exceeds `maxNorm`
/// (Sutskever et al. 2014 clip at 5; PyTorch's clip_grad_norm_). Returns the norm before clipping.
/// The norm is global: each device sums the squares of the gradients it holds, and the host adds
/// those partial sums. A non-finite norm is an error: an update from it would destroy the weights.
///
/// `lossScale` first multiplies the gradients (`LossReduction.gradientFactor`): the norm and the
/// clipping are of the scaled gradient, as in the papers' code, and both scalings are one pass.
func clipGradients(_ parameters: [Parameter], maxNorm: Float, lossScale: Float = 1) throws -> Double {
    var sumOfSquares = 0.0
    for group in parameters.groupedByBackend() {
        sumOfSquares += try group.backend.sumOfSquares(group.parameters.map(\.gradient))
    }
    let norm = sumOfSquares.squareRoot() * Double(lossScale)
    guard norm.isFinite else { throw TrainingError.nonFinite(what: "gradient norm", value: norm) }
    var factor = lossScale
    if maxNorm > 0, norm > Double(maxNorm) { factor = Float(Double(maxNorm) / (norm + 1e-6)) * lossScale }
    if factor != 1 {
        for p in parameters { try p.backend.scale(p.gradient, by: factor) }
    }
    return norm
}

extension [Parameter] {
    /// The parameters by the backend that holds them, in order of first appearance.
    func groupedByBackend() -> [(backend: Backend, parameters: [Parameter])] {
        var groups: [(backend: Backend, parameters: [Parameter])] = []
        for p in self {
            if let i = groups.firstIndex(where: { $0.backend === p.backend }) {
                groups[i].parameters.append(p)
            } else {
                groups.append((p.backend, [p]))
            }
        }
        return groups
    }
}

/// Training stopped because something it computed is unusable.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFinite(what: String, value: Double)
    case diverged(epoch: Int, step: Int, loss: Double, lastCheckpoint: String?)

    public var description: String {
        switch self {
        case .nonFinite(let what, let value):
            "\(what) is \(value)"
        case .diverged(let epoch, let step, let loss, let lastCheckpoint):
            "training diverged: loss is \(loss) at epoch \(epoch), step \(step); "
                + (lastCheckpoint.map { "the last good checkpoint is \($0), left unchanged" } ?? "no checkpoint was written")
                + ". Try a lower learning rate or stronger clipping."
        }
    }
}
