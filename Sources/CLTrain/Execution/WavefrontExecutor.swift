import Foundation

/// The wavefront schedule (`ExecutionSchedule.wavefront`): host workers hand runs of K time steps
/// from layer to layer, and on to the decoder shards, as soon as they are done.
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
extension LanguageModel {
    /// One host thread of the pipelined phases and the parts whose backend it drives.
    struct PipelineWorker {
        let backend: Backend
        var layer: Int?
        var shards: [Int] = []

        /// "layer 2 on …", "softmax shards 0, 1 on …", "layer 2 + softmax shard 0 on …".
        var name: String {
            var parts = layer.map { ["layer \($0)"] } ?? []
            if !shards.isEmpty {
                parts.append((shards.count == 1 ? "softmax shard " : "softmax shards ")
                             + shards.map(String.init).joined(separator: ", "))
            }
            return parts.joined(separator: " + ") + " on \(backend.name)"
        }
    }

    /// Worker l drives layer l (layers need backends of their own); a decoder shard joins the
    /// worker that already drives its backend object, else gets a worker of its own. A backend
    /// object is driven by one thread at a time (its queue and kernels are not shared safely, see
    /// `Backend`), so shards on one backend object take turns, while shards on different backends —
    /// other devices, or other queues of one device — work concurrently.
    func pipelineWorkers() throws -> [PipelineWorker] {
        try requireOwnBackends()
        var workers = lstm.enumerated().map { PipelineWorker(backend: $1.backend, layer: $0) }
        for (s, shard) in decoder.enumerated() {
            if let w = workers.firstIndex(where: { $0.backend === shard.backend }) {
                workers[w].shards.append(s)
            } else {
                workers.append(PipelineWorker(backend: shard.backend, shards: [s]))
            }
        }
        return workers
    }

    /// Each layer's worker drives its backend alone, so no two layers may share one backend
    /// object (two layers on one device each get a backend, and so a queue, of their own).
    private func requireOwnBackends() throws {
        for l in lstm.indices {
            if let other = lstm.indices.first(where: { $0 < l && lstm[$0].backend === lstm[l].backend }) {
                throw PipelineError.unsupported(
                    "layers \(other) and \(l) share one backend object; give each layer a backend of its own (a queue each on one device)")
            }
        }
    }

    /// One task of the forward phase, for run `run` of micro-batch `microBatch`: layer `index`'s
    /// forward, or shard `index`'s statistics or gradient half.
    struct ForwardTask: Equatable {
        enum Kind: Int { case layer, statistics, gradient }
        let kind: Kind
        let index: Int
        var microBatch = 0
        let run: Int
    }

