/// The wavefront schedule for the encoder–decoder (`ExecutionSchedule.wavefront` of a
/// `TranslationModel`), the schedule `PipelineSimulator.simulate(_: TranslationPipelineModel, …)`
/// predicts: the language model's wavefront (`WavefrontExecutor`) over two stacks.
///
/// **Workers** (`PipelineWorker.assemble`): one per layer index l, running encoder layer l and
/// decoder layer l on their shared backend (`devices.layers[l]`), and one per further backend
/// object among the softmax shards; each layer index needs a backend object of its own.
///
/// **Units.** Both windows are cut into runs of K steps (the source's S, the target's T), and the
/// batch's B sequences into M micro-batches of B' (`MicroBatchLayout`; every buffer of a stack
/// holds its rows in that order). A micro-batch's chain is its R_S encoder runs, then its R_T
/// decoder runs; the chains go micro-batch by micro-batch.
///
/// **Forward.** Worker l, chain position by chain position: encoder layer l's run (after encoder
/// layer l−1 handed it over); after micro-batch m's last source run, the hand-over — each
/// sequence's (h, c) at its own last real token (`TranslationExecutor.finalStateRows` in the
/// layout), gathered into decoder layer l's initial state, on the same backend; then decoder layer
/// l's runs (after decoder layer l−1's), the top layer's sent to every shard, which computes each
/// run's statistics and gradient exactly as for the language model (`PipelinedSoftmax`). So
/// decoder layer l starts while the encoder's upper layers still read the source.
///
/// **Backward**, per layer worker after its forward tasks, micro-batch by micro-batch: the
/// decoder's runs in reverse (the top layer summing the shards' parts of ∂L/∂h), ∂L/∂h0, ∂L/∂c0
/// scattered back into the encoder layer's rows where the states were gathered, the encoder's runs
/// in reverse (after encoder layer l+1's); then both layers' weight gradients and a drain. The
/// embeddings' gradients follow on the calling thread.
///
/// **Task order**: one global order (`wavefrontOrder` over the chain positions, then the backward
/// at later slots) that every worker keeps, so none waits for another in a circle; each worker's
/// queue holds at most `WavefrontExecutor.queueDepth` tasks.
///
/// The loss scale is 1 / (the whole batch's target tokens) for every unit and the weight gradients
/// sum over every unit, so a step equals the one-device step of `TranslationExecutor`. Nothing is
/// carried to the next batch.
public final class TranslationWavefrontExecutor: TranslationBatchExecutor {
    public let model: TranslationModel
    /// K: time steps per run (at least 1), for both windows.
    public let stepsPerRun: Int
    /// M: micro-batches per batch. A batch of B sequences is split into gcd(M, B) (so M whenever M
    /// divides B): an epoch's last batch is smaller than the others (`TranslationBatcher`), and
    /// the results do not depend on the split.
    public let microBatches: Int
    /// Every move between backends (traced when `trace(into:)` has a recorder).
    private let tracedTransport: TracedTransport
    var transport: Transport { tracedTransport }
    private var executionTrace: ExecutionTrace?
    private let loss: ShardedSoftmaxLoss
    private var workspace = Workspace()   // used from the calling thread only, never from pipeline workers
    private let crew = PipelineCrew()
    public var utilization: PipelineUtilization { crew.utilization }
    /// The worker threads, once started (for tests).
    var workerPool: WorkerPool? { crew.workerPool }

    public convenience init(model: TranslationModel, stepsPerRun: Int, microBatches: Int = 1) {
        self.init(model: model, stepsPerRun: stepsPerRun, microBatches: microBatches, transport: DeviceTransport())
    }

    /// With another transport (a timing device's modelled links, a test's counting one).
    init(model: TranslationModel, stepsPerRun: Int, microBatches: Int, transport: Transport) {
        self.model = model
        self.stepsPerRun = stepsPerRun
        self.microBatches = microBatches
        tracedTransport = TracedTransport(transport)
        loss = ShardedSoftmaxLoss(decoder: model.output, top: model.decoder.layers[model.decoder.layers.count - 1].backend,
                                  transport: tracedTransport)
    }

    public func trace(into recorder: TraceRecorder?) throws {
        executionTrace = try tracedTransport.record(into: recorder, devices: model.devices, parts: model.traceParts)
    }

