/// The pieces every model's graph is built from, so that the language model's graph and the
/// encoder–decoder's (`PipelineSimulator+Translation.swift`) are two arrangements of the same
/// tasks, costed the same way, over one simulator (`ThreadedTasks`).
extension PipelineSimulator {
    /// What a part left for the next one: its device, its staged read (nil where none was needed)
    /// and its compute task (which a device copy waits for).
    struct Handoff {
        let device: Int
        let read: Int?
        let producer: Int
    }

    /// A window of `steps` cut into runs of K steps (the last one shorter), times M micro-batches:
    /// unit u = m·R + r is micro-batch m's run r, of K_u·B/M rows (`WavefrontExecutor.PipelineUnits`).
    struct Units {
        let runs: [Int]
        let stepsPerRun: Int
        let microBatches: Int

        init(steps: Int, stepsPerRun: Int, microBatches: Int) {
            runs = stride(from: 0, to: steps, by: stepsPerRun).map { min(stepsPerRun, steps - $0) }
            self.stepsPerRun = stepsPerRun
            self.microBatches = microBatches
        }

        var count: Int { microBatches * runs.count }
        /// Unit u's share of a full-batch step: K_u / M.
        func share(_ u: Int) -> Double { Double(runs[u % runs.count]) / Double(microBatches) }
        /// As the runtime names a unit (`WavefrontExecutor.PipelineUnits.name`).
        func name(_ u: Int) -> String {
            let first = (u % runs.count) * stepsPerRun, steps = "steps \(first)..<\(first + runs[u % runs.count])"
            return microBatches == 1 ? steps : "micro-batch \(u / runs.count), \(steps)"
        }
        /// Micro-batch m's units in time order (the forward's).
        func forward(microBatch m: Int) -> [Int] { runs.indices.map { m * runs.count + $0 } }
        /// Micro-batch m's units in reverse time order (the backward's).
        func backward(microBatch m: Int) -> [Int] { runs.indices.reversed().map { m * runs.count + $0 } }
    }

    /// The wavefront's worker threads as they are being built: the graph, the transfers, and each
    /// worker's gate (a worker enqueues a task once the one `WavefrontExecutor.queueDepth` back has
    /// ended: its marker, waited for on the host).
    struct WavefrontTasks {
        var graph: ThreadedTasks
        let transfers: Transfers
        private var ended = [Int: [Int]]()

        init(graph: ThreadedTasks, transfers: Transfers) {
            self.graph = graph
            self.transfers = transfers
        }

        /// A gate before each task, after the last sub-task of the one `queueDepth` back.
        mutating func begin(_ thread: Int, _ device: Int) {
            let previous = ended[thread, default: []]
            guard previous.count >= WavefrontExecutor.queueDepth else { return }
            graph.add(on: thread, device: device, duration: 0, after: [previous[previous.count - WavefrontExecutor.queueDepth]],
                      blocking: false)
        }

        mutating func end(_ thread: Int) {
            if let last = graph.last(on: thread) { ended[thread, default: []].append(last) }
        }

        /// The worker threads: one per layer (named `layerName(l)`), one per softmax shard.
        struct Workers {
            let layers: [Int]
            let shards: [Int]
            let all: [(thread: Int, device: Int)]
        }

        /// The rest of the caller's prologue after its token ids (`uploads`): each shard's targets
        /// for each unit of `units`; then the workers, each starting once the window is prepared.
        mutating func startWorkers(caller: Int, after uploads: Int, layers: [PipelineModel.Stage], shards: [PipelineModel.Stage],
                                   units: Units, rowBytes: Double, layerName: (Int) -> String) -> Workers {
            var prologue = uploads
            for (s, shard) in shards.enumerated() {
                for u in 0..<units.count {
                    prologue = graph.add(on: caller, device: shard.device, duration: transfers.host(units.share(u) * rowBytes),
                                         name: "softmax shard \(s) targets, \(units.name(u))")
                }
            }
            let layerThreads = layers.indices.map { l in graph.addThread("worker \(l): \(layerName(l))") }
            let shardThreads = shards.indices.map { s in graph.addThread("worker \(layers.count + s): softmax shard \(s)") }
            let all: [(thread: Int, device: Int)] = zip(layerThreads + shardThreads, (layers + shards).map(\.device)).map { ($0, $1) }
            for worker in all { graph.add(on: worker.thread, device: worker.device, duration: 0, after: [prologue], blocking: false) }
            return Workers(layers: layerThreads, shards: shardThreads, all: all)
        }

