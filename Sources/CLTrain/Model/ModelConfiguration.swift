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
    /// Where `dropout` applies (nil: `[.between]`; optional so that checkpoints without it stay as they were).
    public var dropoutSites: [DropoutSite]?

    public init(vocabularySize: Int, embeddingSize: Int, hiddenSize: Int, layers: Int, dropout: Float = 0,
                dropoutSites: [DropoutSite]? = nil) {
        self.vocabularySize = vocabularySize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.dropout = dropout
        self.dropoutSites = dropoutSites
    }

    /// Whether training drops at `site`.
    public func drops(at site: DropoutSite) -> Bool { dropout > 0 && (dropoutSites ?? [.between]).contains(site) }

    /// Each size against what the code can represent, named by the `cltrain` flag that sets it
    /// (a checkpoint's sizes are the same flags' values). Whether the model fits in a device's
    /// memory is `MemoryEstimate`'s and `DeviceMemory.require`'s to say.
    public func validate() throws {
        let dimension = 1...Int(Int32.max), why = "BLAS and the OpenCL kernels take 32-bit dimensions"
        try InputNumber.check(vocabularySize, "--vocab (vocabulary size)", in: 2...Int(Int32.max),
                              why: "<unk> and at least one token; token ids are 32-bit")
        // --hidden first: --embedding defaults to it.
        try InputNumber.check(hiddenSize, "--hidden", in: dimension, why: why)
        try InputNumber.check(embeddingSize, "--embedding", in: dimension, why: why)
        try InputNumber.check(layers, "--layers", in: 1...Int(Int32.max), why: "stacked LSTM layers")
        try InputNumber.check(dropout, "--dropout", in: .probabilityBelowOne,
                              why: "the probability of zeroing a unit; 1 would zero every one")
    }

    /// Number of trainable floats (`Int.max` for a shape whose count overflows; `validate` and
    /// `MemoryEstimate` refuse those before anything uses it).
    public var parameterCount: Int { MemoryEstimate.parameterElements(self) }

    public var description: String {
        "V \(vocabularySize), E \(embeddingSize), H \(hiddenSize), L \(layers), dropout \(dropout)"
            + (dropout > 0 ? dropoutSites.map { " at " + $0.map(\.rawValue).joined(separator: ", ") } ?? "" : "")
    }
}
