/// What one simulated training step takes.
public struct PipelinePrediction: Sendable {
    /// The schedule simulated.
    public var schedule: ExecutionSchedule
    /// M: micro-batches the batch was split into (1: the plain wavefront, and the sequential schedule).
    public var microBatches: Int
    /// Seconds from the first task's start to the last task's end.
    public var stepTime: Double
    /// Σ of every part's compute: the step time on one device of the same speeds, without transfers.
    public var totalWork: Double
    /// Per device number: seconds it is busy (compute and the transfers its threads make).
    public var busy: [Double]
    /// Per device number: bytes it downloads to the host per step (for other devices to upload).
    public var bytesSent: [Double]
    /// Every simulated task with its start, for a trace (`record(into:process:deviceNames:)`).
    public var tasks: [SimulatedTask] = []

    /// Per device: busy / step time.
    public var busyFraction: [Double] { busy.map { stepTime > 0 ? $0 / stepTime : 0 } }
    /// The mean idle share of the devices that have work: 1 − Σ busy / (devices · step time).
    /// For K equal stages without transfers this is the pipeline bubble.
    public var bubbleFraction: Double {
        let working = busy.filter { $0 > 0 }
        guard stepTime > 0, !working.isEmpty else { return 0 }
        return max(0, 1 - working.reduce(0, +) / (Double(working.count) * stepTime))
    }
    /// Bytes that cross between devices per step.
    public var transferBytes: Double { bytesSent.reduce(0, +) }
}

/// A simulation of one training step of a placed LSTM language model as its executors run it
/// (Execution/SequentialExecutor.swift, Execution/WavefrontExecutor.swift): the same threads, each with the same
/// fixed list of tasks in the same order, and the same transfers.
///
/// **Sequential.** One thread (the caller's) does everything in turn: each layer's whole window,
/// the decoder shards' logits, the loss, the shards' backward, each layer's backward and weight
/// gradients. Kernels are enqueued and every transfer waits for its device's queue, so the parts
/// run one after another — but for the shards' logits, which each shard's device computes while
/// the caller uploads the next shard's input.
///
/// **Wavefront** (`stepsPerRun` K, `microBatches` M). The window's T steps are cut into runs of K
/// (the last one shorter); a unit u = m·R + r is micro-batch m's run r, of K_u·B/M rows. One
/// thread per layer and one per softmax shard (each has a backend of its own), each with the
/// list the runtime builds: layer l forwards its units in order (unit u waits for layer l−1's),
/// then does its backward units micro-batch by micro-batch, each one's runs in reverse (waiting
/// for layer l+1's, or for every shard's gradient of the unit on the top layer), then its weight
/// gradients over the window. Shard s takes each unit in order: its statistics (waiting for the
/// top layer's unit), then its gradient (with several shards, waiting for every shard's
/// statistics of the unit). The caller's thread uploads the token ids and each shard's targets
/// before the threads start, and reads the loss and copies the carried state after they end.
///
/// **Costs.** A task costs its part's per-step time × K_u / M (linear in the rows: optimistic for
/// small micro-batches on a real device, exact on a timing device), plus its transfers, which are
/// blocking and host-staged as the runtime makes them: the producer downloads its rows after its
/// compute, on its own thread, and the consumer uploads them at the start of its task, on its
/// own thread; both occupy their device (bytes / `link.bandwidth` + `link.latency` each). Where
/// both parts are on one device that shares memory across queues, the consumer copies on the
/// device instead (`deviceCopy`) and the producer downloads nothing. Nothing overlaps a transfer:
/// the runtime has no copy engine at work beside the compute. A split softmax also downloads
/// three B-float statistics per unit and uploads the combined log normalizers; the top layer
/// gathers each shard's part of ∂L/∂h and copies the first into the sum.
///
/// **Devices.** A device runs one task at a time; threads whose parts share a device take it
/// first come, first served, task by task (a real device may interleave two queues' kernels).
///
/// **Not modelled.** The optimizer update and gradient clipping (outside the step), host work
/// between ops (combining statistics, thread start-up: microseconds), the axpy that sums the
/// shards' gradients, and the embedding's lookup and gradient, which are counted in layer 0's
/// costs although the runtime runs them on the caller's thread before and after the workers.
public enum PipelineSimulator {
    /// The wavefront at one step a run with the batch split into `microBatches`.
    public static func simulate(_ model: PipelineModel, microBatches: Int = 1) throws -> PipelinePrediction {
        try simulate(model, schedule: .wavefront(stepsPerRun: 1, microBatches: microBatches))
    }