    /// Worker l drives encoder and decoder layer l; the softmax shards join or follow.
    func pipelineWorkers() throws -> [PipelineWorker] {
        try PipelineWorker.assemble(layers: model.devices.layers, shards: model.output.map(\.backend))
    }

    static func workerName(_ worker: PipelineWorker) -> String { worker.name { "encoder and decoder layer \($0)" } }

    /// One micro-batch's chain of units: its encoder runs, then its decoder runs.
    struct Chain {
        let source: WavefrontExecutor.PipelineUnits
        let target: WavefrontExecutor.PipelineUnits

        var length: Int { source.runs.count + target.runs.count }
        var positions: Int { source.layout.microBatches * length }

        /// Position p: micro-batch p / length's encoder run, or its decoder run once past R_S.
        func unit(_ p: Int) -> (encoder: Bool, unit: Int) {
            let (m, q) = p.quotientAndRemainder(dividingBy: length)
            let r = source.runs.count
            return q < r ? (true, source.index(microBatch: m, run: q)) : (false, target.index(microBatch: m, run: q - r))
        }
    }

    /// A task of the forward phase: a layer's run of the encoder or decoder, or a shard's half of a decoder run.
    enum Task: Equatable {
        case encoder(layer: Int, unit: Int)
        case decoder(layer: Int, unit: Int)
        case statistics(shard: Int, unit: Int)
        case gradient(shard: Int, unit: Int)
    }

    /// `worker`'s forward tasks in the one global order (`wavefrontOrder` over the chain's positions,
    /// the shards taking the decoder's).
    func forwardTasks(for worker: PipelineWorker, chain: Chain, training: Bool) -> [Task] {
        wavefrontOrder(for: worker, positions: chain.positions, layers: model.devices.layers.count, training: training,
                       reachesShards: { !chain.unit($0).encoder }).map { task in
            let (encoder, u) = chain.unit(task.position)
            switch task.kind {
            case .layer: return encoder ? .encoder(layer: task.index, unit: u) : .decoder(layer: task.index, unit: u)
            case .statistics: return .statistics(shard: task.index, unit: u)
            case .gradient: return .gradient(shard: task.index, unit: u)
            }
        }
    }

