/// The encoder–decoder's training step as a graph over the same simulator and the same task
/// pieces as the language model's (`PipelineTasks.swift`): what the translation executors over
/// `TranslationModel`'s placement run — `TranslationExecutor` (sequential) and
/// `TranslationWavefrontExecutor` (wavefront), whose tasks carry these names; `cltrain plan --task
/// translate --validate` measures them on timing devices next to this prediction
/// (`PlanValidation.validate(_: TranslationPlan, …)`).
///
/// **Sequential.** The caller's thread: the source and target token ids uploaded; each encoder
/// layer's whole source window in turn (S steps), each activation moved to the next layer's
/// device; then each decoder layer's target window (T steps), decoder layer l first taking
/// encoder layer l's final (h, c) — a gather on their one device, no transfer; the softmax shards
/// as the language model's; the backward: decoder layers top-down, then each encoder layer
/// top-down once decoder layer l has handed it ∂h₀, ∂c₀ (again a gather on the same device), the
/// weight gradients with each layer's backward; one shard's losses read back.
///
/// **Wavefront** (`stepsPerRun` K, `microBatches` M). Both windows are cut into runs of K (units
/// as the language model's, one set over S and one over T). One worker per layer index l, running
/// encoder layer l and decoder layer l on their shared backend, and one per softmax shard. Worker l,
/// micro-batch by micro-batch: the encoder's source runs in order (each waiting for encoder layer
/// l−1's same run), the final state handed to the decoder, the decoder's target runs in order (each
/// waiting for decoder layer l−1's; the top layer's handed to every shard, which computes its
/// statistics and gradient per run exactly as for the language model). Decoder layer l can thus
/// start while the encoder's upper layers still read the source: the wavefront runs diagonally
/// through both stacks. Then the backward, micro-batch by micro-batch: the decoder's runs in
/// reverse (the top layer gathering the shards' parts of ∂L/∂h), ∂h₀, ∂c₀ handed to the encoder,
/// the encoder's runs in reverse (each waiting for encoder layer l+1's), then both layers' weight
/// gradients over their windows. No state is carried to the next batch.
///
/// **Costs** are the language model's: an encoder layer's step costs what a decoder layer of the
/// same index does (same H, E, B), the shards per vocabulary row, transfers over `link` and
/// `deviceCopy`. A hand-over of state (either way) is a row gather or scatter on the layer's own
/// device, B/M rows of H: costed at nothing, as the embedding's gather is (well below a layer
/// step's resolution); what it does cost is the upload of its B/M row indices per layer and
/// micro-batch, from the calling thread before the workers start (before the decoder, sequentially).
/// Measured against the executors on timing devices (`PlanValidation.validate(_: TranslationPlan, …)`),
/// whose hand-overs do exactly this.
extension PipelineSimulator {
    /// Simulates one training step of the encoder–decoder `model` under `schedule`.
    public static func simulate(_ model: TranslationPipelineModel, schedule: ExecutionSchedule) throws -> PipelinePrediction {
        try check(model.decoder)
        guard model.sourceSteps > 0 else { throw CLTrainError.invalidArgument("the simulated source needs at least one time step") }
        guard model.encoder.map(\.device) == model.decoder.layers.map(\.device) else {
            throw CLTrainError.invalidArgument(
                "encoder layer l and decoder layer l share one device (\(model.encoder.count) encoder layers on "
                    + "\(model.encoder.map(\.device)), \(model.decoder.layers.count) decoder layers on \(model.decoder.layers.map(\.device)))")
        }
        try checkCosts(model.encoder)
        return try predict(schedule, totalWork: model.totalWork, deviceCount: model.deviceCount) { graph in
            switch schedule {
            case .sequential: buildSequential(model, into: &graph)
            case .wavefront(let stepsPerRun, let m): buildWavefront(model, stepsPerRun: stepsPerRun, microBatches: m, into: &graph)
            }
        }
    }

