/// Token ids → vectors: nn.Embedding. weight (V×E).
final class EmbeddingLayer {
    let backend: Backend
    let weight: Parameter

    /// `name`: the module's, as a state_dict prefixes it ("embedding", "encoder.embedding", …).
    init(vocabularySize: Int, width: Int, backend: Backend, name: String = "embedding") throws {
        self.backend = backend
        weight = try Parameter(name: "\(name).weight", shape: [vocabularySize, width], backend: backend)
    }

    /// output (N×E) row n = weight row ids[n].
    func forward(_ ids: IndexTensor, into output: Tensor) throws {
        try backend.embeddingForward(table: weight.value, indices: ids, output: output)
    }

    /// weight.gradient rows ids[n] += outputGradient (N×E) row n.
    func backward(_ ids: IndexTensor, outputGradient: Tensor) throws {
        try backend.embeddingBackward(outputGradient: outputGradient, indices: ids, tableGradient: weight.gradient)
    }
}