    /// One step: the forward (both stacks and the softmax, loss included) and, when training, the
    /// backward, in one set of workers with no barrier between them. Returns the summed
    /// cross-entropy over the batch's target tokens that count, and their number.
    /// - Throws: what `TranslationExecutor.run` throws for a bad batch; `invalidArgument` for
    ///   M < 1; `PipelineError` for layers sharing a backend object
    ///   or a device failing (naming the device and the task).
    public func run(_ batch: TranslationBatch, training: Bool) throws -> (lossSum: Double, tokens: Int) {
        try crew.requireOpen()
        let c = model.configuration, b0 = batch.batch, hidden = c.hiddenSize
        let tokens = try TranslationExecutor.targetTokens(batch)
        let workers = try pipelineWorkers()
        let microBatches = try Self.microBatches(self.microBatches, batch: b0)
        let trace = executionTrace
        let (encoderPass, decoderPass) = try trace.span("embeddings and dropout masks",
                                                        arguments: ["rows": .integer(batch.sourceTokens.count + batch.targetInputs.count)]) {
            (try StackPass(model.encoder, name: "encoder", tokens: batch.sourceTokens, steps: batch.sourceSteps,
                           batch: b0, microBatches: microBatches, training: training, dropout: c.dropout,
                           generator: &model.dropoutGenerator, transport: transport, workspace: &workspace),
             try StackPass(model.decoder, name: "decoder", tokens: batch.targetInputs, steps: batch.targetSteps,
                           batch: b0, microBatches: microBatches, training: training, dropout: c.dropout,
                           generator: &model.dropoutGenerator, transport: transport, workspace: &workspace))
        }
        let chain = Chain(source: .init(layout: encoderPass.layout, runs: WavefrontExecutor.runs(steps: batch.sourceSteps, stepsPerRun: stepsPerRun)),
                          target: .init(layout: decoderPass.layout, runs: WavefrontExecutor.runs(steps: batch.targetSteps, stepsPerRun: stepsPerRun)))
        let (source, target) = (chain.source, chain.target)
        let encoder = model.encoder.layers, decoder = model.decoder.layers, top = decoder.count - 1
        let layout = encoderPass.layout, m = layout.microBatches

        // Every buffer and hand-off, made here: the workspace is not thread-safe.
        let finalRows = try TranslationExecutor.finalStateRows(batch, layout: layout)
        let rowIndices = try encoder.map { layer in
            try (0..<m).map { mb in
                try workspace.indices("finalRows/\(mb)", Array(finalRows[layout.stateRows(mb)]), on: layer.backend)
            }
        }
        let zeroStates = try encoder.enumerated().map { l, layer in
            try workspace.stateTensors("zeroState\(l)", batch: b0, hidden: hidden, on: layer.backend, filledWith: 0)
        }
        let decoderStates = try decoder.enumerated().map { l, layer in
            try workspace.stateTensors("decoderState\(l)", batch: b0, hidden: hidden, on: layer.backend)
        }
        let stateGradients = training ? try decoder.enumerated().map { l, layer in
            try workspace.stateTensors("decoderStateGradient\(l)", batch: b0, hidden: hidden, on: layer.backend)
        } : []
        let outside = training ? try encoderPass.outsideGradients("encoder", workspace: &workspace) : []
        try loss.prepare(blocks: target.indices.map(target.rows), windowRows: batch.targetInputs.count,
                         targets: decoderPass.layout.reordered(batch.targetOutputs), training: training,
                         gradientSum: decoderPass.outputGradients.last, gradientScale: 1 / Float(tokens))
        let softmax = try PipelinedSoftmax(loss, units: target.count, maxRows: target.maxRows, hiddenSize: hidden,
                                           training: training, workspace: &workspace)
        // Who reads each layer's output: the layer above, or (the decoder's top layer) every shard.
        let encoderRuns = StackRuns("encoder", encoderPass, source, initialStates: zeroStates, transport: transport,
                                    consumers: encoder.indices.map { l in l < top ? [encoder[l + 1].backend] : [] })
        let decoderRuns = StackRuns("decoder", decoderPass, target, initialStates: decoderStates, transport: transport,
                                    consumers: decoder.indices.map { l in l < top ? [decoder[l + 1].backend] : model.output.map(\.backend) })
        let tasks = workers.map { forwardTasks(for: $0, chain: chain, training: training) }
        let handover = { (mb: Int) in m == 1 ? "" : ", micro-batch \(mb)" }

        try crew.run(workers, names: workers.map(Self.workerName), trace: trace, record: training) { w, threads, busy in
            let backend = workers[w].backend
            var queue = BoundedQueue(backend, depth: WavefrontExecutor.queueDepth)
            for task in tasks[w] {
                switch task {
                case .encoder(let l, let u):
                    try encoderRuns.forward(layer: l, unit: u, worker: w, threads, busy, &queue)
                    let b = encoder[l].backend, mb = source.microBatch(u)
                    guard source.steps(u).upperBound == source.layout.steps else { continue }
                    // The micro-batch's last source run: its final states start the decoder layer of this index.
                    try busy.task(w, "encoder layer \(l) final state → decoder layer \(l)\(handover(mb))", on: b,
                                  arguments: taskArguments(b, rows: layout.stateRows(mb), width: hidden), queue: &queue) {
                        try encoderPass.gatherState(layer: l, rows: rowIndices[l][mb], into: decoderRuns.state(l, microBatch: mb))
                    }
                case .decoder(let l, let u):
                    try decoderRuns.forward(layer: l, unit: u, worker: w, threads, busy, &queue)
                case .statistics(let s, let u):
                    let b = self.model.output[s].backend
                    try decoderRuns.ready[top][u].wait(unless: threads)
                    try busy.task(w, "softmax shard \(s) forward, \(target.name(u))", on: b,
                                  arguments: taskArguments(b, rows: target.rows(u), width: hidden), queue: &queue) {
                        try softmax.forward(s, unit: u, from: decoderRuns.sent[top][u].required())
                    }
                case .gradient(let s, let u):
                    let b = self.model.output[s].backend
                    try softmax.waitForStatistics(unit: u, unless: threads)
                    try busy.task(w, "softmax shard \(s) backward, \(target.name(u))", on: b,
                                  arguments: taskArguments(b, rows: target.rows(u), width: hidden), queue: &queue) {
                        try softmax.backward(s, unit: u, from: decoderRuns.sent[top][u].required())
                    }
                    softmax.finished(s, unit: u)
                }
            }
            guard training, let l = workers[w].layer else {
                let name = "\(Self.workerName(workers[w])): the batch's last tasks"
                return try busy.time(w, name, arguments: ["device": .string(backend.name)]) {
                    try onDevice(backend, name) { try backend.synchronize() }
                }
            }
            let b = decoder[l].backend
            // The top decoder layer's ∂L/∂h comes from the shards, summed in shard order.
            let fromShards = l < top ? nil : (wait: { (u: Int) in try softmax.waitForGradients(unit: u, unless: threads) },
                                              receive: { (u: Int) in try softmax.accumulateInputGradient(unit: u) })
            for mb in 0..<m {
                for r in target.runs.indices.reversed() {
                    try decoderRuns.backward(layer: l, unit: target.index(microBatch: mb, run: r), worker: w, threads, busy, &queue,
                                             fromOutside: fromShards, initialStateGradient: Self.rows(stateGradients[l], layout.stateRows(mb)))
                }
                try busy.task(w, "decoder layer \(l) ∂h₀, ∂c₀ → encoder layer \(l)\(handover(mb))", on: b,
                              arguments: taskArguments(b, rows: layout.stateRows(mb), width: hidden), queue: &queue) {
                    try encoderPass.scatterStateGradient(layer: l, microBatch: mb, Self.rows(stateGradients[l], layout.stateRows(mb)),
                                                         rows: rowIndices[l][mb], into: outside[l])
                }
                for r in source.runs.indices.reversed() {
                    try encoderRuns.backward(layer: l, unit: source.index(microBatch: mb, run: r), worker: w, threads, busy, &queue,
                                             outside: outside[l])
                }
            }
            // Both layers' weight gradients over their whole windows, then the worker's one drain.
            try decoderRuns.finishBackward(layer: l, worker: w, busy)
            try encoderRuns.finishBackward(layer: l, worker: w, busy)
            let drain = "\(Self.workerName(workers[w])): the batch's last tasks"
            try busy.time(w, drain, arguments: ["device": .string(b.name)]) { try onDevice(b, drain) { try b.synchronize() } }
        }
        if training {
            try trace.span("embeddings backward") {
                try onDevice(encoder[0].backend, "the embeddings' gradients") {
                    try decoderPass.embeddingBackward()
                    try encoderPass.embeddingBackward()
                }
            }
        }
        var sum = 0.0
        try trace.span("reading the losses") {
            try onDevice(model.output[0].backend, "softmax shard 0, reading the losses") { sum = try softmax.stepLoss() }
        }
        try model.synchronize()
        return (sum, tokens)
    }

