/// Runs a window on the calling thread, one part after another.
///
/// Per-device task order (what `PipelineSimulator` models as the serial step): the embedding and
/// the dropout masks (and, with dropout at the output, the top layer's masked copy); layer 0's
/// forward over all T steps, then layer 1's, …, layer L−1's; every softmax shard's logits over the
/// whole window (T·B×V_s, in shard order, all enqueued before any is read back), then each
/// shard's loss or statistics, the host combining a split softmax's statistics; then, when training, each shard's ∂L/∂logits, weight
/// gradients and part of ∂L/∂h_top (in shard order) and their sum on the top layer's backend;
/// layer L−1's backward over all steps and its weight gradients, then layer L−2's, …, layer 0's;
/// the embedding's gradient. Parts on different queues of one context meet on the device
/// (`Transport`); every queue is drained at the end of the window.
public final class SequentialExecutor: ReportsFinalGradients {
    public let model: LanguageModel
    /// Every move between backends (traced when `trace(into:)` has a recorder).
    private let tracedTransport: TracedTransport
    var transport: Transport { tracedTransport }
    private var executionTrace: ExecutionTrace?
    private let loss: ShardedSoftmaxLoss
    private var workspace = Workspace()

    public var utilization: PipelineUtilization { PipelineUtilization() }
    /// Called during the backward as parameters' gradients become final: each decoder shard's,
    /// then layer L−1's, …, layer 0's, then the embedding's (a data-parallel wrapper starts their
    /// allreduce then).
    public var onGradientsFinal: (([Parameter]) throws -> Void)?

    public convenience init(model: LanguageModel) { self.init(model: model, transport: DeviceTransport()) }

    /// With another transport (a timing device's modelled links, a test's counting one).
    init(model: LanguageModel, transport: Transport) {
        self.model = model
        tracedTransport = TracedTransport(transport)
        loss = ShardedSoftmaxLoss(decoder: model.decoder, top: model.lstm[model.lstm.count - 1].backend, transport: tracedTransport)
    }

    /// Spans on the main thread's track: what the host enqueued, when (an OpenCL queue runs it
    /// later; its own track, from the device clock, shows when).
    public func trace(into recorder: TraceRecorder?) throws {
        executionTrace = try tracedTransport.record(into: recorder, devices: model.devices, parts: model.traceParts)
    }

    public func run(_ window: TokenWindow, training: Bool) throws -> Double {
        let pass = try forward(window, training: training)
        let rows = window.inputs.count
        let top = try topShipment(pass, rows: 0..<rows)
        try loss.prepare(blocks: [0..<rows], windowRows: rows, targets: window.targets, training: training,
                         gradientSum: pass.outputGradients.last)
        // Every shard's logits first, so the shards' devices compute them side by side; then each
        // one's loss or statistics (a split softmax's are read back, which waits for that queue).
        let trace = executionTrace
        let logits = try loss.shards.indices.map { s in
            try trace.span("softmax shard \(s) logits, steps 0..<\(window.steps)", arguments: arguments(loss.shards[s].backend, rows)) {
                try loss.logits(s, block: 0, from: top)
            }
        }
        let statistics = try loss.shards.indices.compactMap { s in
            try trace.span("softmax shard \(s) forward, steps 0..<\(window.steps)", arguments: arguments(loss.shards[s].backend, rows)) {
                try loss.reduce(s, block: 0, logits: logits[s])
            }
        }
        let combined = loss.isSplit ? ShardedSoftmaxLoss.combine(statistics) : nil
        if training { try backward(pass, top: top, logNormalizers: combined?.logNormalizers) }
        let sum = try trace.span("reading the losses") { try loss.windowLoss(blockLosses: combined.map { [$0.loss] } ?? []) }
        try model.advanceCarriedState(pass.layout)
        // Queues of one context met through markers: the next window may reuse every buffer only
        // once each consumer's copies are done.
        try model.synchronize()
        return sum
    }

