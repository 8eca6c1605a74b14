import Foundation

/// The wavefront schedule (`ExecutionSchedule.wavefront`): host workers hand runs of K time steps
/// from layer to layer, and on to the decoder shards, as soon as they are done. The decoder and
/// its loss are `ShardedSoftmaxLoss`, one block per unit; every hand-over goes through the
/// `Transport`: the producer enqueues its work and sends the rows (a marker for a queue of its
/// context, a non-blocking staged read for another memory domain) before it signals, and goes on
/// with its next task without draining its queue; the consumer's queue waits for the marker on
/// the device, or its thread for the staged read's event on the host. So a queue holds several
/// tasks at once, chained by events — at most `queueDepth` of one worker's.
///
/// **Forward phase.** Layer l takes run r once layer l−1 has handed it over. Each decoder shard
/// takes run r once the top layer has: it computes its logits rows (K·B×V_s) and their softmax
/// statistics; the host combines every shard's statistics for those rows into the loss (a whole
/// softmax's fused kernel needs no combining); then each
/// shard turns its logits into ∂L/∂logits (the mean over the window's T·B targets), accumulates its
/// weight and bias gradients and writes its part of ∂L/∂h_top for the rows. So the shards' devices
/// work while the layers do, and logits exist one run at a time per shard (K·B×V_s, reused run
/// after run), never for the whole window as in the sequential schedule.
///
/// **Backward phase.** The layers in reverse, as soon as the layer above has handed a run down;
/// the top layer first waits for every shard's part of ∂L/∂h for the run and sums them in shard
/// order, so the result does not depend on which worker finished first. The same workers run it
/// after their forward tasks, with no barrier between: without micro-batches the top layer's
/// first backward run is the last one, which needs the decoder's last run anyway.
///
/// **Micro-batches** (`microBatches` M > 1, GPipe): the unit of work is one micro-batch's run,
/// (m, r). The forward takes them micro-batch by micro-batch (m = 0..<M, each one's runs in time
/// order); the backward micro-batch by micro-batch from the first, each one's runs in reverse
/// (`backwardUnits`), so the layers' backward of micro-batch m overlaps the softmax of the later
/// ones. Every buffer above holds the window's rows in `MicroBatchLayout` order, so a unit's rows
/// are contiguous; run-sized decoder buffers hold K·B' rows; the softmax statistics and the
/// shards' parts of ∂L/∂h are per unit. Losses keep the scale 1/(T·B), and the weight gradients
/// sum over every unit, so the step equals the one-device one.
///
/// **Workers.** One per layer, and one per further backend object among the shards (see
/// `pipelineWorkers`). A failing worker records its error and the others stop waiting
/// (`Signal.wait(unless:)`), so a failure never leaves a worker blocked.
///
/// **Per-device task order** (what `PipelineSimulator` models): each worker runs its forward
/// tasks in the one order of `forwardTasks` (by wavefront slot, then layer before statistics
/// before gradient, then index), then, for a layer's worker when training, its backward units in
/// the order of `backwardUnits`, then its weight gradients, then drains its queue (one
/// `synchronize` per worker and window, not per task); before each task it waits for the marker
/// of its task `queueDepth` back. The embedding's gradient follows on the calling thread once
/// every worker is done. The price of not draining per task: a worker's busy time is the time
/// its thread spends on its tasks (enqueuing, waiting for its own queue's marker, and waiting on
/// the host for staged inputs and for the blocking reads of a split softmax's statistics) plus its
/// final drain, not exactly its device's time; and a device failure that surfaces asynchronously
/// is named with the task whose wait saw it (at most `queueDepth` tasks later, or the worker's
/// final drain), not necessarily the task that caused it.
///
/// Memory: logits exist for one unit per shard (K·B/M×V_s), not for the whole window.
public final class WavefrontExecutor: ReportsFinalGradients {
    public let model: LanguageModel
    /// K: time steps per run (at least 1).
    public let stepsPerRun: Int
    /// M: micro-batches per window (a divisor of the batch).
    public let microBatches: Int
    /// Called on the thread that called `run`, during a training window's backward, with each
    /// worker's parameters once that worker has finished (its layer's and softmax shards'), then
    /// with the embedding's: the order varies with timing, so a data-parallel wrapper starts its
    /// buckets in their own fixed order (`DataParallelExecutor`).
    public var onGradientsFinal: (([Parameter]) throws -> Void)?
    /// Every move between backends (traced when `trace(into:)` has a recorder).
    private let tracedTransport: TracedTransport
    var transport: Transport { tracedTransport }
    private var executionTrace: ExecutionTrace?
    private let loss: ShardedSoftmaxLoss
    private var workspace = Workspace()   // used from the calling thread only, never from pipeline workers
    /// Busy and wall time of the pipelined training steps so far.
    public var utilization: PipelineUtilization { crew.utilization }
    /// Tasks a worker keeps in its queue at most: before it enqueues a task it waits on the host
    /// for the marker that ended the task `queueDepth` back. One would be a drain per task (the
    /// next task waits for the last one's device work); unbounded would let a worker whose tasks
    /// wait for nothing (layer 0's forward) fill its queue with the whole window and hold its
    /// device ahead of another part's queue on the same device, which a device serves in the
    /// order work was enqueued. Two: the device works through one task while the next is enqueued.
    static let queueDepth = 2
    /// One host thread per worker, for the executor's life: started at the first step.
    private let crew = PipelineCrew()
    /// The worker threads, once started (for tests).
    var workerPool: WorkerPool? { crew.workerPool }