    /// How many micro-batches a batch of `batch` sequences is split into: gcd(M, B).
    /// - Throws: `invalidArgument` (naming B and M) unless M is positive.
    static func microBatches(_ m: Int, batch: Int) throws -> Int {
        guard m > 0 else { try checkMicroBatches(m, batch: batch); return 1 }
        var (a, b) = (m, batch)
        while b != 0 { (a, b) = (b, a % b) }
        return max(a, 1)
    }

    /// Rows `range` of a layer's (h, c) pair (a micro-batch's B'×H of B×H).
    private static func rows(_ state: (hidden: Tensor, cell: Tensor), _ range: Range<Int>) throws -> (hidden: Tensor, cell: Tensor) {
        (try state.hidden.rows(range), try state.cell.rows(range))
    }

    /// Stops the worker threads now (else at deinit); the executor runs no further batch.
    public func close() { crew.close() }
}

/// One stack's side of a pipelined translation step: its pass and units, each layer's initial
/// states, and the hand-offs between its layers (layer l's output and input gradient for unit u,
/// and the signals that they are sent). Made on the calling thread; its methods run on the workers.
private final class StackRuns: @unchecked Sendable {
    let name: String
    let pass: StackPass
    let units: WavefrontExecutor.PipelineUnits
    /// Per layer, the whole batch's (h0, c0) (B×H each, on the layer's backend).
    let initialStates: [(hidden: Tensor, cell: Tensor)]
    let transport: Transport
    /// Who reads each layer's output.
    let consumers: [[Backend]]
    let sent: [[ShipmentSlot]], ready: [[Signal]]
    let sentDown: [[ShipmentSlot]], readyDown: [[Signal]]

