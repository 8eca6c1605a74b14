/// One batch on its way through an `LSTMStack` (the encoder or the decoder of a translation
/// model), sequentially: the embedding of its tokens, dropout masks between its layers, each
/// layer's forward over all S steps from given initial states, and, when training, the backward
/// through every layer and the embedding's gradient. Activations and gradients move between the
/// layers' backends through the `Transport`; the pass itself never copies between devices.
///
/// Rows are time-major: row t·B + b is sequence b at step t.
final class StackPass {
    let stack: LSTMStack
    let transport: Transport
    let steps: Int
    let batch: Int
    let ids: IndexTensor              // (S·B) the tokens, on layer 0's backend
    let layerInputs: [Tensor]         // each layer's input (S·B×In, after dropout), on its backend
    let masks: [Tensor?]              // the dropout mask applied to each layer's input (nil: none)
    /// When training, per layer on its backend: ∂L/∂h from above (S·B×H) and ∂L/∂input (S·B×In).
    let outputGradients: [Tensor]
    let inputGradients: [Tensor]

    /// Embeds `tokens` ([S, B]) and prepares every layer's buffers. Masks (entries 0 or 1/(1−p))
    /// go on the inputs of layers 1..<L when training with `dropout` > 0, drawn from `generator`
    /// in layer order, each mask the next S·B·H draws.
    /// - Parameter name: distinguishes this stack's buffers in `workspace` ("encoder", "decoder").
    init(_ stack: LSTMStack, name: String, tokens: [Int32], steps: Int, batch: Int, training: Bool, dropout: Float,
         generator: inout SplitMix64, transport: Transport, workspace: inout Workspace) throws {
        let rows = try Checked.product(steps, batch, what: "\(name) rows (steps × batch)")
        guard tokens.count == rows, rows > 0 else {
            throw CLTrainError.shapeMismatch(operation: "\(name) pass", detail: "\(tokens.count) tokens for \(steps) steps × \(batch) sequences")
        }
        let layers = stack.layers
        let embeddingBackend = stack.embedding.backend
        let width = stack.embedding.weight.shape[1], hidden = layers[0].hiddenSize
        ids = try workspace.indices("\(name).ids", tokens, on: embeddingBackend)
        let embedded = try workspace.tensor("\(name).embedded", [rows, width], on: embeddingBackend)   // (S·B×E)
        try stack.embedding.forward(ids, into: embedded)
        masks = try layers.indices.map { l in
            guard training, dropout > 0, l > 0 else { return nil }
            let keep = 1 - dropout, backend = layers[l].backend
            let mask = try workspace.tensor("\(name).mask\(l)", [rows, hidden], on: backend)   // (S·B×H)
            try backend.dropoutMask(mask, keepProbability: keep, scale: 1 / keep, generatorState: generator.state)
            generator.skip(mask.count)
            return mask
        }
        for layer in layers { try layer.prepare(steps: steps, batch: batch) }
        layerInputs = try [embedded] + (1..<layers.count).map { l in
            try workspace.tensor("\(name).input\(l)", [rows, hidden], on: layers[l].backend)
        }
        if training {
            outputGradients = try layers.indices.map { l in
                try workspace.tensor("\(name).outputGradient\(l)", [rows, hidden], on: layers[l].backend)
            }
            inputGradients = try layers.indices.map { l in
                try workspace.tensor("\(name).inputGradient\(l)", [rows, l == 0 ? width : hidden], on: layers[l].backend)
            }
        } else {
            (outputGradients, inputGradients) = ([], [])
        }
        self.stack = stack
        self.transport = transport
        self.steps = steps
        self.batch = batch
    }

    /// Layer l's hidden states (S·B×H, its output) and cell states, on its backend.
    func outputs(ofLayer l: Int) throws -> (hiddens: Tensor, cells: Tensor) {
        let layer = stack.layers[l]
        guard let cells = layer.cells else { throw CLTrainError.invalidArgument("stack layer \(l) read before its forward") }
        return (try layer.buffersOutput(), cells)
    }

    /// Each layer's (h, c) at `rows` (indices into its S·B rows, one per sequence) into `states[l]`
    /// (N×H each, on the layer's backend): `embeddingForward` over the states is a row gather.
    func gatherStates(_ rows: [Int32], into states: [(hidden: Tensor, cell: Tensor)], workspace: inout Workspace) throws {
        for (l, layer) in stack.layers.enumerated() {
            let indices = try workspace.indices("finalRows", rows, on: layer.backend)
            let (hiddens, cells) = try outputs(ofLayer: l)
            try layer.backend.embeddingForward(table: hiddens, indices: indices, output: states[l].hidden)
            try layer.backend.embeddingForward(table: cells, indices: indices, output: states[l].cell)
        }
    }

    /// Every layer over all steps, layer 0 first, each from `initialStates[l]` (B×H each, on its backend).
    func forward(initialStates: [(hidden: Tensor, cell: Tensor)]) throws {
        let layers = stack.layers
        for (l, layer) in layers.enumerated() {
            let b = layer.backend
            if l > 0 {
                try transport.move(layers[l - 1].buffersOutput(), from: layers[l - 1].backend, into: layerInputs[l], on: b)
            }
            if let mask = masks[l] { try b.multiply(layerInputs[l], by: mask) }
            try layer.forward(steps: 0..<steps, input: layerInputs[l], initialHidden: initialStates[l].hidden,
                              initialCell: initialStates[l].cell)
        }
    }

    /// The backward through every layer, top first, once ∂L/∂h of the top layer is in
    /// `outputGradients[L−1]`; then the embedding's gradient. Adds into every parameter's gradient.
    /// - Parameters:
    ///   - outside: per layer, before its backward: adds what enters it from outside the stack
    ///     into its ∂L/∂h (S·B×H, after the layer above's part has arrived) and returns its ∂L/∂c
    ///     from outside (S·B×H, or nil: none). The encoder's: the decoder's ∂h0, ∂c0 at each
    ///     sequence's last real step.
    ///   - initialStateGradients: per layer, where ∂L/∂h0 and ∂L/∂c0 (B×H) go (nil: not wanted).
    func backward(initialStates: [(hidden: Tensor, cell: Tensor)],
                  outside: ((Int, Tensor) throws -> Tensor?)? = nil,
                  initialStateGradients: [(hidden: Tensor, cell: Tensor)]? = nil) throws {
        let layers = stack.layers
        for l in layers.indices.reversed() {
            let layer = layers[l], b = layer.backend
            if l < layers.count - 1 {
                try transport.move(inputGradients[l + 1], from: layers[l + 1].backend, into: outputGradients[l], on: b)
            }
            let cellGradient = try outside?(l, outputGradients[l])
            try layer.backward(steps: 0..<steps, windowSteps: steps, initialCell: initialStates[l].cell,
                               outputGradient: outputGradients[l], inputGradient: inputGradients[l],
                               cellGradient: cellGradient, initialStateGradient: initialStateGradients?[l])
            if let mask = masks[l] { try b.multiply(inputGradients[l], by: mask) }
            try layer.finishBackward(windowSteps: steps, input: layerInputs[l], initialHidden: initialStates[l].hidden)
        }
        try stack.embedding.backward(ids, outputGradient: inputGradients[0])
    }
}
