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

    /// How the runtime's `DeviceTransport` moves `bytes` from a part on device `from` (whose last
    /// enqueued task is `producer`) to parts on `consumers`: one staged read on the producer's
    /// queue for every consumer in another memory domain (enqueued; the producer's thread goes
    /// on), then per consumer either a write of the staged rows, issued once the read has ended
    /// (the consumer's thread waits for it on the host) and enqueued, or, in the producer's
    /// memory, a device copy that its queue starts once the producer's queue has reached the
    /// marker (no host wait).
    private struct Transfers {
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
        let thread = graph.addThread("main")
        let transfers = Transfers(model: model)
        let t = Double(model.steps)
        let (activations, rows) = (model.activationBytes * t, model.rowBytes * t)
        let layers = model.layers, shards = model.shards
        let top = layers.count - 1, topDevice = layers[top].device
        /// Enqueued work (kernels, device copies): the thread goes on.
        func compute(_ device: Int, _ seconds: Double, _ name: String) -> Int {
            graph.add(on: thread, device: device, duration: seconds, blocking: false, name: name)
        }
        /// A blocking transfer of B-float rows (indices up, statistics or losses down).
        func blocking(_ device: Int, _ seconds: Double, sent: Double = 0, _ name: String) {
            graph.add(on: thread, device: device, duration: seconds, bytesSent: sent, name: name)
        }
        let all = "steps 0..<\(model.steps)"
        /// `bytes` from the part whose last task is `producer` on `from` to `to`.
        func move(_ bytes: Double, from: Int, producer: Int, to: Int) {
            let read = transfers.send(bytes, from: from, on: thread, to: [to], into: &graph)
            transfers.receive(bytes, from: from, read: read, producer: producer, on: thread, to: to, into: &graph)
        }

        blocking(layers[0].device, transfers.host(rows), "upload the token ids")   // WindowPass
        var lastLayerTask: [Int] = []
        for (l, layer) in layers.enumerated() {
            if l > 0 { move(activations, from: layers[l - 1].device, producer: lastLayerTask[l - 1], to: layer.device) }
            lastLayerTask.append(compute(layer.device, t * layer.forward, "layer \(l) forward, \(all)"))
        }
        // The top layer's rows, read back once for every shard in another memory domain.
        let topRead = transfers.send(activations, from: topDevice, on: thread, to: shards.map(\.device), into: &graph)
        for (s, shard) in shards.enumerated() { blocking(shard.device, transfers.host(rows), "softmax shard \(s) targets") }   // prepare
        var lastShardTask: [Int] = []
        for (s, shard) in shards.enumerated() {   // every shard's logits first
            transfers.receive(activations, from: topDevice, read: topRead, producer: lastLayerTask[top], on: thread,
                              to: shard.device, into: &graph)
            lastShardTask.append(compute(shard.device, t * shard.forward, "softmax shard \(s) forward, \(all)"))
        }
        // A split softmax reads three statistics a row back per shard (each waits for its queue).
        if shards.count > 1 {
            for (s, shard) in shards.enumerated() {
                blocking(shard.device, 3 * transfers.host(rows), sent: 3 * rows, "softmax shard \(s) statistics")
            }
        }
        // The backward: each shard's gradient (log Z up first when split) and its part of ∂L/∂h_top
        // sent, then the parts received and summed on the top layer's backend.
        var reads: [Int?] = []
        for (s, shard) in shards.enumerated() {
            if shards.count > 1 { blocking(shard.device, transfers.host(rows), "softmax shard \(s) log Z") }
            lastShardTask[s] = compute(shard.device, t * (shard.backward + shard.weightGradient), "softmax shard \(s) backward, \(all)")
            reads.append(transfers.send(activations, from: shard.device, on: thread, to: [topDevice], into: &graph))
        }
        for (s, shard) in shards.enumerated() {
            transfers.receive(activations, from: shard.device, read: reads[s], producer: lastShardTask[s], on: thread,
                              to: topDevice, into: &graph)
            if s == 0 { lastLayerTask[top] = compute(topDevice, transfers.deviceCopy(activations), "layer \(top) output gradient sum") }
        }
        for l in layers.indices.reversed() {
            if l < top { move(activations, from: layers[l + 1].device, producer: lastLayerTask[l + 1], to: layers[l].device) }
            lastLayerTask[l] = compute(layers[l].device, t * (layers[l].backward + layers[l].weightGradient), "layer \(l) backward, \(all)")
        }
        if shards.count == 1 { blocking(shards[0].device, transfers.host(rows), sent: rows, "reading the losses") }
        for (l, layer) in layers.enumerated() {
            _ = compute(layer.device, 2 * transfers.deviceCopy(model.activationBytes), "layer \(l) carried state")
        }
    }

    /// The caller's thread, one thread per layer and one per shard (`ExecutionSchedule.wavefront`),
    /// each with the task list of `WavefrontExecutor.run`.
    private static func buildWavefront(_ model: PipelineModel, stepsPerRun: Int, microBatches m: Int,
                                       into graph: inout ThreadedTasks) {
        let layers = model.layers, shards = model.shards
        let top = layers.count - 1, topDevice = layers[top].device
        let transfers = Transfers(model: model)
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

        // Before the workers: the token ids, then each shard's targets for each unit.
        let caller = graph.addThread("main")
        var prologue = graph.add(on: caller, device: layers[0].device, duration: transfers.host(model.rowBytes * Double(model.steps)),
                                 name: "upload the token ids")
        for (s, shard) in shards.enumerated() {
            for u in 0..<unitCount {
                prologue = graph.add(on: caller, device: shard.device, duration: transfers.host(row[u]),
                                     name: "softmax shard \(s) targets, \(unitName(u))")
            }
        }

        // Each worker starts once the caller has prepared the window.
        let layerThreads = layers.indices.map { l in graph.addThread("worker \(l): layer \(l)") }
        let shardThreads = shards.indices.map { s in graph.addThread("worker \(layers.count + s): softmax shard \(s)") }
        for (l, layer) in layers.enumerated() {
            graph.add(on: layerThreads[l], device: layer.device, duration: 0, after: [prologue], blocking: false)
        }
        for (s, shard) in shards.enumerated() {
            graph.add(on: shardThreads[s], device: shard.device, duration: 0, after: [prologue], blocking: false)
        }
        // A worker enqueues a task once the one `queueDepth` back has ended (its marker, waited for
        // on the host): a gate before each task, after the last sub-task of that earlier one.
        let depth = WavefrontExecutor.queueDepth
        var ended = [Int: [Int]]()
        func begin(_ thread: Int, _ device: Int) {
            let previous = ended[thread, default: []]
            guard previous.count >= depth else { return }
            graph.add(on: thread, device: device, duration: 0, after: [previous[previous.count - depth]], blocking: false)
        }
        func end(_ thread: Int) {
            if let last = graph.last(on: thread) { ended[thread, default: []].append(last) }
        }
        // Per part and unit: the compute task a device copy waits for, and the staged read.
        var forward = Array(repeating: [Int](), count: layers.count), forwardRead = Array(repeating: [Int?](), count: layers.count)
        var statistics = Array(repeating: [Int](), count: shards.count)
        var gradient = Array(repeating: [Int](), count: shards.count), gradientRead = Array(repeating: [Int?](), count: shards.count)
        for u in 0..<unitCount {
            for (l, layer) in layers.enumerated() {
                let thread = layerThreads[l]
                begin(thread, layer.device)
                if l > 0 {
                    transfers.receive(activation[u], from: layers[l - 1].device, read: forwardRead[l - 1][u],
                                      producer: forward[l - 1][u], on: thread, to: layer.device, into: &graph)
                }
                forward[l].append(graph.add(on: thread, device: layer.device, duration: share[u] * layer.forward, blocking: false,
                                            name: "layer \(l) forward, \(unitName(u))"))
                let consumers = l < top ? [layers[l + 1].device] : shards.map(\.device)
                forwardRead[l].append(transfers.send(activation[u], from: layer.device, on: thread, to: consumers, into: &graph))
                end(thread)
            }
            for (s, shard) in shards.enumerated() {
                let thread = shardThreads[s]
                begin(thread, shard.device)
                transfers.receive(activation[u], from: topDevice, read: forwardRead[top][u], producer: forward[top][u],
                                  on: thread, to: shard.device, into: &graph)
                let logits = graph.add(on: thread, device: shard.device, duration: share[u] * shard.forward, blocking: false,
                                       name: "softmax shard \(s) forward, \(unitName(u))")
                // A split softmax reads its three statistics back (waiting for its queue).
                statistics[s].append(shards.count > 1
                    ? graph.add(on: thread, device: shard.device, duration: 3 * transfers.host(row[u]), bytesSent: 3 * row[u],
                                name: "softmax shard \(s) statistics, \(unitName(u))")
                    : logits)
                end(thread)
            }
            for (s, shard) in shards.enumerated() {
                let thread = shardThreads[s]
                begin(thread, shard.device)
                if shards.count > 1 {   // every shard's statistics combined on the host, log Z uploaded
                    graph.add(on: thread, device: shard.device, duration: transfers.host(row[u]), after: statistics.map { $0[u] },
                              name: "softmax shard \(s) log Z, \(unitName(u))")
                }
                gradient[s].append(graph.add(on: thread, device: shard.device,
                                             duration: share[u] * (shard.backward + shard.weightGradient), blocking: false,
                                             name: "softmax shard \(s) backward, \(unitName(u))"))
                gradientRead[s].append(transfers.send(activation[u], from: shard.device, on: thread, to: [topDevice], into: &graph))
                end(thread)
            }
        }
        // The backward units: micro-batch by micro-batch, each one's runs in reverse.
        let order = (0..<m).flatMap { mb in runs.indices.reversed().map { mb * runs.count + $0 } }
        var backward = Array(repeating: [Int: Int](), count: layers.count)
        var backwardRead = Array(repeating: [Int: Int](), count: layers.count)
        for l in layers.indices.reversed() {
            let layer = layers[l], thread = layerThreads[l]
            for u in order {
                begin(thread, layer.device)
                if l == top {
                    // Each shard's part arrives (copy or write); the first is copied into the sum.
                    for (s, shard) in shards.enumerated() {
                        transfers.receive(activation[u], from: shard.device, read: gradientRead[s][u], producer: gradient[s][u],
                                          on: thread, to: layer.device, into: &graph)
                    }
                    if !shards.isEmpty {
                        graph.add(on: thread, device: layer.device, duration: transfers.deviceCopy(activation[u]), blocking: false,
                                  name: "layer \(l) output gradient sum, \(unitName(u))")
                    }
                } else {
                    transfers.receive(activation[u], from: layers[l + 1].device, read: backwardRead[l + 1][u],
                                      producer: backward[l + 1][u], on: thread, to: layer.device, into: &graph)
                }
                backward[l][u] = graph.add(on: thread, device: layer.device, duration: share[u] * layer.backward, blocking: false,
                                           name: "layer \(l) backward, \(unitName(u))")
                if l > 0 {
                    backwardRead[l][u] = transfers.send(activation[u], from: layer.device, on: thread,
                                                        to: [layers[l - 1].device], into: &graph)
                }
                end(thread)
            }
            graph.add(on: thread, device: layer.device, duration: Double(model.steps) * layer.weightGradient, blocking: false,
                      name: "layer \(l) weight gradients")
        }
        // Each worker drains its queue before it returns.
        for (l, layer) in layers.enumerated() { graph.add(on: layerThreads[l], device: layer.device, duration: 0) }
        for (s, shard) in shards.enumerated() { graph.add(on: shardThreads[s], device: shard.device, duration: 0) }

        // After the workers: one shard's losses come back; every layer copies its carried state.
        var epilogue = (layerThreads + shardThreads).compactMap { graph.last(on: $0) }
        if shards.count == 1 {
            epilogue = [graph.add(on: caller, device: shards[0].device, duration: transfers.host(model.rowBytes * Double(model.steps)),
                                  after: epilogue, bytesSent: model.rowBytes * Double(model.steps), name: "reading the losses")]
        }
        for (l, layer) in layers.enumerated() {
            graph.add(on: caller, device: layer.device, duration: 2 * Double(m) * transfers.deviceCopy(model.activationBytes / Double(m)),
                      after: epilogue, blocking: false, name: "layer \(l) carried state")
        }
    }
}
