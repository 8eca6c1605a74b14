/// One window on its way through a model's layers, as every executor runs it: `init` does what
/// comes before any layer (the embedding, the dropout masks, each layer's buffers); then layer l's
/// forward and backward over a run of steps of one micro-batch, in whatever order an executor
/// chooses (a layer's forward runs in time order, its backward runs in reverse, each after the
/// same rows of its neighbour); then `finishBackward` per layer and `embeddingBackward`.
///
/// Rows are in `MicroBatchLayout` order (time-major with one micro-batch). Data between layers
/// arrives as a `Shipment` from the `Transport`; the pass itself never moves a tensor between backends.
final class WindowPass {
    let model: LanguageModel
    let transport: Transport
    let layout: MicroBatchLayout
    let ids: IndexTensor          // (T·B) the window's inputs, on layer 0's backend
    let layerInputs: [Tensor]     // input of each LSTM layer (T·B×In, after dropout), on its backend
    let masks: [Tensor?]          // dropout mask applied to each layer's input (nil: none)
    /// Dropout on the top layer's output before the decoder (`DropoutSite.output`; T·B×H on the top
    /// layer's backend, nil: none). Sequential only: the wavefront refuses it.
    let outputMask: Tensor?
    /// Per layer, on its backend, when training: ∂L/∂h from above (T·B×H; the top layer's is the
    /// decoder's) and ∂L/∂input (T·B×In), which goes down to the layer below or the embedding.
    let outputGradients: [Tensor]
    let inputGradients: [Tensor]

    /// - Throws: `invalidArgument` unless `microBatches` divides the window's batch.
    init(_ model: LanguageModel, _ window: TokenWindow, training: Bool, microBatches: Int = 1, transport: Transport,
         workspace: inout Workspace) throws {
        let (steps, batch) = (window.steps, window.batch)
        let layout = try MicroBatchLayout(window, microBatches: microBatches)
        let rows = steps * batch
        let c = model.configuration
        let lstm = model.lstm
        if model.carriedState.first?.hidden.shape[0] != batch { try model.resetState(batch: batch) }

        let ids = try workspace.indices("ids", layout.reordered(window.inputs), on: model.embedding.backend)
        let embedded = try workspace.tensor("embedded", [rows, c.embeddingSize], on: model.embedding.backend)   // (T·B×E)
        try model.embedding.forward(ids, into: embedded)

        // Dropout masks for the inputs of layer 0 (the embedding's output, `DropoutSite.embedding`)
        // and of layers 1..<L (`.between`), drawn in layer order whatever the executor, then the
        // output's: entries 0 or 1/(1−p) (inverted dropout).
        var masks: [Tensor?] = []
        for l in lstm.indices {
            guard training, c.drops(at: l == 0 ? .embedding : .between) else { masks.append(nil); continue }
            let keep = 1 - c.dropout, width = l == 0 ? c.embeddingSize : c.hiddenSize
            let mask = try workspace.tensor("mask\(l)", [rows, width], on: lstm[l].backend)
            try WindowPass.drawMask(mask, width: width, keep: keep, window: window, layout: layout, on: lstm[l].backend,
                                    generator: &model.dropoutGenerator)
            masks.append(mask)
        }
        if training, c.drops(at: .output), let top = lstm.last {
            let keep = 1 - c.dropout
            let mask = try workspace.tensor("outputMask", [rows, c.hiddenSize], on: top.backend)   // (T·B×H)
            try WindowPass.drawMask(mask, width: c.hiddenSize, keep: keep, window: window, layout: layout, on: top.backend,
                                    generator: &model.dropoutGenerator)
            outputMask = mask
        } else {
            outputMask = nil
        }

        // Each layer's input (T·B×In) on its backend: the embedding for layer 0, else a buffer that
        // receives layer l−1's output (masked when dropout is on).
        for layer in lstm { try layer.prepare(steps: steps, batch: batch, microBatches: layout.microBatches) }
        let inputs = try [embedded] + (1..<lstm.count).map { l in
            try workspace.tensor("input\(l)", [rows, c.hiddenSize], on: lstm[l].backend)
        }
        if training {
            outputGradients = try lstm.indices.map { l in
                try workspace.tensor(l == lstm.count - 1 ? "gradientTop" : "outputGradient\(l)", [rows, c.hiddenSize],
                                     on: lstm[l].backend)
            }
            inputGradients = try lstm.indices.map { l in
                try workspace.tensor("inputGradient\(l)", [rows, l == 0 ? c.embeddingSize : c.hiddenSize], on: lstm[l].backend)
            }
        } else {
            (outputGradients, inputGradients) = ([], [])
        }
        self.model = model
        self.transport = transport
        self.layout = layout
        self.ids = ids
        self.masks = masks
        layerInputs = inputs
    }

    /// Layer l's hidden states for `rows` (its output, on its backend).
    func output(ofLayer l: Int, rows: Range<Int>) throws -> Tensor { try model.lstm[l].buffersOutput().rows(rows) }

    /// What the decoder reads for `rows`: the top layer's hidden states, times `outputMask` into a
    /// copy when that site drops (the layer's backward needs its own outputs unmasked).
    func decoderInput(rows: Range<Int>, workspace: inout Workspace) throws -> Tensor {
        let top = model.lstm.count - 1
        let hidden = try output(ofLayer: top, rows: rows)
        guard let outputMask else { return hidden }
        let backend = model.lstm[top].backend
        let dropped = try workspace.tensor("droppedTop", hidden.shape, on: backend)   // (rows×H)
        try backend.copy(hidden, to: dropped)
        try backend.multiply(dropped, by: outputMask.rows(rows))
        return dropped
    }

