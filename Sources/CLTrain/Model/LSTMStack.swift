/// An embedding and L stacked LSTM layers, layer k on `backends[k]` and the embedding with layer 0:
/// either half of a `TranslationModel`, named as the PyTorch module `<module>.embedding`,
/// `<module>.rnn` (e.g. `encoder.rnn.weight_ih_l0`).
final class LSTMStack {
    let embedding: EmbeddingLayer
    let layers: [LSTMLayer]

    init(module: String, vocabularySize: Int, embeddingSize: Int, hiddenSize: Int, backends: [Backend]) throws {
        guard let first = backends.first else { throw CLTrainError.invalidArgument("an LSTM stack needs at least one layer") }
        embedding = try EmbeddingLayer(vocabularySize: vocabularySize, width: embeddingSize, backend: first,
                                       name: "\(module).embedding")
        layers = try backends.enumerated().map { k, backend in
            try LSTMLayer(index: k, inputSize: k == 0 ? embeddingSize : hiddenSize, hiddenSize: hiddenSize, backend: backend,
                          module: "\(module).rnn")
        }
    }

    /// In state_dict order: the embedding, then each layer's W_ih, W_hh, b_ih, b_hh.
    var parameters: [Parameter] { [embedding.weight] + layers.flatMap(\.parameters) }
}
