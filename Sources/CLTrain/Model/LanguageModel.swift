import Foundation

/// An LSTM language model: nn.Embedding → nn.LSTM (L layers) → nn.Linear, trained with softmax
/// cross-entropy by truncated backpropagation through time.
///
/// Shapes: T steps, B sequences, time-major rows (row t·B + b). The hidden and cell state of every
/// layer is carried from one window to the next (`carriedState`), as in Zaremba et al. (2014).
///
/// The parts may run on different backends (`ModelDevices`): activations and their gradients are
/// transferred where a part's successor lives, and a decoder split by vocabulary rows combines its
/// shards' softmax statistics on the host, so the loss and gradients equal the one-device ones.
///
/// Memory: the sequential schedule holds each shard's logits for the whole window (T·B×V_s); the
/// wavefront schedule holds them for one run of K steps (K·B×V_s, or K·B/M×V_s with M
/// micro-batches), since each shard finishes a run's loss and gradients before it takes the next
/// (`LanguageModel+Wavefront.swift`).
public final class LanguageModel {
    public let configuration: ModelConfiguration
    public let devices: ModelDevices
    let embedding: EmbeddingLayer
    let lstm: [LSTMLayer]
    let decoder: [LinearLayer]   // one per softmax shard
    /// In PyTorch state_dict order: embedding, each layer's W_ih, W_hh, b_ih, b_hh, decoder shards.
    public let parameters: [Parameter]

    /// Per layer, on its backend: (h, c), each B×H. Reset to zeros when the batch size changes.
    private(set) var carriedState: [(hidden: Tensor, cell: Tensor)] = []
    /// Dropout masks come from this generator, so runs are reproducible on any backend.
    var dropoutGenerator: SplitMix64
    var workspace = Workspace()   // used from the calling thread only, never from pipeline workers

    /// How the layers' work is ordered: one layer after another, or pipelined across devices.
    public var schedule: ExecutionSchedule = .sequential
    /// Busy and wall time of the pipelined steps so far (empty for the sequential schedule).
    public internal(set) var utilization = PipelineUtilization()

    /// A model with every part on `backend`.
    public convenience init(configuration: ModelConfiguration, backend: Backend, seed: UInt64 = 1) throws {
        // Before the devices are laid out from its sizes.
        try configuration.validate()
        try DeviceMemory.of(backend).require(.evaluation(configuration, batch: 0, bptt: 0), for: "the model (\(configuration))")
        try self.init(configuration: configuration,
                      devices: .single(backend, layers: configuration.layers, vocabularySize: configuration.vocabularySize),
                      seed: seed)
    }

    public init(configuration: ModelConfiguration, devices: ModelDevices, seed: UInt64 = 1) throws {
        try configuration.validate()
        try devices.validate(for: configuration)
        // The weights and their gradients, before any is allocated (one window's buffers come later,
        // at the first step; `cltrain train` checks those with the batch it will use).
        if devices.backends.count == 1 {
            try DeviceMemory.of(devices.layers[0]).require(.evaluation(configuration, batch: 0, bptt: 0),
                                                           for: "the model (\(configuration))")
        }
        self.configuration = configuration
        self.devices = devices
        let c = configuration
        embedding = try EmbeddingLayer(vocabularySize: c.vocabularySize, width: c.embeddingSize, backend: devices.layers[0])
        lstm = try (0..<c.layers).map { l in
            try LSTMLayer(index: l, inputSize: l == 0 ? c.embeddingSize : c.hiddenSize, hiddenSize: c.hiddenSize,
                          backend: devices.layers[l])
        }
        decoder = try devices.softmaxShards.map { shard in
            try LinearLayer(name: "decoder", inputSize: c.hiddenSize, rows: shard.rows, totalOutputs: c.vocabularySize,
                            backend: shard.backend)
        }
        parameters = [embedding.weight] + lstm.flatMap(\.parameters) + decoder.flatMap { [$0.weight, $0.bias] }
        dropoutGenerator = SplitMix64(seed: seed ^ 0x6472_6f70_6f75_74)   // "dropout"
        try initializeWeights(seed: seed)
    }