    private static func buildSequential(_ model: TranslationPipelineModel, into graph: inout ThreadedTasks) {
        let decoder = model.decoder
        var main = SequentialTasks(graph: graph, transfers: Transfers(model: decoder))
        defer { graph = main.graph }
        let layers = decoder.layers, encoder = model.encoder, top = layers.count - 1
        let (s, t) = (Double(model.sourceSteps), Double(model.targetSteps))
        let (source, target) = ("steps 0..<\(model.sourceSteps)", "steps 0..<\(model.targetSteps)")
        main.blocking(layers[0].device, main.transfers.host(decoder.rowBytes * s), "upload the source token ids")
        main.blocking(layers[0].device, main.transfers.host(decoder.rowBytes * t), "upload the target token ids")
        var encoderLast: [Int] = []
        for (l, layer) in encoder.enumerated() {
            if l > 0 { main.move(decoder.activationBytes * s, from: encoder[l - 1].device, producer: encoderLast[l - 1], to: layer.device) }
            encoderLast.append(main.compute(layer.device, s * layer.forward, "encoder layer \(l) forward, \(source)"))
        }
        var decoderLast: [Int] = []
        for (l, layer) in layers.enumerated() {
            main.blocking(layer.device, main.transfers.host(decoder.rowBytes), "upload the final-state rows for layer \(l)")
            main.compute(layer.device, 0, "encoder layer \(l) final state → decoder layer \(l)")
            if l > 0 { main.move(decoder.activationBytes * t, from: layers[l - 1].device, producer: decoderLast[l - 1], to: layer.device) }
            decoderLast.append(main.compute(layer.device, t * layer.forward, "decoder layer \(l) forward, \(target)"))
        }
        decoderLast[top] = main.softmax(decoder.shards, steps: model.targetSteps, topDevice: layers[top].device,
                                        producer: decoderLast[top], activationBytes: decoder.activationBytes,
                                        rowBytes: decoder.rowBytes, topName: "decoder layer \(top)")
        for l in layers.indices.reversed() {
            if l < top { main.move(decoder.activationBytes * t, from: layers[l + 1].device, producer: decoderLast[l + 1], to: layers[l].device) }
            decoderLast[l] = main.compute(layers[l].device, t * (layers[l].backward + layers[l].weightGradient),
                                          "decoder layer \(l) backward, \(target)")
        }
        for l in encoder.indices.reversed() {
            main.compute(encoder[l].device, 0, "decoder layer \(l) ∂h₀, ∂c₀ → encoder layer \(l)")
            if l < top { main.move(decoder.activationBytes * s, from: encoder[l + 1].device, producer: encoderLast[l + 1], to: encoder[l].device) }
            encoderLast[l] = main.compute(encoder[l].device, s * (encoder[l].backward + encoder[l].weightGradient),
                                          "encoder layer \(l) backward, \(source)")
        }
        main.readLosses(decoder.shards, steps: model.targetSteps, rowBytes: decoder.rowBytes)
    }

