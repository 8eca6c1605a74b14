import ArgumentParser
import CLTrain
import CLTrainCommandLine
import Foundation

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Place the model's layers and softmax shards on devices and predict pipelined training's step time.",
        discussion: """
            Each device is calibrated on the model's own operations (a short run, cached per device and shape;
            --recalibrate measures again), or takes PyTorch/cuDNN's measured H100 costs (--costs h100). The placement is
            balanced automatically (--placement auto) or given (--layer-devices 0,1,2,3 --softmax-devices 4,5,6,7; a device
            may be listed more than once, each listing gets its own command queue). A simulation of the runtime's own
            threads, task lists and host-staged transfers then predicts one training step: sequential, as the 2014
            wavefront that `train --pipeline` runs, with --steps-per-run K and, with --micro-batches M, GPipe-style.
            --simulate-devices N plans for N identical copies of one device, numbered 0..<N. --validate runs the real
            executors on timing devices with the plan's costs and prints the measured step beside the prediction.
            --task translate predicts the encoder–decoder of Sutskever et al. 2014 in the paper's layout (layer k of both
            stacks on the k-th --layer-devices entry, the target vocabulary over --softmax-devices) for a batch of
            --source-steps S and --target-steps T; it is not validated yet (no pipelined translation executor exists).
            The model behind the prediction: Sources/CLTrain/Planning/PipelineSimulator.swift (and +Translation.swift).
            """
    )

    @OptionGroup var logging: LoggingOptions

    @Option(parsing: .unconditional, help: "Stacked LSTM layers.") var layers: Int = 2
    @Option(parsing: .unconditional, help: "Units per LSTM layer.") var hidden: Int = 512
    @Option(parsing: .unconditional, help: "Embedding width (default: --hidden).") var embedding: Int?
    @Option(help: "lm (a language model) or translate (the encoder–decoder of Sutskever et al. 2014: --source-vocab, --target-vocab, --source-steps, --target-steps).")
    var task: PlanTask = .lm
    @Option(parsing: .unconditional, help: "Vocabulary size (--task lm).") var vocab: Int?
    @Option(parsing: .unconditional, help: "Sequences (or sentence pairs) per batch.") var batch: Int = 64
    @Option(name: .customLong("bptt"), parsing: .unconditional, help: "Steps of truncated backpropagation through time (--task lm; default 35).")
    var bpttOption: Int?
    var bptt: Int { bpttOption ?? 35 }
    @OptionGroup var translation: PlanTranslationOptions
    @OptionGroup var devices: DeviceOptions
    @Option(help: "auto (balance the measured costs) or manual (default: manual when --layer-devices is given, else auto).")
    var placement: PlacementMode?
    @Option(help: ArgumentHelp("One device per LSTM layer, e.g. '0,1,2,3'; the embedding goes with the first.", valueName: "LIST"), transform: QueueDeviceList.parse)
    var layerDevices: QueueDeviceList?
    @Option(help: ArgumentHelp("Devices of the vocabulary shards, e.g. '4,5,6,7' (default: the last layer's device).", valueName: "LIST"), transform: QueueDeviceList.parse)
    var softmaxDevices: QueueDeviceList?
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Each device's host link, which every transfer between devices crosses (the runtime stages them through host memory): pcie4 (25 GB/s), nvlink4 (450 GB/s, as NVLink-C2C), or GB/s per direction.",
                               valueName: "pcie4|nvlink4|GBPS"),
            transform: LinkArgument.parse)
    var link = LinkArgument(Presets.pcie4)
    @Option(parsing: .unconditional, help: ArgumentHelp("Latency per transfer in µs (default: 10 for pcie4 and numbers, 5 for nvlink4).", valueName: "µs"))
    var linkLatency: Double?
    @Option(parsing: .unconditional, help: "Also predict a GPipe-style schedule with this many micro-batches (a divisor of --batch).") var microBatches: Int?
    @Option(parsing: .unconditional, help: "Also predict the wavefront with runs of K time steps (`train --pipeline --steps-per-run K`).") var stepsPerRun: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Plan for N identical copies of one device: the first selected one, or the preset --costs names.",
                               valueName: "N"))
    var simulateDevices: Int?
    @Option(help: "measured (calibrate the devices) or h100 (PyTorch/cuDNN's measured costs on one H100, not CLTrain's: Sources/CLTrain/Planning/Presets.swift; needs --simulate-devices).")
    var costs: CostSource = .measured
    @Flag(help: "Measure the devices again instead of using the cached calibration.") var recalibrate = false
    @Option(parsing: .unconditional, help: "Calibration time budget per device, in seconds.") var calibrationBudget: Double = 2
    @Flag(name: .customLong("validate"), help: "Also run the real executors on timing devices with this plan's costs, and print the measured step time and utilisation beside the prediction.")
    var runValidation = false
    @Option(parsing: .unconditional, help: ArgumentHelp("With --validate: the sequential step's length on the timing devices, in ms (the costs are scaled to it).", valueName: "ms"))
    var validateStepMs: Double = 1000
    @Option(parsing: .unconditional, help: "With --validate: measured steps per schedule (after one warm-up step); the median counts.")
    var validateSteps: Int = 3
    @Option(help: ArgumentHelp("Write the predicted schedule of each step to FILE as a Chrome trace (Perfetto's UI, chrome://tracing), a track per device; with --validate, the timing model's prediction and the measured step side by side.", valueName: "FILE"))
    var trace: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Also predict data parallelism (`train --data-parallel`) over 1, 2, 4, … up to N nodes, each running this plan on --batch / n sequences, the gradient summed by a ring allreduce over --node-link.", valueName: "N"))
    var nodes: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("With --nodes: each node's network link in Gb/s (10⁹ bits per second, per direction; --link is the host link of the devices inside a node, in GB/s).", valueName: "GBPS"))
    var nodeLink: Double = 100
    @Option(parsing: .unconditional, help: ArgumentHelp("With --nodes: latency per ring step in µs.", valueName: "µs"))
    var nodeLatency: Double = 10
    @Flag(help: "With --nodes: each node keeps --batch sequences, the global batch growing to n × --batch (weak scaling); default: n nodes share the global --batch.")
    var weakScaling = false

    enum PlacementMode: String, ExpressibleByArgument { case auto, manual }

    /// Bounds that keep the simulation's tables and arrays small, far beyond any machine planned for.
    static let maxLayers = 4096, maxDevices = 4096
    enum CostSource: String, ExpressibleByArgument { case measured, h100 }

    func validate() throws {
        if task == .translate { return try validateTranslation() }
        guard let vocab else { throw ValidationError("--vocab is required (the language model's vocabulary size)") }
        try translation.refuseWithoutTranslation()
        // The simulator's own bounds (WorkloadShape.validate), far above any real model.
        try flagCheck { try WorkloadShape(batch: batch, hidden: hidden, embedding: embedding ?? hidden, vocabulary: vocab, steps: bptt).validate() }
        try validateSchedulesAndDevices(window: bptt, windowFlag: "--bptt")
    }

    /// What both tasks check: layers, schedules (runs of at most `window` steps), devices, links, validation, nodes.
    func validateSchedulesAndDevices(window: Int, windowFlag: String) throws {
        try flagCheck {
            try InputNumber.check(layers, "--layers", in: 1...Self.maxLayers, why: "a simulated pipeline stage per layer")
            if let microBatches { try InputNumber.check(microBatches, "--micro-batches", in: 1...batch, why: "groups of --batch sequences") }
            if let stepsPerRun { try InputNumber.check(stepsPerRun, "--steps-per-run", in: 1...window, why: "time steps of \(windowFlag) per run") }
            if let simulateDevices {
                try InputNumber.check(simulateDevices, "--simulate-devices", in: 1...Self.maxDevices, why: "simulated copies of one device")
            }
            try InputNumber.check(calibrationBudget, "--calibration-budget", in: .positive(atMost: 3600),
                                  why: "seconds of measuring per device")
            if let linkLatency {
                try InputNumber.check(linkLatency, "--link-latency", in: .closed(0, 1e6), why: "µs per transfer; 1 s at most")
            }
            try InputNumber.check(validateStepMs, "--validate-step-ms", in: .closed(10, 60_000), why: "ms of sleeping per sequential step")
            try InputNumber.check(validateSteps, "--validate-steps", in: 1...100, why: "measured steps per schedule")
            if let nodes { try InputNumber.check(nodes, "--nodes", in: 1...Self.maxDevices, why: "data-parallel nodes") }
            try InputNumber.check(nodeLink, "--node-link", in: .positive(atMost: 1e6), why: "Gb/s per direction")
            try InputNumber.check(nodeLatency, "--node-latency", in: .closed(0, 1e6), why: "µs per ring step; 1 s at most")
        }
        if (nodeLink != 100 || nodeLatency != 10 || weakScaling) && nodes == nil {
            throw ValidationError("--node-link and --node-latency describe the network between data-parallel nodes: add --nodes N")
        }
        // As `cltrain train --pipeline --micro-batches` requires: the micro-batches are equal groups of sequences.
        if let microBatches {
            do { try checkMicroBatches(microBatches, batch: batch) } catch { throw ValidationError("\(error)") }
        }
        if costs == .h100 && simulateDevices == nil {
            throw ValidationError("--costs h100 describes simulated devices: add --simulate-devices N")
        }
        if placement == .manual && layerDevices == nil {
            throw ValidationError("--placement manual needs --layer-devices (one device per layer)")
        }
        if placement == .auto && (layerDevices != nil || softmaxDevices != nil) {
            throw ValidationError("--layer-devices and --softmax-devices are for --placement manual")
        }
    }

    /// --link with --link-latency applied.
    var hostLink: PipelineLink {
        var result = link.link
        if let linkLatency { result.latency = linkLatency * 1e-6 }
        return result
    }

    /// What the flags ask the planner.
    func request() throws -> PlanRequest {
        guard let vocab else { throw ValidationError("--vocab is required (the language model's vocabulary size)") }
        return try request(shape: WorkloadShape(batch: batch, hidden: hidden, embedding: embedding ?? hidden, vocabulary: vocab, steps: bptt))
    }

    /// The request for a language model of `shape` (for a translation: its decoder's).
    func request(shape: WorkloadShape) throws -> PlanRequest {
        let mode = placement ?? (layerDevices != nil || softmaxDevices != nil ? .manual : .auto)
        var placementRequest = PlacementRequest.auto
        if mode == .manual {
            guard let layerDevices else { throw ValidationError("--placement manual needs --layer-devices") }
            placementRequest = .manual(layers: layerDevices.devices, softmax: softmaxDevices?.devices)
        }
        let planDevices: PlanDevices = simulateDevices.map { .simulated(count: $0, costs: costs == .h100 ? .pytorchH100 : .copyOf(devices.list)) }
            ?? .selected(devices.list)
        var schedules: [ExecutionSchedule] = []
        if let stepsPerRun { schedules.append(.wavefront(stepsPerRun: stepsPerRun)) }
        if let microBatches { schedules.append(.wavefront(stepsPerRun: 1, microBatches: microBatches)) }
        return PlanRequest(shape: shape, layers: layers, devices: planDevices, placement: placementRequest, link: hostLink,
                           schedules: schedules, recalibrate: recalibrate, calibrationBudget: calibrationBudget)
    }

    func run() throws {
        if let trace { try TraceRecorder.checkWritable(trace) }
        if task == .translate { return try runTranslation() }
        let plan = try Planner.plan(request())
        let (shape, model, chosen) = (plan.request.shape, plan.model, plan.placement)
        let words = Double(batch * bptt)
        print("model      V \(shape.vocabulary), E \(shape.embedding), H \(hidden), L \(layers); batch \(batch), bptt \(bptt) (\(batch * bptt) words per step)")
        for line in plan.pool.notes { print(line) }
        print("host link  \(plan.model.link) (every transfer between devices is a download and an upload over it)")

        print("\nplacement")
        var parts = TextTable(headers: ["part", "device", "name", "rows", "work per step (ms)"])
        for (l, stage) in model.layers.enumerated() {
            parts.append([l == 0 ? "layer 0 + embedding" : "layer \(l)", "\(chosen.layers[l])", plan.name(of: chosen.layers[l]),
                          "-", milliseconds(stage.work * Double(bptt))])
        }
        for (s, stage) in model.shards.enumerated() {
            let shard = chosen.softmaxShards[s]
            parts.append(["softmax shard \(s)", "\(shard.device)", plan.name(of: shard.device),
                          "\(shard.rows.lowerBound)..<\(shard.rows.upperBound)", milliseconds(stage.work * Double(bptt))])
        }
        print(parts.rendered())

        printPerDevice(plan.predictions[1], devices: chosen.devices, name: plan.name(of:), activationBytes: shape.activationBytes)
        printPredictions(plan.predictions, baseline: plan.baseline, words: words)
        printHostDeviceNote(plan.hostDevices)

        print("\nreasons")
        for reason in chosen.reasons { print("- \(reason)") }

        if let nodes { try printDataParallel(nodes: nodes, single: plan) }

        try finish(plan.predictions, devices: chosen.devices, name: plan.name(of:), executors: "the real executors") {
            try PlanValidation.validate(plan, targetSequentialSeconds: validateStepMs / 1e3, measuredSteps: validateSteps,
                                        tracing: trace != nil)
        }
    }

    /// With --validate: `validate()`'s rows (the `executors` on timing devices, `devices` of the
    /// placement) printed beside the predictions, and with --trace both written; else with --trace
    /// the `predictions` alone.
    func finish(_ predictions: [PipelinePrediction], devices: [DeviceSelection], name: (DeviceSelection) -> String,
                executors: String, validate: () throws -> [ValidationRow]) throws {
        if runValidation {
            print("\nvalidation: \(executors) on \(devices.count) timing devices (Sources/CLTrain/Backends/Timing), "
                  + "costs scaled so the sequential step sleeps \(String(format: "%.0f", validateStepMs)) ms")
            let rows = try validate()
            printValidation(rows, devices: devices)
            if let trace { try writeTrace(rows, to: trace) }
        } else if let trace {
            try writePredictedTrace(predictions, deviceNames: devices.map(name), to: trace)
        }
    }

    /// Each schedule's predicted and measured step on the timing devices, and busy shares per device.
    func printValidation(_ rows: [ValidationRow], devices: [DeviceSelection]) {
        var table = TextTable(headers: ["schedule", "predicted (ms)", "measured (ms)", "error", "busy predicted", "busy measured"])
        for row in rows {
            table.append([scheduleName(row.schedule), milliseconds(row.predicted.stepTime), milliseconds(row.measuredStepTime),
                          String(format: "%+.1f%%", row.errorPercent),
                          row.predicted.busyFraction.map(percent).joined(separator: " "),
                          row.measuredBusyFraction.map(percent).joined(separator: " ")])
        }
        print(table.rendered())
        print("busy: per device \(devices.map(\.description).joined(separator: ", ")), as a share of the step; "
              + "the timing model is \(rows.first?.modelDescription ?? "")")
    }

    /// Per device of the placement: busy time and share, bytes sent, under the plain wavefront.
    func printPerDevice(_ wavefront: PipelinePrediction, devices: [DeviceSelection], name: (DeviceSelection) -> String,
                        activationBytes: Int) {
        print("\nper device, wavefront schedule")
        var perDevice = TextTable(headers: ["device", "name", "busy per step (ms)", "busy", "sent per step (MB)"])
        for (number, device) in devices.enumerated() {
            perDevice.append(["\(device)", name(device), milliseconds(wavefront.busy[number]),
                              percent(wavefront.busyFraction[number]), megabytes(wavefront.bytesSent[number])])
        }
        print(perDevice.rendered())
        print("downloads to the host: \(String(format: "%.0f", wavefront.transferBytes)) bytes (\(megabytes(wavefront.transferBytes)) MB) per step: "
              + "B×H activations and their gradients, \(activationBytes) bytes per boundary, direction and time step, "
              + "plus the shards' row statistics; each is uploaded again where it is used")
    }

    /// Each schedule's step, words/s (`words` a step), speedup over `baseline`, utilisation and bubble.
    func printPredictions(_ predictions: [PipelinePrediction], baseline: (device: DeviceSelection, prediction: PipelinePrediction),
                          words: Double) {
        print("\nprediction")
        var table = TextTable(headers: ["schedule", "step (ms)", "words/s", "speedup", "busy (mean)", "bubble"])
        func row(_ name: String, _ p: PipelinePrediction) {
            table.append([name, milliseconds(p.stepTime), String(format: "%.0f", words / p.stepTime),
                          String(format: "%.2f", baseline.prediction.stepTime / p.stepTime),
                          percent(1 - p.bubbleFraction), percent(p.bubbleFraction)])
        }
        row("one device (\(baseline.device), sequential)", baseline.prediction)
        for p in predictions { row(scheduleName(p.schedule), p) }
        print(table.rendered())
    }

    func printHostDeviceNote(_ hostDevices: [DeviceSelection]) {
        guard hostDevices.count > 1 else { return }
        print("\nnote: devices \(hostDevices.map(\.description).joined(separator: ", ")) are CPU devices of this host and share its "
              + "cores; each was calibrated alone, so run together they will be slower than predicted here.")
    }

    /// Each schedule's predicted step as a Chrome trace, a track per device.
    func writePredictedTrace(_ predictions: [PipelinePrediction], deviceNames: [String], to path: String) throws {
        let recorder = traceRecorder()
        for p in predictions {
            p.record(into: recorder, process: "predicted: \(scheduleName(p.schedule))", deviceNames: deviceNames)
        }
        try recorder.write(to: URL(fileURLWithPath: path))
        print("\ntrace: \(path) (the predicted step of each schedule, from 0 µs; open it in https://ui.perfetto.dev or chrome://tracing)")
    }

    private func traceRecorder() -> TraceRecorder {
        let recorder = TraceRecorder()
        recorder.note("command", CommandLine.arguments.joined(separator: " "))
        recorder.note("clock", "each schedule's step from 0 µs: the simulator's seconds, and for a measured step the host's monotonic clock from its start")
        return recorder
    }

    /// Per schedule, the simulator's prediction for the timing model ("predicted: …, device timing:N")
    /// and then the measured step on the timing devices ("measured: …, host" and "…, device timing:N").
    func writeTrace(_ rows: [ValidationRow], to path: String) throws {
        let recorder = traceRecorder()
        for row in rows {
            let name = scheduleName(row.schedule)
            row.predicted.record(into: recorder, process: "predicted: \(name)", deviceNames: row.deviceNames)
            if let measured = row.measuredTrace { try recorder.append(contentsOf: measured, process: { "measured: \(name), \($0)" }) }
        }
        try recorder.write(to: URL(fileURLWithPath: path))
        print("trace: \(path) (each schedule predicted and measured, each from 0 µs; open it in https://ui.perfetto.dev or chrome://tracing)")
    }

    /// Strong scaling at the global batch --batch: n nodes each run the plan at --batch / n (a node
    /// count that does not divide it is left out) and allreduce the gradient (`DataParallelPlan`);
    /// with --weak-scaling each node runs --batch and the global batch is n × --batch.
    func printDataParallel(nodes: Int, single: Plan) throws {
        let configuration = ModelConfiguration(vocabularySize: single.request.shape.vocabulary, embeddingSize: embedding ?? hidden, hiddenSize: hidden, layers: layers)
        var counts = Array(sequence(first: 1) { $0 * 2 }.prefix { $0 < nodes })
        counts.append(nodes)
        let base = single.predictions.map(\.stepTime).min() ?? single.baseline.prediction.stepTime
        let batchText = weakScaling ? "\(batch) sequences per node (the global batch n × \(batch))" : "the global batch \(batch) (\(batch)/n sequences each)"
        print("\ndata parallelism: n nodes at \(batchText), each node as planned above "
              + "(its best schedule), a ring allreduce of the float32 gradient over \(String(format: "%g", nodeLink)) Gb/s, \(String(format: "%g", nodeLatency)) µs per ring step")
        var table = TextTable(headers: ["nodes", "batch per node", "compute (ms)", "allreduce (ms)", "sent per node (MB)",
                                        "step (ms)", "step, overlapped (ms)", "words/s", "speedup", "speedup, overlapped"])
        for n in counts {
            guard weakScaling || batch % n == 0 else { continue }
            let perNode = weakScaling ? batch : batch / n
            var request = try self.request()
            request.shape.batch = perNode
            let plan = n == 1 ? single : try Planner.plan(request)
            let compute = plan.predictions.map(\.stepTime).min() ?? plan.baseline.prediction.stepTime
            let model = DataParallelPlan(nodes: n, bandwidth: nodeLink * 1e9 / 8, latency: nodeLatency * 1e-6, configuration: configuration)
            let p = model.predict(computeSeconds: compute)
            let words = Double(perNode * n * bptt), gain = weakScaling ? Double(n) : 1
            table.append(["\(n)", "\(perNode)", milliseconds(p.compute), milliseconds(p.allreduce), megabytes(model.bytesSentPerStep),
                          milliseconds(p.withoutOverlap), milliseconds(p.withOverlap),
                          String(format: "%.0f", words / p.withOverlap),
                          String(format: "%.2f", gain * base / p.withoutOverlap), String(format: "%.2f", gain * base / p.withOverlap)])
        }
        print(table.rendered())
        print("gradient \(megabytes(DataParallelPlan(nodes: 1, bandwidth: 1, latency: 0, configuration: configuration).gradientBytes)) MB per step, dense "
              + "(the embedding's rows too); overlapped: every bucket but the embedding's travels during the backward (2/3 of the compute); "
              + "host staging and MPI's copies not counted (Sources/CLTrain/Planning/DataParallelPlan.swift)")
    }

    func scheduleName(_ schedule: ExecutionSchedule) -> String {
        switch schedule {
        case .sequential: "sequential (this placement)"
        case .wavefront(1, 1): "wavefront (2014), K = 1"
        case .wavefront(let k, 1): "wavefront, K = \(k)"
        case .wavefront(let k, let m): "micro-batched, M = \(m)" + (k == 1 ? "" : ", K = \(k)")
        }
    }
}

/// `--link`: parsed when the arguments are, so a bad value fails before anything runs.
struct LinkArgument: ExpressibleByArgument {
    let link: PipelineLink

    init(_ link: PipelineLink) { self.link = link }

    init?(argument: String) {
        guard let link = try? PipelineLink.parse(argument) else { return nil }
        self.link = link
    }

    var defaultValueDescription: String { "pcie4" }

    /// The transform `@Option` calls: the library's parse, its message as the parse error.
    static func parse(_ text: String) throws -> LinkArgument {
        do { return LinkArgument(try PipelineLink.parse(text)) } catch { throw ValidationError("\(error)") }
    }
}

func milliseconds(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1e3) }
func percent(_ fraction: Double) -> String { String(format: "%.0f%%", fraction * 100) }
func megabytes(_ bytes: Double) -> String { String(format: "%.2f", bytes / 1e6) }
