/// The shape of an encoder–decoder translation model (Sutskever et al. 2014, §3): a source
/// embedding → L stacked LSTM layers (the encoder), whose final (h, c) per layer start a decoder of
/// a target embedding → L stacked LSTM layers → linear → softmax over the target vocabulary.
public struct TranslationConfiguration: Codable, Equatable, Sendable, CustomStringConvertible {
    /// Rows of the encoder's embedding (specials included).
    public var sourceVocabularySize: Int
    /// Rows of the decoder's embedding and of its output layer (specials included).
    public var targetVocabularySize: Int
    /// E: width of both embeddings, the input width of each stack's first layer.
    public var embeddingSize: Int
    /// H: units per LSTM layer, in both stacks (the decoder starts from the encoder's states).
    public var hiddenSize: Int
    /// L: LSTM layers per stack.
    public var layers: Int
    /// Probability of zeroing a layer's output before the next layer of the same stack (nn.LSTM's
    /// `dropout`). 0 disables it.
    public var dropout: Float
    /// Whether the encoder reads each source last word first (the paper's reversal). A property of
    /// the trained model: translating with it must feed sources the way training did.
    public var reverseSource: Bool

    public init(sourceVocabularySize: Int, targetVocabularySize: Int, embeddingSize: Int, hiddenSize: Int, layers: Int,
                dropout: Float = 0, reverseSource: Bool = true) {
        self.sourceVocabularySize = sourceVocabularySize
        self.targetVocabularySize = targetVocabularySize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.dropout = dropout
        self.reverseSource = reverseSource
    }

    /// Each size against what the code can represent, named by the `cltrain` flag that sets it.
    public func validate() throws {
        let dimension = 1...Int(Int32.max), why = "BLAS and the OpenCL kernels take 32-bit dimensions"
        let vocabulary = (TranslationVocabulary.specials.count + 1)...Int(Int32.max)
        let vocabularyWhy = "the four specials (<unk>, <pad>, <bos>, <eos>) and at least one word; token ids are 32-bit"
        try InputNumber.check(sourceVocabularySize, "--source-vocab (source vocabulary size)", in: vocabulary, why: vocabularyWhy)
        try InputNumber.check(targetVocabularySize, "--target-vocab (target vocabulary size)", in: vocabulary, why: vocabularyWhy)
        try InputNumber.check(hiddenSize, "--hidden", in: dimension, why: why)
        try InputNumber.check(embeddingSize, "--embedding", in: dimension, why: why)
        try InputNumber.check(layers, "--layers", in: 1...Int(Int32.max), why: "stacked LSTM layers per stack")
        try InputNumber.check(dropout, "--dropout", in: .probabilityBelowOne,
                              why: "the probability of zeroing a unit; 1 would zero every one")
    }

    public var description: String {
        "source V \(sourceVocabularySize), target V \(targetVocabularySize), E \(embeddingSize), H \(hiddenSize), "
            + "L \(layers) + \(layers), dropout \(dropout), source \(reverseSource ? "reversed" : "in reading order")"
    }
}