    public convenience init(model: LanguageModel, stepsPerRun: Int, microBatches: Int = 1) {
        self.init(model: model, stepsPerRun: stepsPerRun, microBatches: microBatches, transport: DeviceTransport())
    }

    /// With another transport (a timing device's modelled links, a test's counting one).
    init(model: LanguageModel, stepsPerRun: Int, microBatches: Int, transport: Transport) {
        self.model = model
        self.stepsPerRun = stepsPerRun
        self.microBatches = microBatches
        tracedTransport = TracedTransport(transport)
        loss = ShardedSoftmaxLoss(decoder: model.decoder, top: model.lstm[model.lstm.count - 1].backend, transport: tracedTransport)
    }

    public func trace(into recorder: TraceRecorder?) throws {
        executionTrace = try tracedTransport.record(into: recorder, devices: model.devices, parts: model.traceParts)
    }

    private var lstm: [LSTMLayer] { model.lstm }
    private var decoder: [LinearLayer] { model.decoder }

    /// Worker l drives layer l, and the decoder shards join or follow (`PipelineWorker.assemble`).
    func pipelineWorkers() throws -> [PipelineWorker] {
        try PipelineWorker.assemble(layers: lstm.map(\.backend), shards: decoder.map(\.backend))
    }

    /// One task of the forward phase, for run `run` of micro-batch `microBatch`: layer `index`'s
    /// forward, or shard `index`'s statistics or gradient half.
    struct ForwardTask: Equatable {
        typealias Kind = WavefrontTask.Kind
        let kind: Kind
        let index: Int
        var microBatch = 0
        let run: Int
    }

    /// `worker`'s forward tasks in wavefront order (`wavefrontOrder`): the units (m, r) numbered
    /// u = m·R + r are the chain's positions, so layer l takes unit u at slot u + l, the decoder at u + L.
    func forwardTasks(for worker: PipelineWorker, runs: Int, microBatches: Int = 1, training: Bool) -> [ForwardTask] {
        wavefrontOrder(for: worker, positions: microBatches * runs, layers: lstm.count, training: training).map { task in
            ForwardTask(kind: task.kind, index: task.index,
                        microBatch: task.position / runs, run: task.position % runs)
        }
    }

    /// Steps 0..<T cut into runs of `stepsPerRun` (the last one shorter).
    static func runs(steps: Int, stepsPerRun: Int) -> [Range<Int>] {
        let k = max(stepsPerRun, 1)
        return stride(from: 0, to: steps, by: k).map { $0..<min($0 + k, steps) }
    }

    /// The pipeline's units of work: each micro-batch's runs, micro-batch by micro-batch (the
    /// forward order; the backward takes them reversed). Unit u = m·R + r.
    struct PipelineUnits {
        let layout: MicroBatchLayout
        let runs: [Range<Int>]

