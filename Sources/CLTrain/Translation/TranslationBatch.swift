/// One batch of B sentence pairs for an encoder–decoder, time-major like the language model's
/// `TokenWindow`: element t·B + b of a [T, B] buffer is sequence b at step t.
///
/// The rule a model follows with it:
/// - Encoder: run S = `sourceSteps` steps over `sourceTokens` from a zero state. Each source is
///   right-padded with `<pad>` after its own `sourceLengths[b]` real tokens (reversed first, when
///   the batcher reverses), so sequence b's encoder final state — every layer's h and c — is the
///   state after step `sourceLengths[b] − 1`, its last real token, and never one at a padding step.
///   The padding steps come after it and cannot change it; their outputs go nowhere, and in the
///   backward pass the decoder's ∂h, ∂c for sequence b enter at that step (`sourceMask` is 1 at
///   real steps and 0 at padding, for a model that would rather mask than gather).
/// - Decoder: start from those states and read `targetInputs` (`<bos> y₁ … yₙ`, then `<pad>`);
///   the cross-entropy targets are `targetOutputs` (`y₁ … yₙ <eos>`, then `ignoreIndex`), so the
///   padding steps, all after `<eos>`, carry no loss and no gradient (teacher forcing).
public struct TranslationBatch: Sendable, Equatable {
    /// The target value of a padding step, which the loss skips (the model's softmax ignore index).
    public static let ignoreIndex: Int32 = -1

    /// B: sentence pairs in this batch (`batchSize`, or fewer in an epoch's last batch).
    public let batch: Int
    /// S: the longest source's tokens.
    public let sourceSteps: Int
    /// T: the longest target's tokens + 1 (for `<bos>` on input, `<eos>` on output).
    public let targetSteps: Int
    /// [S, B] source token ids, `<pad>` after each sequence's length.
    public let sourceTokens: [Int32]
    /// [B] real source tokens of each sequence, 1…S; its encoder final state is at step length − 1.
    public let sourceLengths: [Int]
    /// [T, B] decoder inputs: `<bos>`, the target's ids, then `<pad>`.
    public let targetInputs: [Int32]
    /// [T, B] decoder targets: the target's ids, `<eos>`, then `ignoreIndex`.
    public let targetOutputs: [Int32]
    /// [B] decoder steps that count for each sequence: its target's tokens + 1 (the `<eos>`).
    public let targetLengths: [Int]
    /// [B] the index, in the batcher's pairs, of each column's pair (to write hypotheses in order).
    public let pairIndices: [Int]

    /// [S, B] 1 at a real source step, 0 at padding.
    public var sourceMask: [Float] {
        (0..<(sourceSteps * batch)).map { sourceLengths[$0 % batch] > $0 / batch ? 1 : 0 }
    }

    /// Tokens that count in the loss: Σ targetLengths.
    public var targetTokenCount: Int { targetLengths.reduce(0, +) }
}