    init(_ name: String, _ pass: StackPass, _ units: WavefrontExecutor.PipelineUnits, initialStates: [(hidden: Tensor, cell: Tensor)],
         transport: Transport, consumers: [[Backend]]) {
        self.name = name
        self.pass = pass
        self.units = units
        self.initialStates = initialStates
        self.transport = transport
        self.consumers = consumers
        let layers = pass.stack.layers.indices
        (sent, sentDown) = (layers.map { _ in units.indices.map { _ in ShipmentSlot() } }, layers.map { _ in units.indices.map { _ in ShipmentSlot() } })
        (ready, readyDown) = (layers.map { _ in units.indices.map { _ in Signal() } }, layers.map { _ in units.indices.map { _ in Signal() } })
    }

    private var width: Int { pass.stack.layers[0].hiddenSize }

    /// Layer l's initial (h, c) for micro-batch m (B'×H each).
    func state(_ l: Int, microBatch m: Int) throws -> (hidden: Tensor, cell: Tensor) {
        let rows = pass.layout.stateRows(m)
        return (try initialStates[l].hidden.rows(rows), try initialStates[l].cell.rows(rows))
    }

    /// Layer l's forward of unit u once layer l−1 has handed it over; its output sent on.
    func forward(layer l: Int, unit u: Int, worker w: Int, _ threads: WorkerPool, _ busy: BusyTime, _ queue: inout BoundedQueue) throws {
        let b = pass.stack.layers[l].backend, rows = units.rows(u), m = units.microBatch(u)
        if l > 0 { try ready[l - 1][u].wait(unless: threads) }
        try busy.task(w, "\(name) layer \(l) forward, \(units.name(u))", on: b, arguments: taskArguments(b, rows: rows, width: width),
                      queue: &queue) {
            try pass.forward(layer: l, steps: units.steps(u), microBatch: m, input: l > 0 ? sent[l - 1][u].shipment : nil,
                             initialState: state(l, microBatch: m))
            sent[l][u].shipment = try transport.send(pass.outputs(ofLayer: l).hiddens.rows(rows), from: b, to: consumers[l])
        }
        ready[l][u].fire()
    }

    /// Layer l's backward of unit u once layer l+1 has handed its gradient down — or, with
    /// `fromOutside`, once `wait(u)` returns, `receive(u)` writing the rows' ∂L/∂h in the task
    /// (the decoder's top layer: the shards' parts); its input gradient sent down.
    /// `outside` and `initialStateGradient` as in `StackPass.backward(layer:…)`.
    func backward(layer l: Int, unit u: Int, worker w: Int, _ threads: WorkerPool, _ busy: BusyTime, _ queue: inout BoundedQueue,
                  fromOutside: (wait: (Int) throws -> Void, receive: (Int) throws -> Void)? = nil,
                  outside: (hidden: Tensor, cell: Tensor)? = nil, initialStateGradient: (hidden: Tensor, cell: Tensor)? = nil) throws {
        let layers = pass.stack.layers, b = layers[l].backend, rows = units.rows(u), m = units.microBatch(u)
        let above = l < layers.count - 1
        if above { try readyDown[l + 1][u].wait(unless: threads) } else { try fromOutside?.wait(u) }
        try busy.task(w, "\(name) layer \(l) backward, \(units.name(u))", on: b, arguments: taskArguments(b, rows: rows, width: width),
                      queue: &queue) {
            if !above { try fromOutside?.receive(u) }
            try pass.backward(layer: l, steps: units.steps(u), microBatch: m, outputGradient: above ? sentDown[l + 1][u].shipment : nil,
                              outside: outside, initialCell: state(l, microBatch: m).cell, initialStateGradient: initialStateGradient)
            if l > 0 {
                sentDown[l][u].shipment = try transport.send(pass.inputGradients[l].rows(rows), from: b, to: [layers[l - 1].backend])
            }
        }
        readyDown[l][u].fire()
    }

    /// Layer l's weight gradients over the whole window, once every unit is through `backward`.
    func finishBackward(layer l: Int, worker w: Int, _ busy: BusyTime) throws {
        let b = pass.stack.layers[l].backend, name = "\(name) layer \(l) weight gradients"
        try busy.time(w, name, arguments: taskArguments(b, rows: 0..<pass.steps * pass.batch, width: width)) {
            try onDevice(b, name) { try pass.finishBackward(layer: l, initialHidden: initialStates[l].hidden) }
        }
    }
}
