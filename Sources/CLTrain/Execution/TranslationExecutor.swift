/// Runs a batch of sentence pairs through a `TranslationModel` on the calling thread, one part
/// after another, over the model's placement:
///
/// 1. The encoder over the batch's S source steps from a zero state (`StackPass`).
/// 2. The hand-over: for every layer, sequence b's final (h, c) is its row at step
///    sourceLengths[b] − 1, its own last real token (the padding steps after it change nothing
///    that is read). The rows are gathered (`embeddingForward` over the S·B×H states with indices
///    (len_b − 1)·B + b: a row gather) into the decoder layer's initial state, on the same backend
///    (layer k of both stacks shares `devices.layers[k]`).
/// 3. The decoder over the T target steps from those states, its top layer's states through the
///    transport to the output shards, and the cross-entropy over the targets that are not the
///    ignore index (`ShardedSoftmaxLoss`).
/// 4. When training: the loss's backward, the decoder's backward with ∂L/∂h0, ∂L/∂c0 per layer,
///    scattered (`embeddingBackward`, a scatter-add) into the encoder layer's ∂h and ∂c at the
///    gathered rows, then the encoder's backward. Gradients are added to the parameters'.
///
/// Every queue is drained at the end of a batch, so the next may reuse every buffer.
public final class TranslationExecutor: TranslationBatchExecutor {
    public let model: TranslationModel
    /// Every move between backends (traced when `trace(into:)` has a recorder).
    private let tracedTransport: TracedTransport
    var transport: Transport { tracedTransport }
    private var executionTrace: ExecutionTrace?
    private let loss: ShardedSoftmaxLoss
    private var workspace = Workspace()
    public var utilization: PipelineUtilization { PipelineUtilization() }

    public convenience init(model: TranslationModel) { self.init(model: model, transport: DeviceTransport()) }

    init(model: TranslationModel, transport: Transport) {
        self.model = model
        tracedTransport = TracedTransport(transport)
        loss = ShardedSoftmaxLoss(decoder: model.output, top: model.decoder.layers[model.decoder.layers.count - 1].backend,
                                  transport: tracedTransport)
    }

    public func trace(into recorder: TraceRecorder?) throws {
        executionTrace = try tracedTransport.record(into: recorder, devices: model.devices, parts: model.traceParts)
    }

    /// One batch: the summed cross-entropy over its target tokens that count (`targetOutputs` other
    /// than the ignore index) and how many there are. When `training`, the gradients of the MEAN
    /// over those tokens (lossSum / tokens) are added to the parameters' gradients (zero them
    /// first); dropout is on between the layers of each stack when the configuration has it.
    /// - Throws: `shapeMismatch` for a batch whose buffers disagree with its sizes,
    ///   `invalidArgument` for a source length outside 1…S, a batch without target tokens, or a
    ///   token outside the vocabulary (from the embedding's checks).
    public func run(_ batch: TranslationBatch, training: Bool) throws -> (lossSum: Double, tokens: Int) {
        let c = model.configuration, b = batch.batch, trace = executionTrace
        let tokens = try Self.targetTokens(batch)
        let encoderPass = try trace.span("encoder embedding and dropout masks", arguments: ["rows": .integer(batch.sourceTokens.count)]) {
            try StackPass(model.encoder, name: "encoder", tokens: batch.sourceTokens, steps: batch.sourceSteps,
                          batch: b, training: training, dropout: c.dropout, generator: &model.dropoutGenerator,
                          transport: transport, workspace: &workspace)
        }
        let zeroStates = try model.encoder.layers.enumerated().map { l, layer in
            try workspace.stateTensors("zeroState\(l)", batch: b, hidden: c.hiddenSize, on: layer.backend, filledWith: 0)
        }
        try encoderPass.forward(initialStates: zeroStates, trace: trace)

        // The hand-over: each layer's rows at each sequence's last real step (the indices uploaded
        // once per layer, for the gather and the backward's scatter).
        let finalRows = try Self.finalStateRows(batch)
        let rowIndices = try model.encoder.layers.map { try workspace.indices("finalRows", finalRows, on: $0.backend) }
        let decoderStates = try model.decoder.layers.enumerated().map { l, layer in
            let state = try workspace.stateTensors("decoderState\(l)", batch: b, hidden: c.hiddenSize, on: layer.backend)
            try trace.span("encoder layer \(l) final state → decoder layer \(l)") {
                try encoderPass.gatherState(layer: l, rows: rowIndices[l], into: state)
            }
            return state
        }

        let decoderPass = try trace.span("decoder embedding and dropout masks", arguments: ["rows": .integer(batch.targetInputs.count)]) {
            try StackPass(model.decoder, name: "decoder", tokens: batch.targetInputs, steps: batch.targetSteps,
                          batch: b, training: training, dropout: c.dropout, generator: &model.dropoutGenerator,
                          transport: transport, workspace: &workspace)
        }
        try decoderPass.forward(initialStates: decoderStates, trace: trace)

        let rows = batch.targetInputs.count, topLayer = model.decoder.layers[model.decoder.layers.count - 1]
        let top = try transport.send(topLayer.buffersOutput(), from: topLayer.backend, to: model.output.map(\.backend))
        try loss.prepare(blocks: [0..<rows], windowRows: rows, targets: batch.targetOutputs, training: training,
                         gradientSum: decoderPass.outputGradients.last, gradientScale: 1 / Float(tokens))
        let window = "steps 0..<\(batch.targetSteps)"
        let logits = try loss.shards.indices.map { s in
            try trace.span("softmax shard \(s) logits, \(window)") { try loss.logits(s, block: 0, from: top) }
        }
        let statistics = try loss.shards.indices.compactMap { s in
            try trace.span("softmax shard \(s) forward, \(window)") { try loss.reduce(s, block: 0, logits: logits[s]) }
        }
        let combined = loss.isSplit ? try loss.combine(statistics, block: 0) : nil

        if training {
            let parts = try loss.shards.indices.map { s in
                try trace.span("softmax shard \(s) backward, \(window)") {
                    try loss.backward(s, block: 0, logNormalizers: combined?.logNormalizers, from: top)
                    return try loss.sendGradient(s, block: 0)
                }
            }
            let arriving = parts.allSatisfy { $0 == nil } ? nil
                : try workspace.tensor("gradientTopArriving", [rows, c.hiddenSize], on: topLayer.backend)
            try loss.accumulateInputGradient(block: 0, parts: parts, arriving: arriving)

            let stateGradients = try model.decoder.layers.enumerated().map { l, layer in
                try workspace.stateTensors("decoderStateGradient\(l)", batch: b, hidden: c.hiddenSize, on: layer.backend)
            }
            try decoderPass.backward(initialStates: decoderStates, initialStateGradients: stateGradients, trace: trace)
            // The decoder's ∂h0, ∂c0 enter the encoder at the rows its states were gathered from.
            let outside = try encoderPass.outsideGradients("encoder", workspace: &workspace)
            for l in model.encoder.layers.indices {
                try trace.span("decoder layer \(l) ∂h₀, ∂c₀ → encoder layer \(l)") {
                    try encoderPass.scatterStateGradient(layer: l, microBatch: 0, stateGradients[l], rows: rowIndices[l], into: outside[l])
                }
            }
            try encoderPass.backward(initialStates: zeroStates, outside: outside, trace: trace)
        }
        let sum = try trace.span("reading the losses") { try loss.windowLoss(blockLosses: combined.map { [$0.loss] } ?? []) }
        try model.synchronize()
        return (sum, tokens)
    }