    /// Simulates one training step of `model` under `schedule`.
    public static func simulate(_ model: PipelineModel, schedule: ExecutionSchedule) throws -> PipelinePrediction {
        guard model.steps > 0 else { throw CLTrainError.invalidArgument("the simulated window needs at least one time step") }
        guard !model.layers.isEmpty else { throw CLTrainError.invalidArgument("the simulated model needs at least one layer") }
        let stages = model.layers + model.shards
        guard stages.allSatisfy({ $0.device >= 0 && [$0.forward, $0.backward, $0.weightGradient].allSatisfy { $0.isFinite && $0 >= 0 } }) else {
            throw CLTrainError.invalidArgument("stage costs must be finite and non-negative, devices numbered from 0")
        }
        for link in [model.link, model.deviceCopy] {
            guard link.bandwidth > 0, link.latency >= 0, link.latency.isFinite else {
                throw CLTrainError.invalidArgument("\(link.name): a link needs a positive bandwidth and a finite, non-negative latency")
            }
        }
        guard model.activationBytes >= 0, model.rowBytes >= 0 else {
            throw CLTrainError.invalidArgument("transfer sizes must be non-negative")
        }
        var graph = ThreadedTasks(deviceCount: model.deviceCount)
        var microBatches = 1
        switch schedule {
        case .sequential:
            buildSequential(model, into: &graph)
        case .wavefront(let stepsPerRun, let m):
            guard m > 0 else { throw CLTrainError.invalidArgument("micro-batches must be positive, got \(m)") }
            guard stepsPerRun > 0 else { throw CLTrainError.invalidArgument("steps per run must be positive, got \(stepsPerRun)") }
            microBatches = m
            buildWavefront(model, stepsPerRun: stepsPerRun, microBatches: m, into: &graph)
        }
        let outcome = try graph.run()
        let threadOfTask = graph.threadOfTask
        let tasks = graph.tasks.indices.map { id in
            let task = graph.tasks[id]
            return SimulatedTask(name: task.name, thread: graph.threadNames[threadOfTask[id]], device: task.device,
                                 start: outcome.start[id], duration: task.duration, bytesSent: task.bytesSent)
        }
        return PipelinePrediction(schedule: schedule, microBatches: microBatches, stepTime: outcome.end,
                                  totalWork: model.totalWork, busy: outcome.busy, bytesSent: outcome.bytesSent, tasks: tasks)
    }

    /// What one host transfer costs: a download or an upload of `bytes`.
    private static func host(_ model: PipelineModel, _ bytes: Double) -> Double {
        bytes / model.link.bandwidth + model.link.latency
    }

    private static func deviceCopy(_ model: PipelineModel, _ bytes: Double) -> Double {
        bytes / model.deviceCopy.bandwidth + model.deviceCopy.latency
    }

