/// What the gradient is the gradient of. The reported loss and perplexity are per token either way;
/// only the size of the step that the learning rate and the clipping threshold act on differs.
public enum LossReduction: String, Codable, Sendable, CaseIterable {
    /// The mean cross-entropy over the window's T·B targets (PyTorch's word_language_model).
    case tokenMean = "token-mean"
    /// Summed over the T steps, averaged over the B sequences: the loss of Zaremba et al.'s code
    /// (TensorFlow's `sequence_loss(average_across_timesteps=False, average_across_batch=True)`
    /// then `reduce_sum`; the Lua code's per-step ClassNLLCriterion means, summed over steps) and
    /// of Sutskever et al. (2014, "divided by the size of the batch"). Its gradient is T times the
    /// token mean's, so their learning rate of 1 (or 0.7) means what it meant there.
    case sequenceSum = "sequence-sum"

    /// What turns the model's gradient of the token mean (scaled by 1 / `targets`, every target
    /// of the window) into this reduction's gradient: `targets` / B for the sequence sum.
    ///
    /// With ignored targets TensorFlow's version would divide each step by that step's unignored
    /// count; CLTrain's training windows ignore no target (`TokenStream` scores all T·B), where
    /// both are Σ cross-entropy / B and the factor is exactly T.
    public func gradientFactor(targets: Int, batch: Int) -> Float {
        switch self {
        case .tokenMean: 1
        case .sequenceSum: Float(Double(targets) / Double(max(batch, 1)))
        }
    }
}