    /// The batch's target tokens that count (not the ignore index), once its sizes agree.
    /// - Throws: `shapeMismatch` for a batch whose buffers disagree with its sizes, `invalidArgument`
    ///   for a batch without target tokens.
    static func targetTokens(_ batch: TranslationBatch) throws -> Int {
        guard batch.sourceLengths.count == batch.batch, batch.targetOutputs.count == batch.targetInputs.count else {
            throw CLTrainError.shapeMismatch(operation: "TranslationExecutor.run",
                detail: "\(batch.sourceLengths.count) source lengths and \(batch.targetOutputs.count) targets for \(batch.batch) sequences, "
                    + "\(batch.targetInputs.count) decoder inputs")
        }
        let tokens = batch.targetOutputs.count { $0 != TranslationBatch.ignoreIndex }
        guard tokens > 0 else { throw CLTrainError.invalidArgument("a translation batch without target tokens has no loss") }
        return tokens
    }

    /// For each sequence b, the row of an [S, B] buffer in `layout` (time-major by default) where
    /// its encoder state is final: step sourceLengths[b] − 1. Time-major that is row (len_b − 1)·B + b;
    /// with micro-batches, sequence m·B' + b' is at row m·S·B' + (len − 1)·B' + b'.
    /// - Throws: `invalidArgument` for a length outside 1…S, or rows beyond Int32.
    static func finalStateRows(_ batch: TranslationBatch, layout: MicroBatchLayout? = nil) throws -> [Int32] {
        let sequences = layout?.sequences ?? batch.batch
        return try batch.sourceLengths.enumerated().map { column, length in
            guard (1...max(batch.sourceSteps, 1)).contains(length), batch.sourceSteps > 0 else {
                throw CLTrainError.invalidArgument("sequence \(column)'s source length \(length) is outside 1…\(batch.sourceSteps)")
            }
            let (m, b) = column.quotientAndRemainder(dividingBy: max(sequences, 1))
            let step = layout?.rows(m, length - 1..<length).lowerBound ?? (length - 1) * batch.batch
            guard let row = Int32(exactly: step + b) else {
                throw CLTrainError.invalidArgument("a batch of \(batch.sourceSteps) × \(batch.batch) source tokens has rows beyond 32-bit indices")
            }
            return row
        }
    }
}

extension Workspace {
    /// A pair of N×H tensors (optionally filled), for one layer's (h, c) or their gradients.
    mutating func stateTensors(_ name: String, batch: Int, hidden: Int, on backend: Backend, filledWith value: Float? = nil) throws
        -> (hidden: Tensor, cell: Tensor) {
        let state = (try tensor("\(name).h", [batch, hidden], on: backend), try tensor("\(name).c", [batch, hidden], on: backend))
        if let value {
            try backend.fill(state.0, with: value)
            try backend.fill(state.1, with: value)
        }
        return state
    }
}
