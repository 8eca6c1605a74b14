/// A published recipe for an encoder–decoder, which `cltrain train --task translate --preset NAME`
/// fills in; every flag given explicitly overrides the preset's value, as with `TrainingPreset`.
public struct TranslationPreset: Equatable, Sendable {
    public enum Name: String, CaseIterable, Sendable {
        case sutskever2014Translate = "sutskever-2014-translate"
    }

    public let name: Name
    /// Where the values come from.
    public let source: String
    public let layers: Int
    public let hidden: Int
    public let embedding: Int
    public let sourceVocabulary: Int
    public let targetVocabulary: Int
    public let initScale: Float
    public let optimizer: OptimizerKind
    public let learningRate: Float
    /// Epochs before the first halving, epochs between halvings.
    public let decayStart: Double
    public let decayInterval: Double
    /// A decimal: the paper's 7.5 (`TranslationOptions.epochs`).
    public let epochs: Double
    public let batch: Int
    public let clip: Float

    public init(_ name: Name) {
        self.name = name
        switch name {
        case .sutskever2014Translate:
            // Sutskever, Vinyals & Le, "Sequence to Sequence Learning with Neural Networks" (2014), §3.4:
            // 4 layers of 1000 cells, 1000-dimensional embeddings, 160 000 source and 80 000 target
            // words, uniform ±0.08, SGD at 0.7 without momentum, halved every half epoch after 5
            // epochs, 7.5 epochs, batches of 128, the gradient's norm clipped at 5 (their gradient is
            // of the loss divided by the batch; CLTrain's is of the mean over target tokens).
            source = "Sutskever et al. 2014 (arXiv 1409.3215), §3.4"
            (layers, hidden, embedding, sourceVocabulary, targetVocabulary) = (4, 1000, 1000, 160_000, 80_000)
            (initScale, optimizer, learningRate, decayStart, decayInterval) = (0.08, .sgd, 0.7, 5, 0.5)
            (epochs, batch, clip) = (7.5, 128, 5)
        }
    }
}