    /// The backend of the first layer (and the embedding). Parameters name their own backends.
    public var backend: Backend { devices.layers[0] }

    /// Every weight uniform in [−range, range], as Sutskever et al. (2014) initialise (range 0.08).
    /// Drawn on the host tensor by whole tensor in state_dict order, so every placement on every
    /// backend starts from identical weights.
    public func initializeWeights(seed: UInt64, range: Float = 0.08) throws {
        var generator = SplitMix64(seed: seed)
        for tensor in parameters.logicalTensors {
            try tensor.scatter((0..<tensor.count).map { _ in generator.uniform() * range }, \.value)
        }
    }

    public func zeroGradients() throws {
        for parameter in parameters { try parameter.backend.fill(parameter.gradient, with: 0) }
    }

    /// Waits for the work enqueued on every backend of the model.
    public func synchronize() throws {
        for backend in devices.backends { try backend.synchronize() }
    }

    /// Zeroes the carried state for `batch` sequences.
    public func resetState(batch: Int) throws {
        carriedState = try lstm.map { layer in
            (try layer.backend.makeTensor([batch, configuration.hiddenSize], filledWith: 0),
             try layer.backend.makeTensor([batch, configuration.hiddenSize], filledWith: 0))
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

    /// The next-token logits (B×V, row-major) after feeding `window` (no gradients; the carried
    /// state advances, so windows can be fed one after another). Used for sampling.
    public func logits(after window: TokenWindow) throws -> [Float] {
        // One layer after another whatever the schedule: sampling feeds short windows, and the
        // pipelined decoder keeps no window-long logits to read the last step from.
        let forward = try beginForward(window, training: false)
        for l in lstm.indices { try forwardRun(l, 0..<window.steps, forward: forward, staged: nil) }
        let decoded = try decode(window)
        try advanceState(forward.layout)
        let last = (window.steps - 1) * window.batch..<window.steps * window.batch
        let shards = try zip(decoder, decoded.logits).map { try $0.backend.download($1.rows(last)) }
        // Reassemble each row from its shards' columns.
        var result: [Float] = []
        result.reserveCapacity(window.batch * configuration.vocabularySize)
        for b in 0..<window.batch {
            for (layer, values) in zip(decoder, shards) {
                let width = layer.weight.rows.count
                result += values[b * width..<(b + 1) * width]
            }
        }
        return result
    }

    // MARK: Forward and backward

    struct ForwardResult {
        let layout: MicroBatchLayout   // where the window's rows are in every buffer below
        let ids: IndexTensor
        let layerInputs: [Tensor]    // input of each LSTM layer (after dropout), on its backend
        let masks: [Tensor?]         // dropout mask applied to each layer's input (nil: none)
        var outputMask: Tensor?      // dropout mask on the top layer's output before the decoder (T·B×H; sequential only)
        let initialState: [(hidden: Tensor, cell: Tensor)]
    }

    /// The decoder's output for the whole window (the sequential schedule).
    private struct WindowLogits {
        let inputs: [Tensor]   // the top hidden states (T·B×H), on each shard's backend
        let logits: [Tensor]   // (T·B×V_s) per shard
    }

    /// `tensor` (on `from`) as seen on `to`: itself when they are one backend, else a copy there.
    private func move(_ tensor: Tensor, from: Backend, to: Backend, as name: String) throws -> Tensor {
        if from === to { return tensor }
        let destination = try workspace.tensor(name, tensor.shape, on: to)
        try transfer(tensor, from: from, into: destination, on: to)
        return destination
    }

    private func run(_ window: TokenWindow, training: Bool) throws -> (sum: Double, count: Int) {
        var microBatches = 1
        if case .wavefront(_, let m) = schedule { microBatches = m }
        let forward = try beginForward(window, training: training, microBatches: microBatches)
        let sum: Double
        switch schedule {
        case .sequential:
            for l in lstm.indices { try forwardRun(l, 0..<window.steps, forward: forward, staged: nil) }
            let decoded = try decode(window, outputMask: forward.outputMask)
            sum = try loss(window, decoded, training: training)
            if training { try backward(window, forward, decoded) }
        case .wavefront(let stepsPerRun, _):
            guard forward.outputMask == nil else {
                throw CLTrainError.invalidArgument("dropout at the output (--dropout-at output) is not pipelined: drop --pipeline or that site")
            }
            // The decoder, the loss and the backward run inside the pipelined step (LanguageModel+Wavefront.swift).
            sum = try pipelinedStep(window, forward, stepsPerRun: stepsPerRun, training: training)
        }
        try advanceState(forward.layout)
        return (sum, window.inputs.count)
    }

    /// Everything before the layers' runs: the embedding, the dropout masks and the layers' buffers,
    /// with the rows in `microBatches` groups (`MicroBatchLayout`; 1: time-major).
    func beginForward(_ window: TokenWindow, training: Bool, microBatches: Int = 1) throws -> ForwardResult {
        let (steps, batch) = (window.steps, window.batch)
        let layout = try MicroBatchLayout(window, microBatches: microBatches)
        let rows = steps * batch
        let c = configuration
        if carriedState.first?.hidden.shape[0] != batch { try resetState(batch: batch) }

        let ids = try embedding.backend.makeIndices(layout.reordered(window.inputs))
        let embedded = try workspace.tensor("embedded", [rows, c.embeddingSize], on: embedding.backend)   // (T·B×E)
        try embedding.forward(ids, into: embedded)

        // Dropout masks for the inputs of layers 0 (the embedding's output, `DropoutSite.embedding`)
        // and 1..<L (`.between`), drawn in layer order whatever the schedule, then the output's:
        // entries 0 or 1/(1−p) (inverted dropout).
        let masks: [Tensor?] = try lstm.indices.map { l in
            guard training, c.drops(at: l == 0 ? .embedding : .between) else { return nil }
            let keep = 1 - c.dropout, width = l == 0 ? c.embeddingSize : c.hiddenSize
            let mask = try workspace.tensor("mask\(l)", [rows, width], on: lstm[l].backend)
            // Drawn on the device, from the generator's state: no host draw or upload per step.
            if layout.microBatches == 1 {
                try lstm[l].backend.dropoutMask(mask, keepProbability: keep, scale: 1 / keep, generatorState: dropoutGenerator.state)
            } else {
                // The time-major mask's draws, block by block into the layout: the generator is a
                // counter, so the block of B' rows at t·B + m·B' starts that many draws further on.
                for m in 0..<layout.microBatches {
                    for t in 0..<steps {
                        var block = dropoutGenerator
                        block.skip((t * batch + m * layout.sequences) * width)
                        try lstm[l].backend.dropoutMask(mask.rows(layout.rows(m, t..<t + 1)), keepProbability: keep,
                                                        scale: 1 / keep, generatorState: block.state)
                    }
                }
            }
            dropoutGenerator.skip(mask.count)
            return mask
        }

        // Each layer's input (T·B×In) on its backend: the embedding for layer 0, else a buffer that
        // receives layer l−1's output (masked when dropout is on).
        for layer in lstm { try layer.prepare(steps: steps, batch: batch, microBatches: layout.microBatches) }
        let inputs = try [embedded] + (1..<lstm.count).map { l in
            try workspace.tensor("input\(l)", [rows, c.hiddenSize], on: lstm[l].backend)
        }
        var outputMask: Tensor?
        if training, c.drops(at: .output), let top = lstm.last {
            let mask = try workspace.tensor("outputMask", [rows, c.hiddenSize], on: top.backend)
            try top.backend.dropoutMask(mask, keepProbability: 1 - c.dropout, scale: 1 / (1 - c.dropout),
                                        generatorState: dropoutGenerator.state)
            dropoutGenerator.skip(mask.count)
            outputMask = mask
        }
        return ForwardResult(layout: layout, ids: ids, layerInputs: inputs, masks: masks, outputMask: outputMask,
                             initialState: carriedState)
    }

    /// The whole window's logits on every shard, from the top layer's hidden states (times
    /// `outputMask`, into a copy: the layer's backward needs its own outputs).
    private func decode(_ window: TokenWindow, outputMask: Tensor? = nil) throws -> WindowLogits {
        let rows = window.steps * window.batch
        var x = try lstm[lstm.count - 1].buffersOutput()
        let xBackend = lstm[lstm.count - 1].backend
        if let outputMask {
            let dropped = try workspace.tensor("droppedTop", x.shape, on: xBackend)   // (T·B×H)
            try xBackend.copy(x, to: dropped)
            try xBackend.multiply(dropped, by: outputMask)
            x = dropped
        }
        var inputs: [Tensor] = [], logits: [Tensor] = []
        var hostTop: [Float]?   // the top hidden states, read back once for every shard that needs them
        for (s, shard) in decoder.enumerated() {
            let top: Tensor
            if shard.backend === xBackend || sharesMemory(xBackend, shard.backend) {
                top = try move(x, from: xBackend, to: shard.backend, as: "top\(s)")
            } else {
                let values = try hostTop ?? xBackend.download(x)
                hostTop = values
                top = try workspace.tensor("top\(s)", x.shape, on: shard.backend)
                try shard.backend.upload(values, to: top)
            }
            let shardLogits = try workspace.tensor("logits\(s)", [rows, shard.weight.rows.count], on: shard.backend)   // (T·B×V_s)
            try shard.forward(top, into: shardLogits)
            inputs.append(top)
            logits.append(shardLogits)
        }
        return WindowLogits(inputs: inputs, logits: logits)
    }

    /// Layer l's forward over `run` of micro-batch m: its input rows arrive from layer l−1 (masked
    /// by dropout), then the LSTM steps. With `staged`, the producer has already drained its queue
    /// (the wavefront): the rows are copied on the device or uploaded from the host copy it staged.
    /// Without, the producer may still be working (one thread): `transfer` waits for it as needed.
    func forwardRun(_ l: Int, _ run: Range<Int>, microBatch m: Int = 0, forward: ForwardResult, staged: StagedRows?) throws {
        let layer = lstm[l], b = layer.backend
        let rows = forward.layout.rows(m, run)
        let inputs = forward.layerInputs
        if l > 0 {
            let previous = lstm[l - 1]
            try receive(try previous.buffersOutput().rows(rows), from: previous.backend, into: inputs[l].rows(rows), on: b,
                        staged: staged)
        }
        // Layer 0's input is the embedding's output, which nothing else reads: masked in place.
        if let mask = forward.masks[l] { try b.multiply(inputs[l].rows(rows), by: mask.rows(rows)) }
        let (h0, c0) = try microBatchState(forward.initialState[l], m, forward.layout)
        try layer.forward(steps: run, microBatch: m, input: inputs[l], initialHidden: h0, initialCell: c0)
    }

    /// Micro-batch m's rows of a layer's carried state (the whole state when M = 1).
    private func microBatchState(_ state: (hidden: Tensor, cell: Tensor), _ m: Int, _ layout: MicroBatchLayout)
        throws -> (hidden: Tensor, cell: Tensor) {
        guard layout.microBatches > 1 else { return state }
        return (try state.hidden.rows(layout.stateRows(m)), try state.cell.rows(layout.stateRows(m)))
    }

    /// Layer l's backward over `run` of micro-batch m: ∂L/∂h rows arrive from layer l+1's input
    /// gradient (for the top layer, `outputGradients[L−1]` already holds them), then the LSTM steps
    /// in reverse, and the input gradient rows are masked as the input was.
    func backwardRun(_ l: Int, _ run: Range<Int>, microBatch m: Int = 0, windowSteps: Int, forward: ForwardResult,
                     outputGradients: [Tensor], inputGradients: [Tensor], staged: StagedRows?) throws {
        let layer = lstm[l], b = layer.backend
        let rows = forward.layout.rows(m, run)
        if l < lstm.count - 1 {
            try receive(inputGradients[l + 1].rows(rows), from: lstm[l + 1].backend, into: outputGradients[l].rows(rows), on: b,
                        staged: staged)
        }
        try layer.backward(steps: run, microBatch: m, windowSteps: windowSteps,
                           initialCell: microBatchState(forward.initialState[l], m, forward.layout).cell,
                           outputGradient: outputGradients[l], inputGradient: inputGradients[l])
        if let mask = forward.masks[l] { try b.multiply(inputGradients[l].rows(rows), by: mask.rows(rows)) }
    }

    /// Rows produced on `from` into `destination` on `to`; see `forwardRun` for `staged`.
    func receive(_ source: Tensor, from: Backend, into destination: Tensor, on to: Backend, staged: StagedRows?) throws {
        guard let staged else { return try transfer(source, from: from, into: destination, on: to) }
        if from === to || sharesMemory(from, to) {
            try to.copy(source, to: destination)
        } else {
            try to.upload(staged.values, to: destination)
        }
    }

    /// The summed cross-entropy of the window. When training, each shard's logits are replaced by
    /// ∂L/∂logits (the mean loss over the T·B targets).
    private func loss(_ window: TokenWindow, _ decoded: WindowLogits, training: Bool) throws -> Double {
        let rows = window.inputs.count
        let scale = 1 / Float(rows)
        if decoder.count == 1 {
            let b = decoder[0].backend
            let targets = try b.makeIndices(window.targets)
            let losses = try workspace.tensor("losses", [rows], on: b)
            // The gradient overwrites the logits, which are not needed after this.
            try b.softmaxCrossEntropy(logits: decoded.logits[0], targets: targets, ignoreIndex: -1, losses: losses,
                                      gradient: training ? decoded.logits[0] : nil, gradientScale: scale)
            return try b.download(losses).reduce(0.0) { $0 + Double($1) }
        }

        // A split softmax: each shard reports its rows' max, Σ exp(x − max) and (if it holds the
        // target) the target logit; the host combines them into log Z per row.
        var maxima = [[Float]](), sums = [[Float]](), targetLogits = [[Float]](), localTargets = [IndexTensor]()
        for (s, shard) in decoder.enumerated() {
            let b = shard.backend
            let local = try b.makeIndices(shardTargets(window.targets, shard: s))
            let m = try workspace.tensor("maxima\(s)", [rows], on: b)
            let e = try workspace.tensor("sumExp\(s)", [rows], on: b)
            let t = try workspace.tensor("targetLogits\(s)", [rows], on: b)
            try b.softmaxStatistics(logits: decoded.logits[s], targets: local, maxima: m, sumExp: e, targetLogits: t)
            maxima.append(try b.download(m))
            sums.append(try b.download(e))
            targetLogits.append(try b.download(t))
            localTargets.append(local)
        }
        let (total, logNormalizers) = combineSoftmaxStatistics(maxima: maxima, sums: sums, targetLogits: targetLogits)
        if training {
            for (s, shard) in decoder.enumerated() {
                let z = try workspace.tensor("logNormalizers\(s)", [rows], on: shard.backend)
                try shard.backend.upload(logNormalizers, to: z)
                try shard.backend.softmaxCrossEntropyGradient(logits: decoded.logits[s], targets: localTargets[s],
                                                              logNormalizers: z, gradientScale: scale,
                                                              gradient: decoded.logits[s])
            }
        }
        return total
    }

    /// `targets` as shard s numbers them: its first row is 0; −1 where the target is in another shard.
    func shardTargets(_ targets: some Sequence<Int32>, shard s: Int) -> [Int32] {
        let r = decoder[s].weight.rows
        return targets.map { r.contains(Int($0)) ? $0 - Int32(r.lowerBound) : -1 }
    }

    /// Expects each shard's logits to hold ∂L/∂logits.
    private func backward(_ window: TokenWindow, _ forward: ForwardResult, _ decoded: WindowLogits) throws {
        let steps = window.steps
        let topBackend = lstm[lstm.count - 1].backend

        // ∂L/∂h_top is the sum of every shard's dY·W_s, gathered on the top layer's backend.
        let (outputGradients, inputGradients) = try layerGradientBuffers(window)
        let outputGradient = outputGradients[lstm.count - 1]
        for (s, shard) in decoder.enumerated() {
            let local = s == 0 && shard.backend === topBackend
                ? outputGradient : try workspace.tensor("gradientTop\(s)", outputGradient.shape, on: shard.backend)
            try shard.backward(input: decoded.inputs[s], outputGradient: decoded.logits[s], inputGradient: local)
            if local !== outputGradient {
                let here = try move(local, from: shard.backend, to: topBackend, as: "gradientTopMoved\(s)")
                if s == 0 { try topBackend.copy(here, to: outputGradient) } else { try topBackend.axpy(alpha: 1, here, outputGradient) }
            }
        }
        if let mask = forward.outputMask { try topBackend.multiply(outputGradient, by: mask) }   // through the output's dropout
        for l in lstm.indices.reversed() {
            try backwardRun(l, 0..<steps, windowSteps: steps, forward: forward,
                            outputGradients: outputGradients, inputGradients: inputGradients, staged: nil)
            try lstm[l].finishBackward(windowSteps: steps, input: forward.layerInputs[l],
                                       initialHidden: forward.initialState[l].hidden)
        }
        // Layer 0 and the embedding share a backend.
        try embedding.backward(forward.ids, outputGradient: inputGradients[0])
    }

    /// Per layer, on its backend: ∂L/∂h from above (the top layer's is the decoder's, T·B×H) and
    /// ∂L/∂input (T·B×In), which goes down to the layer below, or to the embedding.
    func layerGradientBuffers(_ window: TokenWindow) throws -> (output: [Tensor], input: [Tensor]) {
        let rows = window.steps * window.batch
        let c = configuration
        let output = try lstm.indices.map { l in
            try workspace.tensor(l == lstm.count - 1 ? "gradientTop" : "outputGradient\(l)", [rows, c.hiddenSize],
                                 on: lstm[l].backend)
        }
        let input = try lstm.indices.map { l in
            try workspace.tensor("inputGradient\(l)", [rows, l == 0 ? c.embeddingSize : c.hiddenSize], on: lstm[l].backend)
        }
        return (output, input)
    }

    /// The last step's (h, c) of every layer become the next window's initial state (each
    /// micro-batch's into its rows).
    private func advanceState(_ layout: MicroBatchLayout) throws {
        for (l, layer) in lstm.enumerated() {
            guard let hiddens = layer.hiddens, let cells = layer.cells else { continue }
            for m in 0..<layout.microBatches {
                let last = layout.rows(m, layout.steps - 1..<layout.steps)
                let (h, c) = try microBatchState(carriedState[l], m, layout)
                try layer.backend.copy(hiddens.rows(last), to: h)
                try layer.backend.copy(cells.rows(last), to: c)
            }
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
        let (count, overflow) = steps.multipliedReportingOverflow(by: batch)
        guard steps > 0, batch > 0, !overflow, inputs.count == count, targets.count == inputs.count else {
            throw CLTrainError.shapeMismatch(operation: "TokenWindow",
                detail: "\(inputs.count) inputs and \(targets.count) targets for \(steps) steps × \(batch) sequences")
        }
        self.inputs = inputs
        self.targets = targets
        self.steps = steps
        self.batch = batch
    }
}