        var count: Int { layout.microBatches * runs.count }
        var indices: Range<Int> { 0..<count }
        func microBatch(_ u: Int) -> Int { u / runs.count }
        func steps(_ u: Int) -> Range<Int> { runs[u % runs.count] }
        func index(microBatch m: Int, run r: Int) -> Int { m * runs.count + r }
        /// Unit u's rows in every window-long buffer.
        func rows(_ u: Int) -> Range<Int> { layout.rows(microBatch(u), steps(u)) }
        /// The most rows a unit has (the first run is the longest): the size of run-sized buffers.
        var maxRows: Int { runs[0].count * layout.sequences }
        /// "steps 2..<4", or "micro-batch 1, steps 2..<4" with micro-batches: names the unit in errors.
        func name(_ u: Int) -> String {
            layout.microBatches == 1 ? "steps \(steps(u))" : "micro-batch \(microBatch(u)), steps \(steps(u))"
        }
    }

    /// Layer l's backward units in their order: micro-batch by micro-batch from the first (whose
    /// softmax finished longest ago), each one's runs in reverse time order. In the one global
    /// order of `forwardTasks`, backward unit (m, r) of layer l comes at slot
    /// M·R + L + m·R + (R−1−r) + (L−1−l): after every forward task, and after its dependencies —
    /// the same unit of layer l+1 and the same micro-batch's later run of layer l, one slot before.
    static func backwardUnits(_ units: PipelineUnits) -> [Int] {
        (0..<units.layout.microBatches).flatMap { m in
            units.runs.indices.reversed().map { r in units.index(microBatch: m, run: r) }
        }
    }

    // MARK: The pipelined step

