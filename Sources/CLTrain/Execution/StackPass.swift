/// One batch on its way through an `LSTMStack` (the encoder or the decoder of a translation
/// model), as every translation executor runs it: `init` does what comes before any layer (the
/// embedding of its tokens, dropout masks between its layers, each layer's buffers); then layer
/// l's forward and backward over a run of steps of one micro-batch, in whatever order an
/// executor chooses (a layer's forward runs in time order, its backward runs in reverse, each
/// after the same rows of its neighbour); then `finishBackward` per layer and `embeddingBackward`.
/// `forward(initialStates:)` and `backward(…)` run the whole batch layer after layer.
///
/// Rows are in `MicroBatchLayout` order (time-major, row t·B + b, with one micro-batch).
/// Activations and gradients move between the layers' backends as a `Shipment` from the
/// `Transport`; the pass itself never copies between devices.
final class StackPass {
    let stack: LSTMStack
    /// "encoder" or "decoder": names its buffers and its spans in a trace.
    let name: String
    let transport: Transport
    let layout: MicroBatchLayout
    let ids: IndexTensor              // (S·B) the tokens in `layout` order, on layer 0's backend
    let layerInputs: [Tensor]         // each layer's input (S·B×In, after dropout), on its backend
    let masks: [Tensor?]              // the dropout mask applied to each layer's input (nil: none)
    /// When training, per layer on its backend: ∂L/∂h from above (S·B×H) and ∂L/∂input (S·B×In).
    let outputGradients: [Tensor]
    let inputGradients: [Tensor]

    var steps: Int { layout.steps }
    var batch: Int { layout.batch }

    /// Embeds `tokens` ([S, B], time-major) and prepares every layer's buffers for `microBatches`
    /// micro-batches. Masks (entries 0 or 1/(1−p)) go on the inputs of layers 1..<L when training
    /// with `dropout` > 0, drawn from `generator` in layer order, each mask the next S·B·H draws
    /// of the time-major mask whatever the layout.
    /// - Parameter name: distinguishes this stack's buffers in `workspace` ("encoder", "decoder").
    /// - Throws: `invalidArgument` unless `microBatches` divides `batch`.
    init(_ stack: LSTMStack, name: String, tokens: [Int32], steps: Int, batch: Int, microBatches: Int = 1, training: Bool,
         dropout: Float, generator: inout SplitMix64, transport: Transport, workspace: inout Workspace) throws {
        let rows = try Checked.product(steps, batch, what: "\(name) rows (steps × batch)")
        guard tokens.count == rows, rows > 0 else {
            throw CLTrainError.shapeMismatch(operation: "\(name) pass", detail: "\(tokens.count) tokens for \(steps) steps × \(batch) sequences")
        }
        let layout = try MicroBatchLayout(steps: steps, batch: batch, microBatches: microBatches)
        let layers = stack.layers
        let embeddingBackend = stack.embedding.backend
        let width = stack.embedding.weight.shape[1], hidden = layers[0].hiddenSize
        ids = try workspace.indices("\(name).ids", layout.reordered(tokens), on: embeddingBackend)
        let embedded = try workspace.tensor("\(name).embedded", [rows, width], on: embeddingBackend)   // (S·B×E)
        try stack.embedding.forward(ids, into: embedded)
        masks = try layers.indices.map { l in
            guard training, dropout > 0, l > 0 else { return nil }
            let backend = layers[l].backend
            let mask = try workspace.tensor("\(name).mask\(l)", [rows, hidden], on: backend)   // (S·B×H)
            try WindowPass.drawMask(mask, width: hidden, keep: 1 - dropout, layout: layout, globalBatch: batch, firstSequence: 0,
                                    on: backend, generator: &generator)
            return mask
        }
        for layer in layers { try layer.prepare(steps: steps, batch: batch, microBatches: microBatches) }
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
        self.name = name
        self.transport = transport
        self.layout = layout
    }

    /// Layer l's hidden states (S·B×H, its output) and cell states, on its backend.
    func outputs(ofLayer l: Int) throws -> (hiddens: Tensor, cells: Tensor) {
        let layer = stack.layers[l]
        guard let cells = layer.cells else { throw CLTrainError.invalidArgument("stack layer \(l) read before its forward") }
        return (try layer.buffersOutput(), cells)
    }

    // MARK: Per layer and run