        /// Each worker drains its queue before it returns.
        mutating func drain(_ workers: [(thread: Int, device: Int)]) {
            for worker in workers { graph.add(on: worker.thread, device: worker.device, duration: 0) }
        }

        /// One LSTM layer's task on one unit (a forward, or the backward the layer below waits
        /// for): `inputs` received (with `sum`, the top layer's gathering of the shards' parts of
        /// ∂L/∂h, the first copied into the sum), the compute, its output sent to `consumers`.
        mutating func layerUnit(thread: Int, device: Int, inputs: [Handoff], bytes: Double, seconds: Double, name: String,
                                sum: String? = nil, consumers: [Int]) -> Handoff {
            begin(thread, device)
            for input in inputs {
                transfers.receive(bytes, from: input.device, read: input.read, producer: input.producer, on: thread, to: device,
                                  into: &graph)
            }
            if let sum, !inputs.isEmpty {
                graph.add(on: thread, device: device, duration: transfers.deviceCopy(bytes), blocking: false, name: sum)
            }
            let task = graph.add(on: thread, device: device, duration: seconds, blocking: false, name: name)
            let read = transfers.send(bytes, from: device, on: thread, to: consumers, into: &graph)
            end(thread)
            return Handoff(device: device, read: read, producer: task)
        }

        /// Every shard's work on unit u of the top layer's output (`top`): its logits and, when
        /// split, its three statistics read back; then, once every shard's statistics are in, the
        /// log normalizers written, its gradient and weight gradients, and its part of ∂L/∂h sent
        /// to the top layer. Returns each shard's part.
        mutating func softmaxUnit(_ u: Int, of units: Units, top: Handoff, shards: [PipelineModel.Stage], threads: [Int],
                                  activationBytes: Double, rowBytes: Double) -> [Handoff] {
            let share = units.share(u), activation = share * activationBytes, row = share * rowBytes
            var statistics: [Int] = []
            for (s, shard) in shards.enumerated() {
                begin(threads[s], shard.device)
                transfers.receive(activation, from: top.device, read: top.read, producer: top.producer, on: threads[s],
                                  to: shard.device, into: &graph)
                let logits = graph.add(on: threads[s], device: shard.device, duration: share * shard.forward, blocking: false,
                                       name: "softmax shard \(s) forward, \(units.name(u))")
                // A split softmax reads its three statistics back (waiting for its queue).
                statistics.append(shards.count > 1
                    ? graph.add(on: threads[s], device: shard.device, duration: 3 * transfers.host(row), bytesSent: 3 * row,
                                name: "softmax shard \(s) statistics, \(units.name(u))")
                    : logits)
                end(threads[s])
            }
            return shards.enumerated().map { s, shard in
                begin(threads[s], shard.device)
                if shards.count > 1 {   // every shard's statistics combined on the host, log Z uploaded
                    graph.add(on: threads[s], device: shard.device, duration: transfers.host(row), after: statistics,
                              name: "softmax shard \(s) log Z, \(units.name(u))")
                }
                let gradient = graph.add(on: threads[s], device: shard.device,
                                         duration: share * (shard.backward + shard.weightGradient), blocking: false,
                                         name: "softmax shard \(s) backward, \(units.name(u))")
                let read = transfers.send(activation, from: shard.device, on: threads[s], to: [top.device], into: &graph)
                end(threads[s])
                return Handoff(device: shard.device, read: read, producer: gradient)
            }
        }
    }