    /// The caller's thread alone (`ExecutionSchedule.sequential`), op group by op group.
    private static func buildSequential(_ model: PipelineModel, into graph: inout ThreadedTasks) {
        let thread = graph.addThread("main")
        let t = Double(model.steps)
        let (activations, rows) = (model.activationBytes * t, model.rowBytes * t)
        let layers = model.layers, shards = model.shards
        let top = layers[layers.count - 1].device
        /// A transfer (`enqueued`: false), or enqueued kernels and device copies.
        let all = "steps 0..<\(model.steps)"
        func work(_ device: Int, _ seconds: Double, sent: Double = 0, enqueued: Bool = false, _ name: String) {
            graph.add(on: thread, device: device, duration: seconds, bytesSent: sent, blocking: !enqueued, name: name)
        }
        func compute(_ device: Int, _ seconds: Double, _ name: String) { work(device, seconds, enqueued: true, name) }
        /// `transfer` in LanguageModel.swift: a device copy, or a download and an upload.
        func move(_ bytes: Double, from: Int, to: Int) {
            if model.shareMemory(from, to) {
                work(from, 0, "send device \(from) → device \(to)")   // the producer's queue drains first
                compute(to, deviceCopy(model, bytes), "receive device \(from) → device \(to)")
            } else {
                work(from, host(model, bytes), sent: bytes, "send device \(from) → device \(to)")
                work(to, host(model, bytes), "receive device \(from) → device \(to)")
            }
        }
        work(layers[0].device, host(model, rows), "upload the token ids")
        for (l, layer) in layers.enumerated() {
            if l > 0 { move(activations, from: layers[l - 1].device, to: layer.device) }
            compute(layer.device, t * layer.forward, "layer \(l) forward, \(all)")
        }
        // The decoder: the top hidden states are read back once for every shard that needs them.
        var readBack = false
        for (s, shard) in shards.enumerated() {
            if model.shareMemory(top, shard.device) {
                work(top, 0, "send device \(top) → device \(shard.device)")
                compute(shard.device, deviceCopy(model, activations), "receive device \(top) → device \(shard.device)")
            } else {
                if !readBack { work(top, host(model, activations), sent: activations, "send device \(top) → the softmax shards") }
                readBack = true
                work(shard.device, host(model, activations), "receive device \(top) → device \(shard.device)")
            }
            compute(shard.device, t * shard.forward, "softmax shard \(s) forward, \(all)")
        }
        // The loss: targets up, losses (one shard) or three statistics per shard down, log Z up.
        if shards.count == 1 {
            work(shards[0].device, 2 * host(model, rows), sent: rows, "reading the losses")
        } else {
            for (s, shard) in shards.enumerated() { work(shard.device, 4 * host(model, rows), sent: 3 * rows, "softmax shard \(s) statistics") }
            for (s, shard) in shards.enumerated() { work(shard.device, host(model, rows), "softmax shard \(s) log normalizers") }
        }
        for (s, shard) in shards.enumerated() {
            compute(shard.device, t * (shard.backward + shard.weightGradient), "softmax shard \(s) backward, \(all)")
            move(activations, from: shard.device, to: top)
            if s == 0 { compute(top, deviceCopy(model, activations), "softmax gradients summed") }
        }
        for l in layers.indices.reversed() {
            if l < layers.count - 1 { move(activations, from: layers[l + 1].device, to: layers[l].device) }
            compute(layers[l].device, t * (layers[l].backward + layers[l].weightGradient), "layer \(l) backward and weight gradients, \(all)")
        }
        for (l, layer) in layers.enumerated() {
            compute(layer.device, 2 * deviceCopy(model, model.activationBytes), "layer \(l) carried state")
        }
    }