    private static func buildWavefront(_ model: TranslationPipelineModel, stepsPerRun: Int, microBatches m: Int,
                                       into graph: inout ThreadedTasks) {
        let decoder = model.decoder
        let layers = decoder.layers, encoder = model.encoder, shards = decoder.shards, top = layers.count - 1
        let sourceUnits = Units(steps: model.sourceSteps, stepsPerRun: stepsPerRun, microBatches: m)
        let targetUnits = Units(steps: model.targetSteps, stepsPerRun: stepsPerRun, microBatches: m)
        var w = WavefrontTasks(graph: graph, transfers: Transfers(model: decoder))
        defer { graph = w.graph }
        let bytes = decoder.activationBytes
        let microBatch = { (u: Int) in m == 1 ? "" : ", micro-batch \(u)" }

        // Before the workers: both windows' token ids, then each shard's targets for each target unit.
        let caller = w.graph.addThread("main")
        w.graph.add(on: caller, device: layers[0].device, duration: w.transfers.host(decoder.rowBytes * Double(model.sourceSteps)),
                    name: "upload the source token ids")
        var uploads = w.graph.add(on: caller, device: layers[0].device,
                                  duration: w.transfers.host(decoder.rowBytes * Double(model.targetSteps)),
                                  name: "upload the target token ids")
        for (l, layer) in layers.enumerated() {
            for mb in 0..<m {
                uploads = w.graph.add(on: caller, device: layer.device, duration: w.transfers.host(decoder.rowBytes / Double(m)),
                                      name: "upload the final-state rows for layer \(l)\(microBatch(mb))")
            }
        }
        let workers = w.startWorkers(caller: caller, after: uploads, layers: layers, shards: shards, units: targetUnits,
                                     rowBytes: decoder.rowBytes) { "encoder and decoder layer \($0)" }
        let (layerThreads, shardThreads) = (workers.layers, workers.shards)

        // The forward, micro-batch by micro-batch: the encoder's runs, the hand-over, the decoder's.
        var encoderForward = Array(repeating: [Int: Handoff](), count: layers.count)
        var decoderForward = Array(repeating: [Int: Handoff](), count: layers.count)
        var gradient = [Int: [Handoff]]()
        for mb in 0..<m {
            for u in sourceUnits.forward(microBatch: mb) {
                for (l, layer) in encoder.enumerated() {
                    encoderForward[l][u] = w.layerUnit(
                        thread: layerThreads[l], device: layer.device, inputs: l > 0 ? encoderForward[l - 1][u].map { [$0] } ?? [] : [],
                        bytes: sourceUnits.share(u) * bytes, seconds: sourceUnits.share(u) * layer.forward,
                        name: "encoder layer \(l) forward, \(sourceUnits.name(u))", consumers: l < top ? [encoder[l + 1].device] : [])
                }
            }
            for (l, layer) in layers.enumerated() {
                w.graph.add(on: layerThreads[l], device: layer.device, duration: 0, blocking: false,
                            name: "encoder layer \(l) final state → decoder layer \(l)\(microBatch(mb))")
            }
            for u in targetUnits.forward(microBatch: mb) {
                for (l, layer) in layers.enumerated() {
                    decoderForward[l][u] = w.layerUnit(
                        thread: layerThreads[l], device: layer.device, inputs: l > 0 ? decoderForward[l - 1][u].map { [$0] } ?? [] : [],
                        bytes: targetUnits.share(u) * bytes, seconds: targetUnits.share(u) * layer.forward,
                        name: "decoder layer \(l) forward, \(targetUnits.name(u))",
                        consumers: l < top ? [layers[l + 1].device] : shards.map(\.device))
                }
                if let topUnit = decoderForward[top][u] {
                    gradient[u] = w.softmaxUnit(u, of: targetUnits, top: topUnit, shards: shards, threads: shardThreads,
                                                activationBytes: bytes, rowBytes: decoder.rowBytes)
                }
            }
        }
        // The backward, per worker from the top, micro-batch by micro-batch: the decoder's runs in
        // reverse, the hand-over of ∂h₀, ∂c₀, the encoder's runs in reverse; then the weight gradients.
        var decoderBackward = Array(repeating: [Int: Handoff](), count: layers.count)
        var encoderBackward = Array(repeating: [Int: Handoff](), count: layers.count)
        for l in layers.indices.reversed() {
            let layer = layers[l], thread = layerThreads[l]
            for mb in 0..<m {
                for u in targetUnits.backward(microBatch: mb) {
                    decoderBackward[l][u] = w.layerUnit(
                        thread: thread, device: layer.device,
                        inputs: l == top ? gradient[u] ?? [] : decoderBackward[l + 1][u].map { [$0] } ?? [],
                        bytes: targetUnits.share(u) * bytes, seconds: targetUnits.share(u) * layer.backward,
                        name: "decoder layer \(l) backward, \(targetUnits.name(u))",
                        sum: l == top ? "decoder layer \(l) output gradient sum, \(targetUnits.name(u))" : nil,
                        consumers: l > 0 ? [layers[l - 1].device] : [])
                }
                w.graph.add(on: thread, device: layer.device, duration: 0, blocking: false,
                            name: "decoder layer \(l) ∂h₀, ∂c₀ → encoder layer \(l)\(microBatch(mb))")
                for u in sourceUnits.backward(microBatch: mb) {
                    encoderBackward[l][u] = w.layerUnit(
                        thread: thread, device: layer.device, inputs: l < top ? encoderBackward[l + 1][u].map { [$0] } ?? [] : [],
                        bytes: sourceUnits.share(u) * bytes, seconds: sourceUnits.share(u) * encoder[l].backward,
                        name: "encoder layer \(l) backward, \(sourceUnits.name(u))", consumers: l > 0 ? [encoder[l - 1].device] : [])
                }
            }
            w.graph.add(on: thread, device: layer.device, duration: Double(model.targetSteps) * layer.weightGradient, blocking: false,
                        name: "decoder layer \(l) weight gradients")
            w.graph.add(on: thread, device: layer.device, duration: Double(model.sourceSteps) * encoder[l].weightGradient,
                        blocking: false, name: "encoder layer \(l) weight gradients")
        }
        w.drain(workers.all)

        // After the workers: one shard's losses come back (nothing is carried to the next batch).
        if shards.count == 1 {
            let rows = decoder.rowBytes * Double(model.targetSteps)
            w.graph.add(on: caller, device: shards[0].device, duration: w.transfers.host(rows),
                        after: (layerThreads + shardThreads).compactMap { w.graph.last(on: $0) }, bytesSent: rows,
                        name: "reading the losses")
        }
    }
}