    /// One pipelined step: the forward (layers and decoder, loss included) and, when training, the
    /// backward, in one set of workers with no barrier between them: a layer's worker goes on to
    /// its backward units after its forward tasks, and the top layer takes unit u's backward once
    /// every shard has written its part of ∂L/∂h for u. Returns the window's summed cross-entropy.
    public func run(_ window: TokenWindow, training: Bool) throws -> Double {
        try crew.requireOpen()
        if training && model.configuration.drops(at: .output) {
            throw CLTrainError.invalidArgument("dropout at the output (--dropout-at output) is not pipelined: drop --pipeline or that site")
        }
        let trace = executionTrace
        let pass = try trace.span("embedding and dropout masks", arguments: ["rows": .integer(window.inputs.count)]) {
            try WindowPass(model, window, training: training, microBatches: microBatches, transport: transport, workspace: &workspace)
        }
        let workers = try pipelineWorkers()
        let steps = window.steps
        let runs = Self.runs(steps: steps, stepsPerRun: stepsPerRun)
        let units = PipelineUnits(layout: pass.layout, runs: runs)
        let top = lstm.count - 1, hidden = model.configuration.hiddenSize
        // The decoder's buffers and every hand-off, made here: the workspace is not thread-safe.
        try loss.prepare(blocks: units.indices.map(units.rows), windowRows: window.inputs.count,
                         targets: pass.layout.reordered(window.targets), training: training,
                         gradientSum: pass.outputGradients.last)
        let softmax = try PipelinedSoftmax(loss, units: units.count, maxRows: units.maxRows, hiddenSize: hidden, training: training,
                                           workspace: &workspace)
        // Who reads each layer's output: the layer above, or (for the top layer) every shard.
        let consumers = lstm.indices.map { l in l < top ? [lstm[l + 1].backend] : decoder.map(\.backend) }
        let sent = lstm.map { _ in units.indices.map { _ in ShipmentSlot() } }          // layer l's output for unit u
        let ready = lstm.map { _ in units.indices.map { _ in Signal() } }
        let tasks = workers.map { forwardTasks(for: $0, runs: runs.count, microBatches: units.layout.microBatches, training: training) }
        // Backward hand-offs: layer l's input gradient for unit u.
        let sentDown = lstm.map { _ in units.indices.map { _ in ShipmentSlot() } }
        let readyDown = lstm.map { _ in units.indices.map { _ in Signal() } }

        // A worker's parameters are final once its body has returned (its last task synchronized
        // its backend): reported then, on this thread, while the other workers go on.
        let finished: ((Int) throws -> Void)? = training ? { [unowned self] w in
            let worker = workers[w]
            try self.onGradientsFinal?((worker.layer.map { self.lstm[$0].parameters } ?? [])
                                       + worker.shards.flatMap { [self.decoder[$0].weight, self.decoder[$0].bias] })
        } : nil
        try crew.run(workers, names: workers.map(\.name), trace: trace, record: training, onFinished: finished) { w, threads, busy in
            let backend = workers[w].backend
            var queue = BoundedQueue(backend, depth: Self.queueDepth)
            for task in tasks[w] {
                let u = units.index(microBatch: task.microBatch, run: task.run)
                let run = runs[task.run], rows = units.rows(u)
                switch task.kind {
                case .layer:
                    let l = task.index, b = self.lstm[l].backend
                    if l > 0 { try ready[l - 1][u].wait(unless: threads) }
                    try busy.task(w, "layer \(l) forward, \(units.name(u))", on: b, arguments: taskArguments(b, rows: rows, width: hidden),
                                  queue: &queue) {
                        try pass.forward(layer: l, steps: run, microBatch: task.microBatch, input: l > 0 ? sent[l - 1][u].shipment : nil)
                        sent[l][u].shipment = try self.transport.send(pass.output(ofLayer: l, rows: rows), from: b, to: consumers[l])
                    }
                    ready[l][u].fire()
                case .statistics:
                    let s = task.index, b = self.decoder[s].backend
                    try ready[top][u].wait(unless: threads)
                    try busy.task(w, "softmax shard \(s) forward, \(units.name(u))", on: b,
                                  arguments: taskArguments(b, rows: rows, width: hidden), queue: &queue) {
                        try softmax.forward(s, unit: u, from: sent[top][u].required())
                    }
                case .gradient:
                    let s = task.index, b = self.decoder[s].backend
                    try softmax.waitForStatistics(unit: u, unless: threads)
                    try busy.task(w, "softmax shard \(s) backward, \(units.name(u))", on: b,
                                  arguments: taskArguments(b, rows: rows, width: hidden), queue: &queue) {
                        try softmax.backward(s, unit: u, from: sent[top][u].required())
                    }
                    softmax.finished(s, unit: u)
                }
            }
            guard training, let l = workers[w].layer else {
                let name = "\(workers[w].name): the window's last tasks"
                return try busy.time(w, name, arguments: ["device": .string(backend.name)]) {
                    try onDevice(backend, name) { try backend.synchronize() }
                }
            }
            let b = self.lstm[l].backend
            for u in Self.backwardUnits(units) {
                let rows = units.rows(u)
                if l < top {
                    try readyDown[l + 1][u].wait(unless: threads)
                } else {
                    try softmax.waitForGradients(unit: u, unless: threads)
                }
                try busy.task(w, "layer \(l) backward, \(units.name(u))", on: b, arguments: taskArguments(b, rows: rows, width: hidden),
                              queue: &queue) {
                    if l == top { try softmax.accumulateInputGradient(unit: u) }
                    try pass.backward(layer: l, steps: units.steps(u), microBatch: units.microBatch(u),
                                      outputGradient: l < top ? sentDown[l + 1][u].shipment : nil)
                    if l > 0 {
                        sentDown[l][u].shipment = try self.transport.send(pass.inputGradients[l].rows(rows), from: b,
                                                                          to: [self.lstm[l - 1].backend])
                    }
                }
                readyDown[l][u].fire()
            }
            try busy.time(w, "layer \(l) weight gradients", arguments: taskArguments(b, rows: 0..<window.inputs.count, width: hidden)) {
                try onDevice(b, "layer \(l) weight gradients") {
                    try pass.finishBackward(layer: l)
                    try b.synchronize()
                }
            }
        }
        if training {
            try trace.span("embedding backward") { try pass.embeddingBackward() }
            try onGradientsFinal?([model.embedding.weight])
        }
        var sum = 0.0
        try trace.span("reading the losses") {
            try onDevice(decoder[0].backend, "softmax shard 0, reading the losses") { sum = try softmax.stepLoss() }
        }
        try model.advanceCarriedState(pass.layout)
        return sum
    }

    /// Stops the worker threads now (else at deinit); the executor runs no further window.
    public func close() { crew.close() }
}
