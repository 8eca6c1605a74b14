import Foundation

/// A `TranslationModel` as beam search sees it (`StepwiseTranslator`): the encoder run once over a
/// batch of sources, then the decoder advanced one token for R hypotheses at a time, every row in
/// one step of device work per layer.
///
/// The state stays on the model's backends (each layer's h and c, R×H, on that layer's backend);
/// only the log-probabilities (R×V) come back to the host, where the shards' logits are joined and
/// normalised (log-softmax in double precision).
public final class ModelTranslator: StepwiseTranslator {
    /// Every decoder layer's (h, c) for R hypotheses, R×H each on the layer's backend. Each step and
    /// selection makes new tensors, so a state stays valid while the search holds it.
    public struct State {
        let layers: [(hidden: Tensor, cell: Tensor)]
        /// R: the hypotheses it holds.
        public let rows: Int
    }

    public let model: TranslationModel
    private let transport: Transport
    private var workspace = Workspace()

    public init(model: TranslationModel) {
        self.model = model
        transport = DeviceTransport()
    }

    public var targetVocabularySize: Int { model.configuration.targetVocabularySize }

    /// Pads `sources` (in reading order; reversed here when the model was trained on reversed
    /// sources) into one batch, runs the encoder and takes each source's state at its last token.
    /// - Throws: `invalidArgument` for no sources, an empty source or a token outside the source vocabulary.
    public func encode(_ sources: [[Int32]]) throws -> State {
        guard !sources.isEmpty else { throw CLTrainError.invalidArgument("there are no sources to encode") }
        let v = model.configuration.sourceVocabularySize
        if let bad = sources.firstIndex(where: { $0.contains { !(0..<Int32(clamping: v)).contains($0) } }) {
            throw CLTrainError.invalidArgument("source \(bad) holds a token outside the source vocabulary 0..<\(v)")
        }
        let batcher = try TranslationBatcher(pairs: sources.map { EncodedPair(source: $0, target: []) }, batchSize: sources.count,
                                             reverseSource: model.configuration.reverseSource, seed: 0)
        let batch = batcher.batch(of: Array(sources.indices))
        var noDropout = SplitMix64(seed: 0)
        let pass = try StackPass(model.encoder, name: "translator.encoder", tokens: batch.sourceTokens, steps: batch.sourceSteps,
                                 batch: batch.batch, training: false, dropout: 0, generator: &noDropout, transport: transport,
                                 workspace: &workspace)
        let zero = try model.encoder.layers.map { layer in
            (try layer.backend.makeTensor([batch.batch, model.configuration.hiddenSize], filledWith: 0),
             try layer.backend.makeTensor([batch.batch, model.configuration.hiddenSize], filledWith: 0))
        }
        try pass.forward(initialStates: zero)
        let states = try newState(rows: batch.batch)
        try pass.gatherStates(TranslationExecutor.finalStateRows(batch), into: states.layers, workspace: &workspace)
        return states
    }

    /// Embeds `tokens` (R, one per row of `state`), runs one step of every decoder layer from the
    /// state, and returns log softmax of the output layer (R×V, row-major) with the new state.
    /// - Throws: `invalidArgument` unless there is one token per row, each in the target vocabulary.
    public func step(_ tokens: [Int32], from state: State) throws -> (logProbabilities: [Float], state: State) {
        let r = tokens.count, c = model.configuration
        guard r == state.rows, r > 0 else {
            throw CLTrainError.invalidArgument("\(r) tokens for a decoder state of \(state.rows) rows")
        }
        if let bad = tokens.first(where: { !(0..<Int32(clamping: c.targetVocabularySize)).contains($0) }) {
            throw CLTrainError.invalidArgument("token \(bad) is outside the target vocabulary 0..<\(c.targetVocabularySize)")
        }
        let layers = model.decoder.layers
        let ids = try workspace.indices("translator.tokens", tokens, on: model.decoder.embedding.backend)
        var input = try workspace.tensor("translator.embedded", [r, c.embeddingSize], on: model.decoder.embedding.backend)   // (R×E)
        try model.decoder.embedding.forward(ids, into: input)
        let next = try newState(rows: r)
        for (l, layer) in layers.enumerated() {
            if l > 0 {
                let arriving = try workspace.tensor("translator.input\(l)", [r, c.hiddenSize], on: layer.backend)   // (R×H)
                try transport.move(next.layers[l - 1].hidden, from: layers[l - 1].backend, into: arriving, on: layer.backend)
                input = arriving
            }
            let hidden = try layer.forward(input: input, steps: 1, batch: r, initialHidden: state.layers[l].hidden,
                                           initialCell: state.layers[l].cell)
            try layer.backend.copy(hidden, to: next.layers[l].hidden)
            guard let cell = layer.cells else { throw CLTrainError.invalidArgument("decoder layer \(l) has no cell state after its step") }
            try layer.backend.copy(cell, to: next.layers[l].cell)
        }
        let top = layers[layers.count - 1]
        let shipment = try transport.send(next.layers[layers.count - 1].hidden, from: top.backend, to: model.output.map(\.backend))
        let logits = try model.output.enumerated().map { s, shard in
            var x = shipment.source
            if shard.backend !== top.backend {
                x = try workspace.tensor("translator.top\(s)", [r, c.hiddenSize], on: shard.backend)
                try transport.receive(shipment, into: x, on: shard.backend)
            }
            let out = try workspace.tensor("translator.logits\(s)", [r, shard.weight.shape[0]], on: shard.backend)   // (R×V_s)
            try shard.forward(x, into: out)
            return try shard.backend.download(out)
        }
        return (Self.logSoftmax(shards: logits, rows: r), next)
    }

    /// Rows `rows` of `state`, in that order (repeats allowed), gathered on each layer's backend.
    /// - Throws: `invalidArgument` for no rows or a row outside 0..<R.
    public func select(_ rows: [Int], of state: State) throws -> State {
        guard !rows.isEmpty else { throw CLTrainError.invalidArgument("select needs at least one row") }
        if let bad = rows.first(where: { !(0..<state.rows).contains($0) }) {
            throw CLTrainError.invalidArgument("row \(bad) is outside the state's 0..<\(state.rows)")
        }
        let selected = try newState(rows: rows.count)
        for (l, layer) in model.decoder.layers.enumerated() {
            let indices = try workspace.indices("translator.select", rows.map { Int32($0) }, on: layer.backend)
            try layer.backend.embeddingForward(table: state.layers[l].hidden, indices: indices, output: selected.layers[l].hidden)
            try layer.backend.embeddingForward(table: state.layers[l].cell, indices: indices, output: selected.layers[l].cell)
        }
        return selected
    }

    /// Fresh R×H tensors for every layer's (h, c).
    private func newState(rows: Int) throws -> State {
        let shape = [rows, model.configuration.hiddenSize]
        return State(layers: try model.decoder.layers.map { layer in
            (try layer.backend.makeTensor(shape: shape, elementType: .float32),
             try layer.backend.makeTensor(shape: shape, elementType: .float32))
        }, rows: rows)
    }

    /// Row-wise log softmax over the shards' logits joined by columns (each R×V_s, row-major).
    static func logSoftmax(shards: [[Float]], rows: Int) -> [Float] {
        var result: [Float] = []
        result.reserveCapacity(shards.reduce(0) { $0 + $1.count })
        for r in 0..<rows {
            let row = shards.flatMap { shard in
                let width = shard.count / rows
                return shard[r * width..<(r + 1) * width]
            }
            let m = Double(row.max() ?? 0)
            let logZ = m + log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
            result += row.map { Float(Double($0) - logZ) }
        }
        return result
    }
}
