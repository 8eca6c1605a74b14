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
/// **Sequential.** One thread (the caller's) does everything in turn: the token ids, each layer's
/// whole window, the top layer's rows staged once for the shards, every shard's targets and
/// logits, the loss, the shards' backward and their parts of ∂L/∂h_top, each layer's backward and
/// weight gradients, the carried state. Kernels are enqueued; the thread waits only where the
/// runtime does: for a staged read before it writes the rows on (the transfers below), and for
/// the blocking index uploads and statistics or loss reads.
///
/// **Wavefront** (`stepsPerRun` K, `microBatches` M). The window's T steps are cut into runs of K
/// (the last one shorter); a unit u = m·R + r is micro-batch m's run r, of K_u·B/M rows. One
/// thread per layer and one per softmax shard (each has a backend of its own), each with the
/// list the runtime builds: layer l forwards its units in order (unit u waits for layer l−1's),
/// then does its backward units micro-batch by micro-batch, each one's runs in reverse (waiting
/// for layer l+1's, or for every shard's gradient of the unit on the top layer), then its weight
/// gradients over the window, then drains its queue; a worker enqueues each task only once the
/// one `WavefrontExecutor.queueDepth` back has ended. Shard s takes each unit in order: its
/// statistics (waiting for the top layer's unit), then its gradient (with several shards, waiting
/// for every shard's statistics of the unit), and drains at the end. The caller's thread uploads
/// the token ids and each shard's targets before the threads start, and reads the loss and copies
/// the carried state after they end.
///
/// **Costs.** A task costs its part's per-step time × K_u / M (linear in the rows: optimistic for
/// small micro-batches on a real device, exact on a timing device). Transfers are tasks of their
/// own, as `DeviceTransport` makes them: where a consumer is in another memory domain, the
/// producer enqueues one staged read (bytes / `link.bandwidth` + `link.latency` on its device,
/// after its compute, its thread going on at once); each such consumer's thread waits on the host
/// until that read has ended, then enqueues the write (the same cost on its device) and goes on.
/// Where both parts are on one device whose queues share memory, the consumer's queue copies on
/// the device (`deviceCopy`) once the producer's queue reaches the marker, and no thread waits.
/// A device's own reads and writes run between its kernels (in-order queues, no copy engine
/// beside the compute). A split softmax also reads three B-float statistics per unit back and
/// writes the combined log normalizers, both blocking; the top layer gathers each shard's part
/// of ∂L/∂h and copies the first into the sum.
///
/// **Devices.** A device runs one task at a time; threads whose parts share a device take it
/// first come, first served, task by task (a real device may interleave two queues' kernels).
///
/// **Not modelled.** The optimizer update and gradient clipping (outside the step), host work
/// between ops (enqueuing, combining statistics, thread wake-ups: microseconds each), the axpy that sums the
/// shards' gradients, and the embedding's lookup and gradient, which are counted in layer 0's
/// costs although the runtime runs them on the caller's thread before and after the workers.
public enum PipelineSimulator {
    /// The wavefront at one step a run with the batch split into `microBatches`.
    public static func simulate(_ model: PipelineModel, microBatches: Int = 1) throws -> PipelinePrediction {
        try simulate(model, schedule: .wavefront(stepsPerRun: 1, microBatches: microBatches))
    }

    /// Simulates one training step of `model` under `schedule`.
    public static func simulate(_ model: PipelineModel, schedule: ExecutionSchedule) throws -> PipelinePrediction {
        try check(model)
        return try predict(schedule, totalWork: model.totalWork, deviceCount: model.deviceCount) { graph in
            switch schedule {
            case .sequential: buildSequential(model, into: &graph)
            case .wavefront(let stepsPerRun, let m): buildWavefront(model, stepsPerRun: stepsPerRun, microBatches: m, into: &graph)
            }
        }
    }

    /// The checks every graph's model passes: a window, a layer, costs and links that can be summed.
    static func check(_ model: PipelineModel) throws {
        guard model.steps > 0 else { throw CLTrainError.invalidArgument("the simulated window needs at least one time step") }
        guard !model.layers.isEmpty else { throw CLTrainError.invalidArgument("the simulated model needs at least one layer") }
        try checkCosts(model.layers + model.shards)
        for link in [model.link, model.deviceCopy] {
            guard link.bandwidth > 0, link.latency >= 0, link.latency.isFinite else {
                throw CLTrainError.invalidArgument("\(link.name): a link needs a positive bandwidth and a finite, non-negative latency")
            }
        }
        guard model.activationBytes >= 0, model.rowBytes >= 0 else {
            throw CLTrainError.invalidArgument("transfer sizes must be non-negative")
        }
    }