    /// `worker`'s forward tasks in wavefront order: by the slot at which each could start in a
    /// pipeline of equal stages (the units (m, r) numbered u = m·R + r; layer l takes unit u at
    /// slot u + l, the decoder at u + L), then layers before statistics before gradients, then by
    /// index. Every task's dependencies (the unit from the layer below or the top layer, and for a
    /// layer its micro-batch's previous run) come earlier in this one order, so workers that each
    /// keep to it cannot wait for each other in a circle; a worker driving a layer and a shard
    /// interleaves them as the wavefront reaches them.
    func forwardTasks(for worker: PipelineWorker, runs: Int, microBatches: Int = 1, training: Bool) -> [ForwardTask] {
        var tasks: [(slot: Int, task: ForwardTask)] = []
        for m in 0..<microBatches {
            for r in 0..<runs {
                let u = m * runs + r
                if let l = worker.layer { tasks.append((u + l, ForwardTask(kind: .layer, index: l, microBatch: m, run: r))) }
                for s in worker.shards {
                    tasks.append((u + lstm.count, ForwardTask(kind: .statistics, index: s, microBatch: m, run: r)))
                    if training { tasks.append((u + lstm.count, ForwardTask(kind: .gradient, index: s, microBatch: m, run: r))) }
                }
            }
        }
        return tasks.sorted { a, b in
            (a.slot, a.task.kind.rawValue, a.task.index) < (b.slot, b.task.kind.rawValue, b.task.index)
        }.map(\.task)
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

    // MARK: Decoder buffers

    /// One shard's buffers in the pipelined forward. Run-sized ones (K·B' rows) are reused unit after
    /// unit: the shard's worker finishes one unit before it starts the next.
    struct ShardBuffers {
        let logits: Tensor        // (K·B'×V_s) one unit's logits, then ∂L/∂logits
        let input: Tensor?        // (K·B'×H) the unit's top hidden states here; nil on the top layer's backend
        let maxima: Tensor, sumExp: Tensor, targetLogits: Tensor, logNormalizers: Tensor   // (K·B') each
        /// (T·B) a whole softmax's per-row losses, read back once the forward phase is done: one
        /// shard has nothing to combine, so its runs need no host round trip.
        let losses: Tensor
        let targets: [IndexTensor]   // per unit: its targets as this shard numbers them
        /// ∂L/∂h_top (T·B×H): this shard's dY·W_s; for shard 0 on the top layer's backend, the sum itself.
        let gradient: Tensor
        /// Whether the top layer reads `gradient` from a host copy (another memory space).
        let gradientOnHost: Bool
        let stagedGradient: [StagedRows]   // per unit, when `gradientOnHost`
    }

    /// The pipelined decoder's buffers and hand-offs, made on the calling thread before the workers
    /// start (the workspace is not thread-safe).
    struct DecoderRuns {
        let shards: [ShardBuffers]
        let statistics: [RunStatistics]   // per unit, for a split softmax (none for a whole one)
    }

    /// The window's summed cross-entropy once the forward phase is done: a whole softmax's losses
    /// in row order, as the sequential schedule sums them; a split one's runs in order.
    private func windowLoss(_ decoderRuns: DecoderRuns) throws -> Double {
        guard decoder.count == 1 else { return decoderRuns.statistics.reduce(0) { $0 + $1.loss } }
        let b = decoder[0].backend
        var total = 0.0
        try onDevice(b, "softmax shard 0, reading the losses") {
            total = try b.download(decoderRuns.shards[0].losses).reduce(0.0) { $0 + Double($1) }
        }
        return total
    }

    private func makeDecoderRuns(_ window: TokenWindow, _ units: PipelineUnits) throws -> DecoderRuns {
        let runRows = units.maxRows
        let windowTargets = units.layout.reordered(window.targets)
        let top = lstm[lstm.count - 1].backend
        let topGradient = try layerGradientBuffers(window).output[lstm.count - 1]
        let shards = try decoder.enumerated().map { s, shard in
            let b = shard.backend
            let onHost = !(b === top || sharesMemory(b, top))
            let rowTensor = { (name: String) in try self.workspace.tensor("\(name)\(s)", [runRows], on: b) }
            return ShardBuffers(
                logits: try workspace.tensor("runLogits\(s)", [runRows, shard.weight.rows.count], on: b),
                input: b === top ? nil : try workspace.tensor("runTop\(s)", [runRows, configuration.hiddenSize], on: b),
                maxima: try rowTensor("runMaxima"), sumExp: try rowTensor("runSumExp"),
                targetLogits: try rowTensor("runTargetLogits"), logNormalizers: try rowTensor("runLogNormalizers"),
                losses: try workspace.tensor("windowLosses\(s)", [window.inputs.count], on: b),
                targets: try units.indices.map { u in
                    let targets = windowTargets[units.rows(u)]
                    return try b.makeIndices(decoder.count == 1 ? Array(targets) : shardTargets(targets, shard: s))
                },
                gradient: s == 0 && b === top ? topGradient : try workspace.tensor("gradientTop\(s)", topGradient.shape, on: b),
                gradientOnHost: onHost,
                stagedGradient: units.indices.map { _ in StagedRows() })
        }
        return DecoderRuns(shards: shards,
                           statistics: decoder.count == 1 ? [] : units.indices.map { _ in RunStatistics(shards: decoder.count) })
    }

    // MARK: The pipelined step

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

    /// One pipelined step: the forward (layers and decoder, loss included) and, when training, the
    /// backward, in one set of workers with no barrier between them: a layer's worker goes on to
    /// its backward units after its forward tasks, and the top layer takes unit u's backward once
    /// every shard has written its part of ∂L/∂h for u. Returns the window's summed cross-entropy.
    func pipelinedStep(_ window: TokenWindow, _ forward: ForwardResult, stepsPerRun: Int, training: Bool) throws -> Double {
        let workers = try pipelineWorkers()
        let steps = window.steps
        let runs = Self.runs(steps: steps, stepsPerRun: stepsPerRun)
        let units = PipelineUnits(layout: forward.layout, runs: runs)
        let decoderRuns = try makeDecoderRuns(window, units)
        let top = lstm.count - 1, topBackend = lstm[top].backend
        // The top layer's rows are read back once for every shard in another memory space.
        let topOnHost = decoder.contains { !($0.backend === topBackend || sharesMemory(topBackend, $0.backend)) }
        let staged = lstm.map { _ in units.indices.map { _ in StagedRows() } }
        let ready = lstm.map { _ in units.indices.map { _ in Signal() } }
        let tasks = workers.map { forwardTasks(for: $0, runs: runs.count, microBatches: units.layout.microBatches, training: training) }
        let scale = 1 / Float(window.inputs.count)   // the mean over the window's T·B targets
        // Backward hand-offs, made here: the workspace is not thread-safe.
        let (outputGradients, inputGradients) = try layerGradientBuffers(window)
        // Where a shard's part must first come over to the top layer's backend (run-sized, reused).
        let arriving = try workspace.tensor("gradientTopArriving", [units.maxRows, configuration.hiddenSize], on: topBackend)
        let stagedDown = lstm.map { _ in units.indices.map { _ in StagedRows() } }
        let readyDown = lstm.map { _ in units.indices.map { _ in Signal() } }
        let decoderDone = decoder.map { _ in units.indices.map { _ in Signal() } }   // shard s's part of ∂L/∂h for unit u

        try runWorkers(workers.map(\.name), record: training) { w, threads, busy in
            for task in tasks[w] {
                let u = units.index(microBatch: task.microBatch, run: task.run)
                let run = runs[task.run], rows = units.rows(u)
                switch task.kind {
                case .layer:
                    let l = task.index, layer = self.lstm[l], b = layer.backend
                    if l > 0 { try ready[l - 1][u].wait(unless: threads) }
                    try busy.time(w) {
                        try self.onDevice(b, "layer \(l) forward, \(units.name(u))") {
                            try self.forwardRun(l, run, microBatch: task.microBatch, forward: forward,
                                                staged: l > 0 ? staged[l - 1][u] : nil)
                            try b.synchronize()
                            // Consumers in another memory space get a host copy, read while this queue is idle.
                            if l < top ? !sharesMemory(b, self.lstm[l + 1].backend) : topOnHost {
                                staged[l][u].values = try b.download(layer.buffersOutput().rows(rows))
                            }
                        }
                    }
                    ready[l][u].fire()
                case .statistics:
                    try ready[top][u].wait(unless: threads)
                    try busy.time(w) {
                        try self.decoderStatistics(task.index, unit: u, rows: rows, name: units.name(u), decoderRuns,
                                                   stagedTop: staged[top][u], training: training, scale: scale)
                    }
                case .gradient:
                    if self.decoder.count > 1 { try decoderRuns.statistics[u].combined.wait(unless: threads) }
                    try busy.time(w) {
                        try self.decoderGradient(task.index, unit: u, rows: rows, name: units.name(u), decoderRuns, scale: scale)
                    }
                    decoderDone[task.index][u].fire()
                }
            }
            guard training, let l = workers[w].layer else { return }
            let layer = self.lstm[l], b = layer.backend
            let below = l > 0 ? self.lstm[l - 1].backend : nil
            for u in Self.backwardUnits(units) {
                let rows = units.rows(u)
                if l < top {
                    try readyDown[l + 1][u].wait(unless: threads)
                } else {
                    for done in decoderDone { try done[u].wait(unless: threads) }
                }
                try busy.time(w) {
                    try self.onDevice(b, "layer \(l) backward, \(units.name(u))") {
                        if l == top {
                            try self.gatherDecoderGradient(rows: rows, unit: u, decoderRuns, into: outputGradients[top], arriving: arriving)
                        }
                        try self.backwardRun(l, units.steps(u), microBatch: units.microBatch(u), windowSteps: steps, forward: forward,
                                             outputGradients: outputGradients, inputGradients: inputGradients,
                                             staged: l < top ? stagedDown[l + 1][u] : nil)
                        try b.synchronize()
                        if let below, !sharesMemory(b, below) {
                            stagedDown[l][u].values = try b.download(inputGradients[l].rows(rows))
                        }
                    }
                }
                readyDown[l][u].fire()
            }
            try busy.time(w) {
                try self.onDevice(b, "layer \(l) weight gradients") {
                    try layer.finishBackward(windowSteps: steps, input: forward.layerInputs[l], initialHidden: forward.initialState[l].hidden)
                    try b.synchronize()
                }
            }
        }
        if training {
            // Layer 0 and the embedding share a backend.
            try embedding.backward(forward.ids, outputGradient: inputGradients[0])
        }
        return try windowLoss(decoderRuns)
    }

    /// Shard s's input rows (the top layer's hidden states for `rows`) on its backend.
    private func decoderInput(_ s: Int, rows: Range<Int>, _ buffers: ShardBuffers) throws -> Tensor {
        guard let input = buffers.input else { return try lstm[lstm.count - 1].buffersOutput().rows(rows) }
        return try input.rows(0..<rows.count)
    }

    /// Shard s's first half of unit u (`rows`, called `name` in errors): the logits rows and their
    /// softmax statistics, reported for combining. A whole softmax (one shard) has nothing to
    /// combine: the fused kernel gives the rows' losses and, when training, ∂L/∂logits at once,
    /// and the gradient half follows at once.
    private func decoderStatistics(_ s: Int, unit u: Int, rows: Range<Int>, name: String, _ decoderRuns: DecoderRuns,
                                   stagedTop: StagedRows, training: Bool, scale: Float) throws {
        let shard = decoder[s], b = shard.backend, buffers = decoderRuns.shards[s]
        let top = lstm[lstm.count - 1]
        let n = rows.count
        try onDevice(b, "softmax shard \(s) forward, \(name)") {
            let x = try decoderInput(s, rows: rows, buffers)
            if buffers.input != nil {
                try receive(top.buffersOutput().rows(rows), from: top.backend, into: x, on: b, staged: stagedTop)
            }
            let logits = try buffers.logits.rows(0..<n)
            try shard.forward(x, into: logits)
            if decoder.count == 1 {
                try b.softmaxCrossEntropy(logits: logits, targets: buffers.targets[u], ignoreIndex: -1,
                                          losses: buffers.losses.rows(rows), gradient: training ? logits : nil,
                                          gradientScale: scale)
            } else {
                let (m, e, t) = (try buffers.maxima.rows(0..<n), try buffers.sumExp.rows(0..<n), try buffers.targetLogits.rows(0..<n))
                try b.softmaxStatistics(logits: logits, targets: buffers.targets[u], maxima: m, sumExp: e, targetLogits: t)
                decoderRuns.statistics[u].report(shard: s, maxima: try b.download(m), sumExp: try b.download(e),
                                                 targetLogits: try b.download(t))
            }
        }
    }

    /// Shard s's second half of unit u, once every shard's statistics are combined: ∂L/∂logits,
    /// the weight and bias gradients, and its part of ∂L/∂h_top for the unit's rows (read back for
    /// the top layer when it cannot copy it on the device).
    private func decoderGradient(_ s: Int, unit u: Int, rows: Range<Int>, name: String, _ decoderRuns: DecoderRuns,
                                 scale: Float) throws {
        let shard = decoder[s], b = shard.backend, buffers = decoderRuns.shards[s]
        let n = rows.count
        try onDevice(b, "softmax shard \(s) backward, \(name)") {
            let logits = try buffers.logits.rows(0..<n)
            if decoder.count > 1 {
                let z = try buffers.logNormalizers.rows(0..<n)
                try b.upload(decoderRuns.statistics[u].logNormalizers, to: z)
                try b.softmaxCrossEntropyGradient(logits: logits, targets: buffers.targets[u], logNormalizers: z,
                                                  gradientScale: scale, gradient: logits)
            }
            let part = try buffers.gradient.rows(rows)
            try shard.backward(input: decoderInput(s, rows: rows, buffers), outputGradient: logits, inputGradient: part)
            try b.synchronize()
            if buffers.gradientOnHost { buffers.stagedGradient[u].values = try b.download(part) }
        }
    }

    /// ∂L/∂h_top for `rows` on the top layer's backend: the shards' parts summed in shard order
    /// (copy the first, add the rest), as the sequential schedule sums them. Each shard drained its
    /// queue after writing its part for the unit and before signalling, so its rows are complete
    /// on the device and in its host copy, whatever it has enqueued since.
    private func gatherDecoderGradient(rows: Range<Int>, unit u: Int, _ decoderRuns: DecoderRuns, into sum: Tensor,
                                       arriving: Tensor) throws {
        let top = lstm[lstm.count - 1].backend
        let destination = try sum.rows(rows)
        for (s, shard) in decoder.enumerated() {
            let buffers = decoderRuns.shards[s]
            if buffers.gradient === sum { continue }   // shard 0 wrote its part in place
            var part = try buffers.gradient.rows(rows)
            if shard.backend !== top {
                let here = try arriving.rows(0..<rows.count)
                try receive(part, from: shard.backend, into: here, on: top, staged: buffers.stagedGradient[u])
                part = here
            }
            if s == 0 { try top.copy(part, to: destination) } else { try top.axpy(alpha: 1, part, destination) }
        }
    }

    // MARK: Workers

    /// Runs `body(w, threads, busy)` for every worker w on a thread of its own and, when `record`
    /// is set, adds the phase to the utilization (training steps only: validation would blur it).
    private func runWorkers(_ names: [String], record: Bool,
                            _ body: @escaping (Int, WorkerThreads, BusyTime) throws -> Void) throws {
        let threads = WorkerThreads()
        let busy = BusyTime(workers: names.count)
        let start = WallClock.now
        try threads.run(names.indices.map { w in { try body(w, threads, busy) } })
        guard record else { return }
        utilization.record(workers: names, busy: busy.seconds, wall: WallClock.seconds(since: start))
    }

    /// Runs `body`, naming the device and the task in any error it throws.
    func onDevice(_ backend: Backend, _ task: String, _ body: () throws -> Void) throws {
        do { try body() } catch let error as PipelineError { throw error } catch {
            throw PipelineError.deviceFailed(device: backend.name, task: task, underlying: error)
        }
    }
}