    /// The sequential schedule's one thread (the caller's) as it is being built.
    struct SequentialTasks {
        var graph: ThreadedTasks
        let transfers: Transfers
        let thread: Int

        init(graph: ThreadedTasks, transfers: Transfers) {
            self.graph = graph
            self.transfers = transfers
            thread = self.graph.addThread("main")
        }

        /// Enqueued work (kernels, device copies): the thread goes on.
        @discardableResult
        mutating func compute(_ device: Int, _ seconds: Double, _ name: String) -> Int {
            graph.add(on: thread, device: device, duration: seconds, blocking: false, name: name)
        }

        /// A blocking transfer of B-float rows (indices up, statistics or losses down).
        mutating func blocking(_ device: Int, _ seconds: Double, sent: Double = 0, _ name: String) {
            graph.add(on: thread, device: device, duration: seconds, bytesSent: sent, name: name)
        }

        /// `bytes` from the part whose last task is `producer` on `from` to `to`.
        mutating func move(_ bytes: Double, from: Int, producer: Int, to: Int) {
            let read = transfers.send(bytes, from: from, on: thread, to: [to], into: &graph)
            transfers.receive(bytes, from: from, read: read, producer: producer, on: thread, to: to, into: &graph)
        }

        /// The softmax over a window of `steps` of the top layer's output (on `topDevice`, its
        /// last task `producer`), as `SequentialExecutor` runs it: the rows read back once for
        /// every shard in another memory domain, every shard's targets and logits, the split
        /// softmax's statistics, each shard's gradient and its part of ∂L/∂h_top sent, then the
        /// parts received and summed on the top layer's device. Returns the sum's task (or
        /// `producer` without shards).
        mutating func softmax(_ shards: [PipelineModel.Stage], steps: Int, topDevice: Int, producer: Int,
                              activationBytes: Double, rowBytes: Double, topName: String) -> Int {
            let t = Double(steps), all = "steps 0..<\(steps)"
            let (activations, rows) = (activationBytes * t, rowBytes * t)
            let topRead = transfers.send(activations, from: topDevice, on: thread, to: shards.map(\.device), into: &graph)
            for (s, shard) in shards.enumerated() { blocking(shard.device, transfers.host(rows), "softmax shard \(s) targets") }
            var last: [Int] = []
            for (s, shard) in shards.enumerated() {   // every shard's logits first
                transfers.receive(activations, from: topDevice, read: topRead, producer: producer, on: thread, to: shard.device,
                                  into: &graph)
                last.append(compute(shard.device, t * shard.forward, "softmax shard \(s) forward, \(all)"))
            }
            // A split softmax reads three statistics a row back per shard (each waits for its queue).
            if shards.count > 1 {
                for (s, shard) in shards.enumerated() {
                    blocking(shard.device, 3 * transfers.host(rows), sent: 3 * rows, "softmax shard \(s) statistics")
                }
            }
            var reads: [Int?] = []
            for (s, shard) in shards.enumerated() {
                if shards.count > 1 { blocking(shard.device, transfers.host(rows), "softmax shard \(s) log Z") }
                last[s] = compute(shard.device, t * (shard.backward + shard.weightGradient), "softmax shard \(s) backward, \(all)")
                reads.append(transfers.send(activations, from: shard.device, on: thread, to: [topDevice], into: &graph))
            }
            var top = producer
            for (s, shard) in shards.enumerated() {
                transfers.receive(activations, from: shard.device, read: reads[s], producer: last[s], on: thread, to: topDevice,
                                  into: &graph)
                if s == 0 { top = compute(topDevice, transfers.deviceCopy(activations), "\(topName) output gradient sum") }
            }
            return top
        }

        /// One shard's losses read back (a split softmax's come with its statistics).
        mutating func readLosses(_ shards: [PipelineModel.Stage], steps: Int, rowBytes: Double) {
            guard shards.count == 1 else { return }
            let rows = rowBytes * Double(steps)
            blocking(shards[0].device, transfers.host(rows), sent: rows, "reading the losses")
        }
    }
}