    static func checkCosts(_ stages: [PipelineModel.Stage]) throws {
        guard stages.allSatisfy({ $0.device >= 0 && [$0.forward, $0.backward, $0.weightGradient].allSatisfy { $0.isFinite && $0 >= 0 } }) else {
            throw CLTrainError.invalidArgument("stage costs must be finite and non-negative, devices numbered from 0")
        }
    }

    /// The one simulator behind every model's graph: `build` fills the threads' task lists for
    /// `schedule` (the language model's, the encoder–decoder's), `ThreadedTasks` runs them.
    static func predict(_ schedule: ExecutionSchedule, totalWork: Double, deviceCount: Int,
                        build: (inout ThreadedTasks) -> Void) throws -> PipelinePrediction {
        var microBatches = 1
        if case .wavefront(let stepsPerRun, let m) = schedule {
            guard m > 0 else { throw CLTrainError.invalidArgument("micro-batches must be positive, got \(m)") }
            guard stepsPerRun > 0 else { throw CLTrainError.invalidArgument("steps per run must be positive, got \(stepsPerRun)") }
            microBatches = m
        }
        var graph = ThreadedTasks(deviceCount: deviceCount)
        build(&graph)
        let outcome = try graph.run()
        let threadOfTask = graph.threadOfTask
        let tasks = graph.tasks.indices.map { id in
            let task = graph.tasks[id]
            return SimulatedTask(name: task.name, thread: graph.threadNames[threadOfTask[id]], device: task.device,
                                 start: outcome.start[id], duration: task.duration, bytesSent: task.bytesSent)
        }
        return PipelinePrediction(schedule: schedule, microBatches: microBatches, stepTime: outcome.end,
                                  totalWork: totalWork, busy: outcome.busy, bytesSent: outcome.bytesSent, tasks: tasks)
    }

    /// How the runtime's `DeviceTransport` moves `bytes` from a part on device `from` (whose last
    /// enqueued task is `producer`) to parts on `consumers`: one staged read on the producer's
    /// queue for every consumer in another memory domain (enqueued; the producer's thread goes
    /// on), then per consumer either a write of the staged rows, issued once the read has ended
    /// (the consumer's thread waits for it on the host) and enqueued, or, in the producer's
    /// memory, a device copy that its queue starts once the producer's queue has reached the
    /// marker (no host wait).
    struct Transfers {
        let model: PipelineModel

        func host(_ bytes: Double) -> Double { bytes / model.link.bandwidth + model.link.latency }
        func deviceCopy(_ bytes: Double) -> Double { bytes / model.deviceCopy.bandwidth + model.deviceCopy.latency }

        /// The producer's half (`Transport.send`): the staged read, if any consumer needs one.
        func send(_ bytes: Double, from: Int, on thread: Int, to consumers: [Int], into graph: inout ThreadedTasks) -> Int? {
            guard consumers.contains(where: { !model.shareMemory(from, $0) }) else { return nil }
            let to = consumers.filter { !model.shareMemory(from, $0) }.map { "device \($0)" }.joined(separator: ", ")
            return graph.add(on: thread, device: from, duration: host(bytes), bytesSent: bytes, blocking: false,
                             name: "send device \(from) → \(to)")
        }

        /// The consumer's half (`Transport.receive`) on device `to` of what `read` staged, or of
        /// what `producer` left in shared memory.
        func receive(_ bytes: Double, from: Int, read: Int?, producer: Int?, on thread: Int, to: Int,
                     into graph: inout ThreadedTasks) {
            if model.shareMemory(from, to) {
                graph.add(on: thread, device: to, duration: deviceCopy(bytes), deviceAfter: producer.map { [$0] } ?? [], blocking: false,
                          name: "receive device \(from) → device \(to)")
            } else {
                graph.add(on: thread, device: to, duration: host(bytes), after: read.map { [$0] } ?? [], blocking: false,
                          name: "receive device \(from) → device \(to)")
            }
        }
    }