    /// The caller's thread, one thread per layer and one per shard (`ExecutionSchedule.wavefront`).
    private static func buildWavefront(_ model: PipelineModel, stepsPerRun: Int, microBatches m: Int,
                                       into graph: inout ThreadedTasks) {
        let layers = model.layers, shards = model.shards
        let top = layers.count - 1, topDevice = layers[top].device
        let runs = stride(from: 0, to: model.steps, by: stepsPerRun).map { min(stepsPerRun, model.steps - $0) }
        let unitCount = m * runs.count
        /// As the runtime names a unit (`WavefrontExecutor.PipelineUnits.name`).
        func unitName(_ u: Int) -> String {
            let first = (u % runs.count) * stepsPerRun, steps = "steps \(first)..<\(first + runs[u % runs.count])"
            return m == 1 ? steps : "micro-batch \(u / runs.count), \(steps)"
        }
        /// Unit u's share of a full-batch step: K_u / M.
        let share = (0..<unitCount).map { Double(runs[$0 % runs.count]) / Double(m) }
        let activation = share.map { $0 * model.activationBytes }, row = share.map { $0 * model.rowBytes }
        let shared = { (a: Int, b: Int) in model.shareMemory(a, b) }
        /// The consumer's side of a staged hand-off: a device copy or an upload.
        let receive = { (from: Int, to: Int, bytes: Double) in
            shared(from, to) ? deviceCopy(model, bytes) : host(model, bytes)
        }

        // Before the workers: the token ids, then each shard's targets for each unit.
        let caller = graph.addThread("main")
        var prologue = graph.add(on: caller, device: layers[0].device, duration: host(model, model.rowBytes * Double(model.steps)),
                                 name: "upload the token ids")
        for (s, shard) in shards.enumerated() {
            for u in 0..<unitCount {
                prologue = graph.add(on: caller, device: shard.device, duration: host(model, row[u]),
                                     name: "softmax shard \(s) targets, \(unitName(u))")
            }
        }

        // Numbered as the runtime's workers: the layers', then the shards' (`WavefrontExecutor.pipelineWorkers`).
        let layerThreads = layers.indices.map { l in graph.addThread("worker \(l): layer \(l)") }
        let shardThreads = shards.indices.map { s in graph.addThread("worker \(layers.count + s): softmax shard \(s)") }
        var forward = Array(repeating: [Int](), count: layers.count)
        var statistics = Array(repeating: [Int](), count: shards.count)
        var gradient = Array(repeating: [Int](), count: shards.count)
        let topOnHost = shards.contains { !shared(topDevice, $0.device) }
        for u in 0..<unitCount {
            for (l, layer) in layers.enumerated() {
                let below = l > 0 ? layers[l - 1].device : layer.device
                var seconds = (l > 0 ? receive(below, layer.device, activation[u]) : 0) + share[u] * layer.forward
                let sendsToHost = l < top ? !shared(layer.device, layers[l + 1].device) : topOnHost
                if sendsToHost { seconds += host(model, activation[u]) }
                let after = (l > 0 ? [forward[l - 1][u]] : []) + (u == 0 ? [prologue] : [])
                forward[l].append(graph.add(on: layerThreads[l], device: layer.device, duration: seconds, after: after,
                                            bytesSent: sendsToHost ? activation[u] : 0, name: "layer \(l) forward, \(unitName(u))"))
            }
            for (s, shard) in shards.enumerated() {
                var seconds = receive(topDevice, shard.device, activation[u]) + share[u] * shard.forward
                if shards.count > 1 { seconds += 3 * host(model, row[u]) }
                statistics[s].append(graph.add(on: shardThreads[s], device: shard.device, duration: seconds,
                                               after: [forward[top][u]] + (u == 0 ? [prologue] : []),
                                               bytesSent: shards.count > 1 ? 3 * row[u] : 0,
                                               name: "softmax shard \(s) forward, \(unitName(u))"))
            }
            for (s, shard) in shards.enumerated() {
                let onHost = !shared(shard.device, topDevice)
                let seconds = (shards.count > 1 ? host(model, row[u]) : 0) + share[u] * (shard.backward + shard.weightGradient)
                    + (onHost ? host(model, activation[u]) : 0)
                gradient[s].append(graph.add(on: shardThreads[s], device: shard.device, duration: seconds,
                                             after: shards.count > 1 ? statistics.map { $0[u] } : [],
                                             bytesSent: onHost ? activation[u] : 0, name: "softmax shard \(s) backward, \(unitName(u))"))
            }
        }
        // The backward units: micro-batch by micro-batch, each one's runs in reverse.
        let order = (0..<m).flatMap { mb in runs.indices.reversed().map { mb * runs.count + $0 } }
        var backward = Array(repeating: [Int: Int](), count: layers.count)
        for l in layers.indices.reversed() {
            let layer = layers[l]
            for u in order {
                var seconds = share[u] * layer.backward
                var after: [Int]
                if l == top {
                    // Each shard's part arrives (copy or upload); the first is copied into the sum.
                    seconds += shards.reduce(0) { $0 + receive($1.device, layer.device, activation[u]) }
                    seconds += shards.isEmpty ? 0 : deviceCopy(model, activation[u])
                    after = gradient.map { $0[u] }
                } else {
                    seconds += receive(layers[l + 1].device, layer.device, activation[u])
                    after = [backward[l + 1][u] ?? 0]
                }
                let sendsDown = l > 0 && !shared(layer.device, layers[l - 1].device)
                if sendsDown { seconds += host(model, activation[u]) }
                backward[l][u] = graph.add(on: layerThreads[l], device: layer.device, duration: seconds, after: after,
                                           bytesSent: sendsDown ? activation[u] : 0, name: "layer \(l) backward, \(unitName(u))")
            }
            graph.add(on: layerThreads[l], device: layer.device, duration: Double(model.steps) * layer.weightGradient,
                      name: "layer \(l) weight gradients")
        }

        // After the workers: one shard's losses come back; every layer copies its carried state.
        let workers = (layerThreads + shardThreads).compactMap { graph.last(on: $0) }
        var epilogue = workers
        if shards.count == 1 {
            epilogue = [graph.add(on: caller, device: shards[0].device, duration: host(model, model.rowBytes * Double(model.steps)),
                                  after: epilogue, bytesSent: model.rowBytes * Double(model.steps), name: "reading the losses")]
        }
        for (l, layer) in layers.enumerated() {
            graph.add(on: caller, device: layer.device, duration: 2 * Double(m) * deviceCopy(model, model.activationBytes / Double(m)),
                      after: epilogue, blocking: false, name: "layer \(l) carried state")
        }
    }
}