    /// A dropout mask (rows × `width`, entries 0 or 1/keep, inverted dropout) for `window` in
    /// `layout`, drawn on the device from the generator's state, which then moves past the whole
    /// job's mask: the draws are those of the time-major mask of the global batch (row
    /// t·globalBatch + firstSequence + b), so micro-batches and data-parallel replicas draw exactly
    /// their rows of one process's mask. The generator is a counter: the block of rows at global
    /// row g starts g·width draws further on.
    static func drawMask(_ mask: Tensor, width: Int, keep: Float, window: TokenWindow, layout: MicroBatchLayout,
                         on backend: Backend, generator: inout SplitMix64) throws {
        try drawMask(mask, width: width, keep: keep, layout: layout, globalBatch: window.globalBatch,
                     firstSequence: window.firstSequence, on: backend, generator: &generator)
    }

    /// The same for a batch in `layout` whose sequences are `firstSequence`… of a global batch of
    /// `globalBatch` (a translation batch: its own, from 0).
    static func drawMask(_ mask: Tensor, width: Int, keep: Float, layout: MicroBatchLayout, globalBatch global: Int,
                         firstSequence: Int, on backend: Backend, generator: inout SplitMix64) throws {
        let (steps, batch) = (layout.steps, layout.batch)
        if layout.microBatches == 1 && global == batch {
            try backend.dropoutMask(mask, keepProbability: keep, scale: 1 / keep, generatorState: generator.state)
        } else {
            for m in 0..<layout.microBatches {
                for t in 0..<steps {
                    var block = generator
                    block.skip((t * global + firstSequence + m * layout.sequences) * width)
                    try backend.dropoutMask(mask.rows(layout.rows(m, t..<t + 1)), keepProbability: keep,
                                            scale: 1 / keep, generatorState: block.state)
                }
            }
        }
        generator.skip(steps * global * width)
    }

    /// ∂L/∂h_top through the output's dropout, once the decoder's gradient is summed into
    /// `outputGradients[L−1]`.
    func backwardThroughOutputDropout() throws {
        guard let outputMask, let gradient = outputGradients.last else { return }
        try model.lstm[model.lstm.count - 1].backend.multiply(gradient, by: outputMask)
    }

    /// Layer l's forward over `run` of micro-batch m: for l > 0 its input rows arrive in `input`
    /// (layer l−1's output rows, sent to this layer's backend) and are masked by dropout; then
    /// the LSTM steps.
    func forward(layer l: Int, steps run: Range<Int>, microBatch m: Int = 0, input: Shipment?) throws {
        let layer = model.lstm[l], b = layer.backend
        let rows = layout.rows(m, run)
        if l > 0 {
            guard let input else { throw CLTrainError.invalidArgument("layer \(l)'s forward needs layer \(l - 1)'s output") }
            try transport.receive(input, into: layerInputs[l].rows(rows), on: b)
        }
        // Layer 0's input is the embedding's output, which nothing else reads: masked in place.
        if let mask = masks[l] { try b.multiply(layerInputs[l].rows(rows), by: mask.rows(rows)) }
        let (h0, c0) = try model.carriedState(ofLayer: l, microBatch: m, layout)
        try layer.forward(steps: run, microBatch: m, input: layerInputs[l], initialHidden: h0, initialCell: c0)
    }

    /// Layer l's backward over `run` of micro-batch m: for l < L−1 ∂L/∂h rows arrive in
    /// `outputGradient` (layer l+1's input gradient rows, sent here; the top layer's rows are in
    /// `outputGradients[L−1]` already), then the LSTM steps in reverse, and the input gradient
    /// rows are masked as the input was.
    func backward(layer l: Int, steps run: Range<Int>, microBatch m: Int = 0, outputGradient: Shipment?) throws {
        let layer = model.lstm[l], b = layer.backend
        let rows = layout.rows(m, run)
        if l < model.lstm.count - 1 {
            guard let outputGradient else { throw CLTrainError.invalidArgument("layer \(l)'s backward needs layer \(l + 1)'s gradient") }
            try transport.receive(outputGradient, into: outputGradients[l].rows(rows), on: b)
        }
        try layer.backward(steps: run, microBatch: m, windowSteps: layout.steps,
                           initialCell: model.carriedState(ofLayer: l, microBatch: m, layout).cell,
                           outputGradient: outputGradients[l], inputGradient: inputGradients[l])
        if let mask = masks[l] { try b.multiply(inputGradients[l].rows(rows), by: mask.rows(rows)) }
    }

    /// Layer l's weight gradients, once every run of every micro-batch is through `backward`.
    func finishBackward(layer l: Int) throws {
        try model.lstm[l].finishBackward(windowSteps: layout.steps, input: layerInputs[l],
                                         initialHidden: model.carriedState[l].hidden)
    }

    /// The embedding's gradient from layer 0's input gradient (layer 0 and the embedding share a backend).
    func embeddingBackward() throws {
        try model.embedding.backward(ids, outputGradient: inputGradients[0])
    }
}