    /// The caller's thread alone (`ExecutionSchedule.sequential`), in the order of `SequentialExecutor.run`.
    private static func buildSequential(_ model: PipelineModel, into graph: inout ThreadedTasks) {
        var main = SequentialTasks(graph: graph, transfers: Transfers(model: model))
        defer { graph = main.graph }
        let t = Double(model.steps), activations = model.activationBytes * t
        let layers = model.layers, top = layers.count - 1
        let all = "steps 0..<\(model.steps)"

        main.blocking(layers[0].device, main.transfers.host(model.rowBytes * t), "upload the token ids")   // WindowPass
        var last: [Int] = []
        for (l, layer) in layers.enumerated() {
            if l > 0 { main.move(activations, from: layers[l - 1].device, producer: last[l - 1], to: layer.device) }
            last.append(main.compute(layer.device, t * layer.forward, "layer \(l) forward, \(all)"))
        }
        last[top] = main.softmax(model.shards, steps: model.steps, topDevice: layers[top].device, producer: last[top],
                                 activationBytes: model.activationBytes, rowBytes: model.rowBytes, topName: "layer \(top)")
        for l in layers.indices.reversed() {
            if l < top { main.move(activations, from: layers[l + 1].device, producer: last[l + 1], to: layers[l].device) }
            last[l] = main.compute(layers[l].device, t * (layers[l].backward + layers[l].weightGradient), "layer \(l) backward, \(all)")
        }
        main.readLosses(model.shards, steps: model.steps, rowBytes: model.rowBytes)
        for (l, layer) in layers.enumerated() {
            main.compute(layer.device, 2 * main.transfers.deviceCopy(model.activationBytes), "layer \(l) carried state")
        }
    }

    /// The caller's thread, one thread per layer and one per shard (`ExecutionSchedule.wavefront`),
    /// each with the task list of `WavefrontExecutor.run`.
    private static func buildWavefront(_ model: PipelineModel, stepsPerRun: Int, microBatches m: Int,
                                       into graph: inout ThreadedTasks) {
        let layers = model.layers, shards = model.shards, top = layers.count - 1
        let units = Units(steps: model.steps, stepsPerRun: stepsPerRun, microBatches: m)
        var w = WavefrontTasks(graph: graph, transfers: Transfers(model: model))
        defer { graph = w.graph }

        // Before the workers: the token ids, then each shard's targets for each unit.
        let caller = w.graph.addThread("main")
        let uploads = w.graph.add(on: caller, device: layers[0].device, duration: w.transfers.host(model.rowBytes * Double(model.steps)),
                                  name: "upload the token ids")
        let workers = w.startWorkers(caller: caller, after: uploads, layers: layers, shards: shards, units: units,
                                     rowBytes: model.rowBytes) { "layer \($0)" }
        let (layerThreads, shardThreads) = (workers.layers, workers.shards)

        var forward = Array(repeating: [Handoff](), count: layers.count), gradient: [[Handoff]] = []
        for u in 0..<units.count {
            for (l, layer) in layers.enumerated() {
                forward[l].append(w.layerUnit(thread: layerThreads[l], device: layer.device, inputs: l > 0 ? [forward[l - 1][u]] : [],
                                              bytes: units.share(u) * model.activationBytes, seconds: units.share(u) * layer.forward,
                                              name: "layer \(l) forward, \(units.name(u))",
                                              consumers: l < top ? [layers[l + 1].device] : shards.map(\.device)))
            }
            gradient.append(w.softmaxUnit(u, of: units, top: forward[top][u], shards: shards, threads: shardThreads,
                                          activationBytes: model.activationBytes, rowBytes: model.rowBytes))
        }
        // The backward units: micro-batch by micro-batch, each one's runs in reverse.
        var backward = Array(repeating: [Int: Handoff](), count: layers.count)
        for l in layers.indices.reversed() {
            let layer = layers[l]
            for u in (0..<m).flatMap(units.backward(microBatch:)) {
                backward[l][u] = w.layerUnit(
                    thread: layerThreads[l], device: layer.device, inputs: l == top ? gradient[u] : backward[l + 1][u].map { [$0] } ?? [],
                    bytes: units.share(u) * model.activationBytes, seconds: units.share(u) * layer.backward,
                    name: "layer \(l) backward, \(units.name(u))", sum: l == top ? "layer \(l) output gradient sum, \(units.name(u))" : nil,
                    consumers: l > 0 ? [layers[l - 1].device] : [])
            }
            w.graph.add(on: layerThreads[l], device: layer.device, duration: Double(model.steps) * layer.weightGradient, blocking: false,
                        name: "layer \(l) weight gradients")
        }
        w.drain(workers.all)

        // After the workers: one shard's losses come back; every layer copies its carried state.
        var epilogue = (layerThreads + shardThreads).compactMap { w.graph.last(on: $0) }
        if shards.count == 1 {
            let rows = model.rowBytes * Double(model.steps)
            epilogue = [w.graph.add(on: caller, device: shards[0].device, duration: w.transfers.host(rows), after: epilogue,
                                    bytesSent: rows, name: "reading the losses")]
        }
        for (l, layer) in layers.enumerated() {
            w.graph.add(on: caller, device: layer.device, duration: 2 * Double(m) * w.transfers.deviceCopy(model.activationBytes / Double(m)),
                        after: epilogue, blocking: false, name: "layer \(l) carried state")
        }
    }
}
