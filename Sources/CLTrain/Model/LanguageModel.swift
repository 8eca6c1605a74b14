/// An LSTM language model on one backend: nn.Embedding → nn.LSTM (L layers) → nn.Linear, trained
/// with softmax cross-entropy by truncated backpropagation through time.
///
/// Shapes: T steps, B sequences, time-major rows (row t·B + b). The hidden and cell state of every
/// layer is carried from one window to the next (`carriedState`), as in Zaremba et al. (2014).
public final class LanguageModel {
    public let configuration: ModelConfiguration
    public let backend: Backend
    let embedding: EmbeddingLayer
    let lstm: [LSTMLayer]
    let decoder: LinearLayer
    /// In PyTorch state_dict order: embedding, each layer's W_ih, W_hh, b_ih, b_hh, decoder.
    public let parameters: [Parameter]

    /// Per layer: (h, c), each B×H. Reset to zeros when the batch size changes.
    private(set) var carriedState: [(hidden: Tensor, cell: Tensor)] = []
    /// Dropout masks come from this generator, so runs are reproducible on any backend.
    var dropoutGenerator: SplitMix64
    private var workspace = Workspace()

    public init(configuration: ModelConfiguration, backend: Backend, seed: UInt64 = 1) throws {
        try configuration.validate()
        self.configuration = configuration
        self.backend = backend
        let c = configuration
        embedding = try EmbeddingLayer(vocabularySize: c.vocabularySize, width: c.embeddingSize, backend: backend)
        lstm = try (0..<c.layers).map { l in
            try LSTMLayer(index: l, inputSize: l == 0 ? c.embeddingSize : c.hiddenSize, hiddenSize: c.hiddenSize, backend: backend)
        }
        decoder = try LinearLayer(name: "decoder", inputSize: c.hiddenSize, outputSize: c.vocabularySize, backend: backend)
        parameters = [embedding.weight] + lstm.flatMap(\.parameters) + [decoder.weight, decoder.bias]
        dropoutGenerator = SplitMix64(seed: seed ^ 0x6472_6f70_6f75_74)   // "dropout"
        try initializeWeights(seed: seed)
    }

    /// Every weight uniform in [−range, range], as Sutskever et al. (2014) initialise (range 0.08).
    /// Drawn on the host in parameter order, so every backend starts from identical weights.
    public func initializeWeights(seed: UInt64, range: Float = 0.08) throws {
        var generator = SplitMix64(seed: seed)
        for parameter in parameters {
            let values = (0..<parameter.count).map { _ in generator.uniform() * range }
            try backend.upload(values, to: parameter.value)
        }
    }

    public func zeroGradients() throws {
        for parameter in parameters { try backend.fill(parameter.gradient, with: 0) }
    }

    /// Zeroes the carried state for `batch` sequences.
    public func resetState(batch: Int) throws {
        carriedState = try lstm.map { _ in
            let h = try backend.makeTensor(shape: [batch, configuration.hiddenSize], elementType: .float32)
            let c = try backend.makeTensor(shape: [batch, configuration.hiddenSize], elementType: .float32)
            try backend.fill(h, with: 0)
            try backend.fill(c, with: 0)
            return (h, c)
        }
    }

    /// One window of training: forward, loss, backward. Gradients are ADDED to the parameters'
    /// gradient tensors (call `zeroGradients()` first). Returns the mean cross-entropy over the
    /// T·B targets. The carried state advances to the end of the window.
    public func trainingStep(_ window: TokenWindow) throws -> Double {
        try run(window, training: true).sum / Double(window.inputs.count)
    }

    /// Summed cross-entropy over the window without gradients or dropout (for validation and
    /// test perplexity); the carried state advances.
    public func evaluate(_ window: TokenWindow) throws -> (sum: Double, count: Int) {
        (try run(window, training: false).sum, window.inputs.count)
    }

    /// The next-token logits (B×V) after feeding `window` (no gradients, state advances). Used for sampling.
    public func logits(after window: TokenWindow) throws -> [Float] {
        let logits = try forward(window, training: false).logits
        try advanceState(window)
        return try backend.download(logits.rows((window.steps - 1) * window.batch..<window.steps * window.batch))
    }

    // MARK: Forward and backward

    private struct ForwardResult {
        let ids: IndexTensor
        let layerInputs: [Tensor]   // input of each LSTM layer (after dropout)
        let masks: [Tensor?]        // dropout mask applied to each layer's input (nil: none)
        let top: Tensor             // (T·B×H) input of the decoder
        let logits: Tensor          // (T·B×V)
        let initialState: [(hidden: Tensor, cell: Tensor)]
    }