    /// The next-token logits (B×V, row-major) after feeding `window` (no gradients; the carried
    /// state advances, so windows can be fed one after another). Used for sampling.
    public func logits(after window: TokenWindow) throws -> [Float] {
        let pass = try forward(window, training: false)
        let rows = window.inputs.count
        let top = try topShipment(pass, rows: 0..<rows)
        try loss.prepare(blocks: [0..<rows], windowRows: rows, targets: nil, training: false, gradientSum: nil)
        let logits = try loss.shards.indices.map { s in try loss.logits(s, block: 0, from: top) }
        try model.advanceCarriedState(pass.layout)
        let last = (window.steps - 1) * window.batch..<window.steps * window.batch
        let shards = try zip(loss.shards, logits).map { try $0.backend.download($1.rows(last)) }
        try model.synchronize()   // as in `run`
        // Reassemble each row from its shards' columns.
        var result: [Float] = []
        result.reserveCapacity(window.batch * model.configuration.vocabularySize)
        for b in 0..<window.batch {
            for (layer, values) in zip(loss.shards, shards) {
                let width = layer.weight.rows.count
                result += values[b * width..<(b + 1) * width]
            }
        }
        return result
    }

    /// The embedding, then every layer over the whole window, one after another.
    private func forward(_ window: TokenWindow, training: Bool) throws -> WindowPass {
        let trace = executionTrace
        let pass = try trace.span("embedding and dropout masks", arguments: ["rows": .integer(window.inputs.count)]) {
            try WindowPass(model, window, training: training, transport: transport, workspace: &workspace)
        }
        let lstm = model.lstm, all = 0..<window.steps
        for l in lstm.indices {
            try trace.span("layer \(l) forward, steps \(all)", arguments: arguments(lstm[l].backend, window.inputs.count)) {
                let input = l == 0 ? nil
                    : try transport.send(pass.output(ofLayer: l - 1, rows: 0..<window.inputs.count), from: lstm[l - 1].backend,
                                         to: [lstm[l].backend])
                try pass.forward(layer: l, steps: all, input: input)
            }
        }
        return pass
    }

    /// The top layer's rows, sent to every softmax shard's backend (read back once for all the
    /// shards in another memory domain).
    private func topShipment(_ pass: WindowPass, rows: Range<Int>) throws -> Shipment {
        let top = model.lstm.count - 1
        return try transport.send(pass.decoderInput(rows: rows, workspace: &workspace), from: model.lstm[top].backend,
                                  to: model.decoder.map(\.backend))
    }

    /// The shards' backward and ∂L/∂h_top, then the layers in reverse and the embedding.
    private func backward(_ pass: WindowPass, top: Shipment, logNormalizers: [Float]?) throws {
        let lstm = model.lstm, steps = pass.layout.steps, rows = 0..<steps * pass.layout.batch
        let trace = executionTrace
        var parts: [Shipment?] = []
        for s in loss.shards.indices {
            try trace.span("softmax shard \(s) backward, steps 0..<\(steps)", arguments: arguments(loss.shards[s].backend, rows.count)) {
                try loss.backward(s, block: 0, logNormalizers: logNormalizers, from: top)
                parts.append(try loss.sendGradient(s, block: 0))
            }
            try onGradientsFinal?([model.decoder[s].weight, model.decoder[s].bias])
        }
        let topBackend = lstm[lstm.count - 1].backend
        let arriving = parts.allSatisfy { $0 == nil } ? nil
            : try workspace.tensor("gradientTopArriving", [rows.count, model.configuration.hiddenSize], on: topBackend)
        try loss.accumulateInputGradient(block: 0, parts: parts, arriving: arriving)
        try pass.backwardThroughOutputDropout()
        for l in lstm.indices.reversed() {
            try trace.span("layer \(l) backward, steps 0..<\(steps)", arguments: arguments(lstm[l].backend, rows.count)) {
                let above = l == lstm.count - 1 ? nil
                    : try transport.send(pass.inputGradients[l + 1].rows(rows), from: lstm[l + 1].backend, to: [lstm[l].backend])
                try pass.backward(layer: l, steps: 0..<steps, outputGradient: above)
            }
            try trace.span("layer \(l) weight gradients", arguments: arguments(lstm[l].backend, rows.count)) {
                try pass.finishBackward(layer: l)
            }
            try onGradientsFinal?(lstm[l].parameters)
        }
        try trace.span("embedding backward") { try pass.embeddingBackward() }
        try onGradientsFinal?([model.embedding.weight])
    }

    /// A span's trace arguments: its device and the rows (time steps × sequences) it works on.
    private func arguments(_ backend: Backend, _ rows: Int) -> [String: TraceArgument] {
        ["device": .string(backend.name), "rows": .integer(rows), "shape": .shape([rows, model.configuration.hiddenSize])]
    }
}