    /// Layer l's forward over `run` of micro-batch m from `initialState` (B'×H each, the micro-batch's,
    /// on the layer's backend): for l > 0 its input rows arrive in `input` (layer l−1's output rows,
    /// sent to this layer's backend) and are masked by dropout; then the LSTM steps.
    func forward(layer l: Int, steps run: Range<Int>, microBatch m: Int = 0, input: Shipment?,
                 initialState: (hidden: Tensor, cell: Tensor)) throws {
        let layer = stack.layers[l], b = layer.backend
        let rows = layout.rows(m, run)
        if l > 0 {
            guard let input else { throw CLTrainError.invalidArgument("stack layer \(l)'s forward needs layer \(l - 1)'s output") }
            try transport.receive(input, into: layerInputs[l].rows(rows), on: b)
        }
        if let mask = masks[l] { try b.multiply(layerInputs[l].rows(rows), by: mask.rows(rows)) }
        try layer.forward(steps: run, microBatch: m, input: layerInputs[l], initialHidden: initialState.hidden,
                          initialCell: initialState.cell)
    }

    /// Layer l's backward over `run` of micro-batch m (its runs in reverse): for l < L−1 ∂L/∂h rows
    /// arrive in `outputGradient` (layer l+1's input gradient rows; the top layer's rows are in
    /// `outputGradients[L−1]` already, unless `outside` brings them), then the LSTM steps in
    /// reverse, and the input gradient rows are masked as the input was.
    /// - Parameters:
    ///   - outside: ∂L/∂h and ∂L/∂c entering from outside the stack (S·B×H each, on the layer's
    ///     backend; the encoder's: the decoder's ∂h0, ∂c0 at each sequence's last real step, zero
    ///     elsewhere): ∂h is added to the run's rows (the top layer's are it), ∂c enters the carry.
    ///   - initialCell: the micro-batch's c0 (B'×H).
    ///   - initialStateGradient: where the micro-batch's ∂L/∂h0 and ∂L/∂c0 go (B'×H each; nil: not wanted).
    func backward(layer l: Int, steps run: Range<Int>, microBatch m: Int = 0, outputGradient: Shipment?,
                  outside: (hidden: Tensor, cell: Tensor)? = nil, initialCell: Tensor,
                  initialStateGradient: (hidden: Tensor, cell: Tensor)? = nil) throws {
        let layer = stack.layers[l], b = layer.backend
        let rows = layout.rows(m, run), top = stack.layers.count - 1
        let destination = try outputGradients[l].rows(rows)
        if l < top {
            guard let outputGradient else { throw CLTrainError.invalidArgument("stack layer \(l)'s backward needs layer \(l + 1)'s gradient") }
            try transport.receive(outputGradient, into: destination, on: b)
            if let outside { try b.axpy(alpha: 1, outside.hidden.rows(rows), destination) }
        } else if let outside, outside.hidden !== outputGradients[l] {
            try b.copy(outside.hidden.rows(rows), to: destination)
        }
        try layer.backward(steps: run, microBatch: m, windowSteps: steps, initialCell: initialCell,
                           outputGradient: outputGradients[l], inputGradient: inputGradients[l], cellGradient: outside?.cell,
                           initialStateGradient: initialStateGradient)
        if let mask = masks[l] { try b.multiply(inputGradients[l].rows(rows), by: mask.rows(rows)) }
    }

    /// Layer l's weight gradients, once every run of every micro-batch is through `backward`;
    /// `initialHidden` is the whole batch's h0 (B×H).
    func finishBackward(layer l: Int, initialHidden: Tensor) throws {
        try stack.layers[l].finishBackward(windowSteps: steps, input: layerInputs[l], initialHidden: initialHidden)
    }

    /// The embedding's gradient from layer 0's input gradient (they share a backend).
    func embeddingBackward() throws {
        try stack.embedding.backward(ids, outputGradient: inputGradients[0])
    }

    // MARK: The hand-over between the stacks

    /// Layer l's (h, c) at `rows` (indices into its S·B rows, one per sequence of a micro-batch)
    /// into `state` (B'×H each, on the layer's backend): `embeddingForward` over the states is a row gather.
    func gatherState(layer l: Int, rows: IndexTensor, into state: (hidden: Tensor, cell: Tensor)) throws {
        let backend = stack.layers[l].backend
        let (hiddens, cells) = try outputs(ofLayer: l)
        try backend.embeddingForward(table: hiddens, indices: rows, output: state.hidden)
        try backend.embeddingForward(table: cells, indices: rows, output: state.cell)
    }

