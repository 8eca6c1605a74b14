/// The shape of a language model: embedding → L stacked LSTM layers → linear decoder → softmax.
public struct ModelConfiguration: Codable, Equatable, Sendable, CustomStringConvertible {
    /// V: vocabulary size (rows of the embedding and of the decoder).
    public var vocabularySize: Int
    /// E: embedding width, the input width of the first LSTM layer.
    public var embeddingSize: Int
    /// H: units per LSTM layer.
    public var hiddenSize: Int
    /// L: stacked LSTM layers.
    public var layers: Int
    /// Probability of zeroing an LSTM layer's output before the next layer (PyTorch nn.LSTM's
    /// `dropout`: between layers, not after the last). 0 disables it.
    public var dropout: Float

    public init(vocabularySize: Int, embeddingSize: Int, hiddenSize: Int, layers: Int, dropout: Float = 0) {
        self.vocabularySize = vocabularySize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.dropout = dropout
    }

    public func validate() throws {
        guard vocabularySize > 0, embeddingSize > 0, hiddenSize > 0, layers > 0 else {
            throw CLTrainError.invalidArgument("model sizes must be positive: \(self)")
        }
        guard (0..<1).contains(dropout) else {
            throw CLTrainError.invalidArgument("dropout must be in [0, 1), got \(dropout)")
        }
    }

    /// Number of trainable floats.
    public var parameterCount: Int {
        let v = vocabularySize, e = embeddingSize, h = hiddenSize
        let lstm = (0..<layers).reduce(0) { sum, l in sum + 4 * h * ((l == 0 ? e : h) + h + 2) }
        return v * e + lstm + v * h + v
    }

    public var description: String {
        "V \(vocabularySize), E \(embeddingSize), H \(hiddenSize), L \(layers), dropout \(dropout)"
    }
}