    private func run(_ window: TokenWindow, training: Bool) throws -> (sum: Double, count: Int) {
        let forward = try forward(window, training: training)
        let rows = window.steps * window.batch
        let targets = try backend.makeIndices(window.targets)
        let losses = try workspace.tensor("losses", [rows], on: backend)
        // The gradient overwrites the logits, which are not needed after this.
        try backend.softmaxCrossEntropy(logits: forward.logits, targets: targets, ignoreIndex: -1, losses: losses,
                                        gradient: training ? forward.logits : nil, gradientScale: 1 / Float(rows))
        if training { try backward(window, forward) }
        let sum = try backend.download(losses).reduce(0.0) { $0 + Double($1) }
        try advanceState(window)
        return (sum, rows)
    }

    private func forward(_ window: TokenWindow, training: Bool) throws -> ForwardResult {
        let (steps, batch) = (window.steps, window.batch)
        let rows = steps * batch
        let c = configuration
        if carriedState.first?.hidden.shape[0] != batch { try resetState(batch: batch) }

        let ids = try backend.makeIndices(window.inputs)
        let embedded = try workspace.tensor("embedded", [rows, c.embeddingSize], on: backend)   // (T·B×E)
        try embedding.forward(ids, into: embedded)

        var inputs: [Tensor] = [], masks: [Tensor?] = []
        var x = embedded
        for (l, layer) in lstm.enumerated() {
            var mask: Tensor? = nil
            if training, c.dropout > 0, l > 0 {
                // x = h_{l−1} ⊙ mask, with mask entries 0 or 1/(1−p) (inverted dropout).
                let keep = 1 - c.dropout
                let values = (0..<x.count).map { _ in dropoutGenerator.unitFloat() < keep ? 1 / keep : 0 }
                let m = try workspace.tensor("mask\(l)", x.shape, on: backend)
                try backend.upload(values, to: m)
                let dropped = try workspace.tensor("dropped\(l)", x.shape, on: backend)
                try backend.copy(x, to: dropped)
                try backend.multiply(dropped, by: m)
                x = dropped
                mask = m
            }
            inputs.append(x)
            masks.append(mask)
            x = try layer.forward(input: x, steps: steps, batch: batch,
                                  initialHidden: carriedState[l].hidden, initialCell: carriedState[l].cell)
        }
        let logits = try workspace.tensor("logits", [rows, c.vocabularySize], on: backend)   // (T·B×V)
        try decoder.forward(x, into: logits)
        return ForwardResult(ids: ids, layerInputs: inputs, masks: masks, top: x, logits: logits, initialState: carriedState)
    }

    /// Expects `forward.logits` to hold ∂L/∂logits.
    private func backward(_ window: TokenWindow, _ forward: ForwardResult) throws {
        let (steps, batch) = (window.steps, window.batch)
        let rows = steps * batch
        let c = configuration
        var outputGradient = try workspace.tensor("gradientTop", [rows, c.hiddenSize], on: backend)
        try decoder.backward(input: forward.top, outputGradient: forward.logits, inputGradient: outputGradient)
        for l in stride(from: lstm.count - 1, through: 0, by: -1) {
            let width = l == 0 ? c.embeddingSize : c.hiddenSize
            // Two alternating buffers per width: layer l reads l+1's gradient and writes its own.
            let inputGradient = try workspace.tensor("gradient\(l % 2)x\(width)", [rows, width], on: backend)
            try lstm[l].backward(input: forward.layerInputs[l], steps: steps, batch: batch,
                                 initialHidden: forward.initialState[l].hidden, initialCell: forward.initialState[l].cell,
                                 outputGradient: outputGradient, inputGradient: inputGradient)
            if let mask = forward.masks[l] { try backend.multiply(inputGradient, by: mask) }
            outputGradient = inputGradient
        }
        try embedding.backward(forward.ids, outputGradient: outputGradient)
    }

    /// The last step's (h, c) of every layer become the next window's initial state.
    private func advanceState(_ window: TokenWindow) throws {
        let last = (window.steps - 1) * window.batch..<window.steps * window.batch
        for (l, layer) in lstm.enumerated() {
            guard let hiddens = layer.hiddens, let cells = layer.cells else { continue }
            try backend.copy(hiddens.rows(last), to: carriedState[l].hidden)
            try backend.copy(cells.rows(last), to: carriedState[l].cell)
        }
    }
}

/// T steps of B token sequences, time-major: inputs[t·B + b] is sequence b's token at step t and
/// targets[t·B + b] the token that follows it.
public struct TokenWindow: Sendable, Equatable {
    public let inputs: [Int32]
    public let targets: [Int32]
    public let steps: Int
    public let batch: Int

    public init(inputs: [Int32], targets: [Int32], steps: Int, batch: Int) throws {
        guard steps > 0, batch > 0, inputs.count == steps * batch, targets.count == inputs.count else {
            throw CLTrainError.shapeMismatch(operation: "TokenWindow",
                detail: "\(inputs.count) inputs and \(targets.count) targets for \(steps) steps × \(batch) sequences")
        }
        self.inputs = inputs
        self.targets = targets
        self.steps = steps
        self.batch = batch
    }
}