    /// Per layer, on its backend, where ∂L/∂h and ∂L/∂c from outside the stack are scattered
    /// (`scatterStateGradient`; S·B×H each): the top layer's ∂h goes straight into its
    /// `outputGradients` (nothing comes from above it), the others' into buffers of their own, since
    /// the layer above's gradient arrives into theirs run by run.
    func outsideGradients(_ name: String, workspace: inout Workspace) throws -> [(hidden: Tensor, cell: Tensor)] {
        let top = stack.layers.count - 1
        return try stack.layers.enumerated().map { l, layer in
            let shape = [steps * batch, layer.hiddenSize]
            let hidden = l == top ? outputGradients[l] : try workspace.tensor("\(name).outsideHidden\(l)", shape, on: layer.backend)
            return (hidden, try workspace.tensor("\(name).outsideCell\(l)", shape, on: layer.backend))
        }
    }

    /// The other way, for layer l's backward: micro-batch m's rows of `outside` (S·B×H each) zeroed,
    /// then `gradient` (B'×H each: ∂L/∂h0, ∂L/∂c0 of the stack the states went to) added at `rows`
    /// (`embeddingBackward`, a scatter-add; each row gets one sequence's).
    func scatterStateGradient(layer l: Int, microBatch m: Int, _ gradient: (hidden: Tensor, cell: Tensor), rows: IndexTensor,
                              into outside: (hidden: Tensor, cell: Tensor)) throws {
        let backend = stack.layers[l].backend, all = layout.rows(m, 0..<steps)
        for (part, table) in [(gradient.hidden, outside.hidden), (gradient.cell, outside.cell)] {
            try backend.fill(table.rows(all), with: 0)
            try backend.embeddingBackward(outputGradient: part, indices: rows, tableGradient: table)
        }
    }

    // MARK: The whole batch, layer after layer (one micro-batch)

    /// Every layer over all steps, layer 0 first, each from `initialStates[l]` (B×H each, on its
    /// backend); each a span of `trace` ("encoder layer 1 forward, steps 0..<S").
    func forward(initialStates: [(hidden: Tensor, cell: Tensor)], trace: ExecutionTrace? = nil) throws {
        let layers = stack.layers
        for l in layers.indices {
            try trace.span("\(name) layer \(l) forward, steps 0..<\(steps)", arguments: arguments(l)) {
                let input = l > 0 ? try transport.send(layers[l - 1].buffersOutput(), from: layers[l - 1].backend, to: [layers[l].backend]) : nil
                try forward(layer: l, steps: 0..<steps, input: input, initialState: initialStates[l])
            }
        }
    }

    /// A whole-window span's arguments for layer l.
    private func arguments(_ l: Int) -> [String: TraceArgument] {
        taskArguments(stack.layers[l].backend, rows: 0..<steps * batch, width: stack.layers[l].hiddenSize)
    }

    /// Each layer's (h, c) at `rows` (indices into its S·B rows, one per sequence) into `states[l]`
    /// (B×H each, on the layer's backend).
    func gatherStates(_ rows: [Int32], into states: [(hidden: Tensor, cell: Tensor)], workspace: inout Workspace) throws {
        for (l, layer) in stack.layers.enumerated() {
            try gatherState(layer: l, rows: workspace.indices("finalRows", rows, on: layer.backend), into: states[l])
        }
    }

    /// The backward through every layer, top first, once ∂L/∂h of the top layer is in
    /// `outputGradients[L−1]` (or `outside`'s); then the embedding's gradient. Adds into every
    /// parameter's gradient. `outside[l]` and `initialStateGradients[l]` as in `backward(layer:…)`.
    func backward(initialStates: [(hidden: Tensor, cell: Tensor)], outside: [(hidden: Tensor, cell: Tensor)]? = nil,
                  initialStateGradients: [(hidden: Tensor, cell: Tensor)]? = nil, trace: ExecutionTrace? = nil) throws {
        let layers = stack.layers
        for l in layers.indices.reversed() {
            try trace.span("\(name) layer \(l) backward, steps 0..<\(steps)", arguments: arguments(l)) {
                let above = l < layers.count - 1
                    ? try transport.send(inputGradients[l + 1], from: layers[l + 1].backend, to: [layers[l].backend]) : nil
                try backward(layer: l, steps: 0..<steps, outputGradient: above, outside: outside?[l], initialCell: initialStates[l].cell,
                             initialStateGradient: initialStateGradients?[l])
            }
            try trace.span("\(name) layer \(l) weight gradients", arguments: arguments(l)) {
                try finishBackward(layer: l, initialHidden: initialStates[l].hidden)
            }
        }
        try trace.span("\(name) embedding backward") { try embeddingBackward() }
    }
}
