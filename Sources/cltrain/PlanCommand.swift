import ArgumentParser
import CLTrain
import Foundation

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Place the model's layers and softmax shards on devices and predict pipelined training's step time.",
        discussion: """
            Each device is calibrated on the model's own operations (a short run, cached per device and shape;
            --recalibrate measures again), or takes the H100 figures (--costs h100). The placement is balanced
            automatically (--placement auto) or given (--layer-devices 0,1,2,3 --softmax-devices 4,5,6,7; a device
            may be listed more than once, each listing gets its own command queue). A discrete-event simulation
            then predicts one training step: on one device, as the 2014 wavefront (layer l on step t while layer
            l+1 is on step t−1, the backward likewise in reverse, the softmax shards in parallel) and, with
            --micro-batches M, GPipe-style. --simulate-devices N plans for N identical copies of one device,
            numbered 0..<N. The model behind the prediction: Sources/CLTrain/Planning/PipelineSimulator.swift.
            """
    )

    @Option(parsing: .unconditional, help: "Stacked LSTM layers.") var layers: Int = 2
    @Option(parsing: .unconditional, help: "Units per LSTM layer.") var hidden: Int = 512
    @Option(parsing: .unconditional, help: "Embedding width (default: --hidden).") var embedding: Int?
    @Option(parsing: .unconditional, help: "Vocabulary size.") var vocab: Int
    @Option(parsing: .unconditional, help: "Sequences per batch.") var batch: Int = 64
    @Option(parsing: .unconditional, help: "Steps of truncated backpropagation through time.") var bptt: Int = 35
    @OptionGroup var devices: DeviceOptions
    @Option(help: "auto (balance the measured costs) or manual (default: manual when --layer-devices is given, else auto).")
    var placement: PlacementMode?
    @Option(help: ArgumentHelp("One device per LSTM layer, e.g. '0,1,2,3'; the embedding goes with the first.", valueName: "LIST"))
    var layerDevices: String?
    @Option(help: ArgumentHelp("Devices of the vocabulary shards, e.g. '4,5,6,7' (default: the last layer's device).", valueName: "LIST"))
    var softmaxDevices: String?
    @Option(parsing: .unconditional, help: "Link between devices: pcie4 (25 GB/s), nvlink4 (450 GB/s), or GB/s per direction.")
    var link: String = "pcie4"
    @Option(parsing: .unconditional, help: ArgumentHelp("Latency per transfer in µs (default: 10 for pcie4 and numbers, 5 for nvlink4).", valueName: "µs"))
    var linkLatency: Double?
    @Option(parsing: .unconditional, help: "Also predict a GPipe-style schedule with this many micro-batches.") var microBatches: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Plan for N identical copies of one device: the first selected one, or the preset --costs names.",
                               valueName: "N"))
    var simulateDevices: Int?
    @Option(help: "measured (calibrate the devices) or h100 (the H100 figures of Sources/CLTrain/Planning/Presets.swift; needs --simulate-devices).")
    var costs: CostSource = .measured
    @Flag(help: "Measure the devices again instead of using the cached calibration.") var recalibrate = false
    @Option(parsing: .unconditional, help: "Calibration time budget per device, in seconds.") var calibrationBudget: Double = 2

    enum PlacementMode: String, ExpressibleByArgument { case auto, manual }

    /// Bounds that keep the simulation's tables and arrays small, far beyond any machine planned for.
    static let maxLayers = 4096, maxDevices = 4096
    /// 10⁶ GB/s: over a thousand times NVLink 4's 450 GB/s.
    static let maxLinkGigabytesPerSecond = 1e6
    enum CostSource: String, ExpressibleByArgument { case measured, h100 }

    func validate() throws {
        try flagCheck {
            // The simulator's own bounds (WorkloadShape.validate), far above any real model.
            try WorkloadShape(batch: batch, hidden: hidden, embedding: embedding ?? hidden, vocabulary: vocab, steps: bptt).validate()
            try InputNumber.check(layers, "--layers", in: 1...Self.maxLayers, why: "a simulated pipeline stage per layer")
            if let microBatches { try InputNumber.check(microBatches, "--micro-batches", in: 1...batch, why: "groups of --batch sequences") }
            if let simulateDevices {
                try InputNumber.check(simulateDevices, "--simulate-devices", in: 1...Self.maxDevices, why: "simulated copies of one device")
            }
            try InputNumber.check(calibrationBudget, "--calibration-budget", in: .positive(atMost: 3600),
                                  why: "seconds of measuring per device")
            if let linkLatency {
                try InputNumber.check(linkLatency, "--link-latency", in: .closed(0, 1e6), why: "µs per transfer; 1 s at most")
            }
        }
        // As `cltrain train --pipeline --micro-batches` requires: the micro-batches are equal groups of sequences.
        if let microBatches, batch % microBatches != 0 {
            throw ValidationError("--micro-batches must be a positive divisor of --batch: \(batch) sequences cannot be split into \(microBatches)")
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
        _ = try parsedLink()
    }

    func parsedLink() throws -> PipelineLink {
        var result: PipelineLink
        switch link.lowercased() {
        case "pcie4": result = Presets.pcie4
        case "nvlink4": result = Presets.nvlink4
        default:
            guard let gigabytes = Double(link) else {
                throw ValidationError("--link '\(link)': expected pcie4, nvlink4, or a bandwidth in GB/s such as 50")
            }
            try flagCheck {
                try InputNumber.check(gigabytes, "--link", in: .positive(atMost: Self.maxLinkGigabytesPerSecond),
                                      why: "GB/s per direction; NVLink 4 is 450")
            }
            result = .custom(gigabytesPerSecond: gigabytes, latency: Presets.pcie4.latency)
        }
        if let linkLatency { result.latency = linkLatency * 1e-6 }
        return result
    }

    func run() throws {
        let registry = DeviceRegistry.shared
        let shape = WorkloadShape(batch: batch, hidden: hidden, embedding: embedding ?? hidden, vocabulary: vocab, steps: bptt)
        let link = try parsedLink()
        // A manual placement needs no measurement: check it before calibrating anything.
        let mode = placement ?? (layerDevices != nil || softmaxDevices != nil ? .manual : .auto)
        let manual = mode == .manual ? try manualPlacement(registry: registry) : nil
        let pool = try devicePool(shape: shape, registry: registry)
        // Manual placements may name devices that were not in --device: calibrate those too, once.
        var costs = pool.costs
        let missing = (manual?.devices ?? []).filter { costs[$0] == nil }
        for (device, entry) in try DeviceCalibration.costs(of: missing, shape: shape, registry: registry,
                                                           recalibrate: recalibrate, budgetSeconds: calibrationBudget) {
            costs[device] = entry.costs
        }
        let known = costs
        let costsOf = { (device: DeviceSelection) throws -> DeviceCosts in
            guard let cost = known[device] else { throw CLTrainError.deviceNotFound("device \(device) was not calibrated") }
            return cost
        }
        let chosen = try manual ?? Placement.auto(costs: pool.devices.map(costsOf), devices: pool.devices,
                                                  layers: layers, vocabularySize: vocab)
        let model = try PipelineModel(placement: chosen, costs: costsOf, shape: shape, link: link)
        let wavefront = try PipelineSimulator.simulate(model)
        let microBatched = try microBatches.map { try PipelineSimulator.simulate(model, microBatches: $0) }
        let baseline = try fastestSingleDevice(Set(chosen.devices + pool.devices), costs: costsOf, shape: shape, link: link)
        let name = { (device: DeviceSelection) in pool.names[device] ?? deviceName(device, registry: registry) }
        let words = Double(batch * bptt)
        print("model      V \(vocab), E \(shape.embedding), H \(hidden), L \(layers); batch \(batch), bptt \(bptt) (\(batch * bptt) words per step)")
        for line in pool.notes { print(line) }
        print("link       \(link)")

        print("\nplacement")
        var parts = TextTable(headers: ["part", "device", "name", "rows", "work per step (ms)"])
        for (l, stage) in model.layers.enumerated() {
            parts.append([l == 0 ? "layer 0 + embedding" : "layer \(l)", "\(chosen.layers[l])", name(chosen.layers[l]),
                          "-", milliseconds(stage.work * Double(bptt))])
        }
        for (s, stage) in model.shards.enumerated() {
            let shard = chosen.softmaxShards[s]
            parts.append(["softmax shard \(s)", "\(shard.device)", name(shard.device),
                          "\(shard.rows.lowerBound)..<\(shard.rows.upperBound)", milliseconds(stage.work * Double(bptt))])
        }
        print(parts.rendered())

        print("\nper device, wavefront schedule")
        var perDevice = TextTable(headers: ["device", "name", "busy per step (ms)", "busy", "sent per step (MB)"])
        for (number, device) in chosen.devices.enumerated() {
            perDevice.append(["\(device)", name(device), milliseconds(wavefront.busy[number]),
                              percent(wavefront.busyFraction[number]), megabytes(wavefront.bytesSent[number])])
        }
        print(perDevice.rendered())
        print("transfers between devices: \(String(format: "%.0f", wavefront.transferBytes)) bytes (\(megabytes(wavefront.transferBytes)) MB) per step: "
              + "B×H activations and their gradients, \(shape.activationBytes) bytes per boundary, direction and time step, "
              + "plus the shards' row statistics")

        print("\nprediction")
        var prediction = TextTable(headers: ["schedule", "step (ms)", "words/s", "speedup", "busy (mean)", "bubble"])
        func row(_ name: String, _ p: PipelinePrediction) {
            prediction.append([name, milliseconds(p.stepTime), String(format: "%.0f", words / p.stepTime),
                               String(format: "%.2f", baseline.prediction.stepTime / p.stepTime),
                               percent(1 - p.bubbleFraction), percent(p.bubbleFraction)])
        }
        row("one device (\(baseline.device), serial)", baseline.prediction)
        row("wavefront (2014)", wavefront)
        if let microBatched { row("micro-batched, M = \(microBatched.microBatches)", microBatched) }
        print(prediction.rendered())

        // CPU devices of one host (PoCL's, the CPU backend) share its cores: they do not add speed.
        let hostDevices = pool.simulated ? [] : chosen.devices.filter { device in
            if case .openCL(let index) = device { return !((try? registry.description(ofOpenCLDevice: index))?.isGPU ?? true) }
            return true
        }
        if hostDevices.count > 1 {
            print("\nnote: devices \(hostDevices.map(\.description).joined(separator: ", ")) are CPU devices of this host and share its "
                  + "cores; each was calibrated alone, so run together they will be slower than predicted here.")
        }

        print("\nreasons")
        for reason in chosen.reasons { print("- \(reason)") }
    }

    /// The placement --layer-devices and --softmax-devices describe, on real or simulated devices.
    func manualPlacement(registry: DeviceRegistry) throws -> Placement {
        guard let layerDevices else { throw ValidationError("--placement manual needs --layer-devices") }
        let layerList = try Placement.parseDeviceList(layerDevices, option: "--layer-devices")
        let softmaxList = try softmaxDevices.map { try Placement.parseDeviceList($0, option: "--softmax-devices") }
        if let simulateDevices {
            return try Placement.manual(layerDevices: layerList, softmaxDevices: softmaxList, layers: layers, vocabularySize: vocab,
                                        availableDevices: (0..<simulateDevices).map { .openCL($0) })
        }
        return try Placement.manual(layerDevices: layerList, softmaxDevices: softmaxList, layers: layers, vocabularySize: vocab,
                                    registry: registry)
    }

    /// The whole model on each device alone (serial: the sum of its work); the fastest one.
    func fastestSingleDevice(_ candidates: Set<DeviceSelection>, costs: (DeviceSelection) throws -> DeviceCosts,
                             shape: WorkloadShape, link: PipelineLink) throws -> (device: DeviceSelection, prediction: PipelinePrediction) {
        var best: (device: DeviceSelection, prediction: PipelinePrediction)?
        for device in candidates.sorted(by: { $0.description < $1.description }) {
            let single = try Placement.singleDevice(device, layers: layers, vocabularySize: vocab)
            let prediction = try PipelineSimulator.simulate(PipelineModel(placement: single, costs: costs, shape: shape, link: link))
            if prediction.stepTime < best?.prediction.stepTime ?? .infinity { best = (device, prediction) }
        }
        guard let best else { throw CLTrainError.invalidArgument("no device to plan for") }
        return best
    }

    // MARK: Devices and their costs

    struct DevicePool {
        var devices: [DeviceSelection]
        var costs: [DeviceSelection: DeviceCosts]
        var names: [DeviceSelection: String]
        var simulated: Bool
        var notes: [String]
    }

    /// The devices to plan over and their costs: calibrated (identical devices once), or N copies.
    func devicePool(shape: WorkloadShape, registry: DeviceRegistry) throws -> DevicePool {
        if let count = simulateDevices {
            let simulatedDevices = (0..<count).map { DeviceSelection.openCL($0) }
            let base: DeviceCosts, label: String, note: String
            switch costs {
            case .h100:
                base = Presets.h100Costs(for: shape)
                label = "H100 preset"
                note = shape == Presets.shape2014
                    ? "figures measured on the 2014 shape (shared/gpu/README.md, beside the repository)"
                    : "figures measured on the 2014 shape, scaled to this one by FLOPs (rough)"
            case .measured:
                let first = try copySource(registry: registry)
                let result = try DeviceCalibration.calibrate(first, shape: shape, registry: registry,
                                                             recalibrate: recalibrate, budgetSeconds: calibrationBudget)
                base = result.costs
                label = "copy of \(first)"
                note = "costs of \(deviceName(first, registry: registry)), \(calibrationSource(result))"
            }
            return DevicePool(devices: simulatedDevices, costs: Dictionary(uniqueKeysWithValues: simulatedDevices.map { ($0, base) }),
                              names: Dictionary(uniqueKeysWithValues: simulatedDevices.map { ($0, "sim \($0) (\(label))") }),
                              simulated: true, notes: ["devices    \(count) simulated, identical: \(note)"])
        }

        let selection = try devices.selection(in: registry)
        var costs: [DeviceSelection: DeviceCosts] = [:], names: [DeviceSelection: String] = [:], notes: [String] = []
        let calibrated = try DeviceCalibration.costs(of: selection, shape: shape, registry: registry,
                                                     recalibrate: recalibrate, budgetSeconds: calibrationBudget)
        for device in selection {
            guard let entry = calibrated[device] else { continue }
            costs[device] = entry.costs
            let name = deviceName(device, registry: registry)
            names[device] = name
            notes.append("device \(device)   \(name): " + (entry.reused ? "same device as above" : calibrationSource(entry.result)))
        }
        return DevicePool(devices: selection, costs: costs, names: names, simulated: false, notes: notes)
    }

    /// The device --simulate-devices copies: the first of --device or CLTRAIN_DEVICES if given;
    /// else a GPU if there is one, else the CPU backend (as `train --device auto` chooses).
    func copySource(registry: DeviceRegistry) throws -> DeviceSelection {
        if let requested = try registry.requestedSelection(devices.list, option: "--device") {
            guard let first = requested.first else {
                throw CLTrainError.deviceNotFound("no device to copy for --simulate-devices")
            }
            return first
        }
        return try registry.automaticDevice()
    }

    func deviceName(_ device: DeviceSelection, registry: DeviceRegistry) -> String {
        switch device {
        case .cpu: "cpu (OpenBLAS)"
        case .openCL(let index): (try? registry.description(ofOpenCLDevice: index).name) ?? "OpenCL \(index)"
        }
    }

    func calibrationSource(_ result: DeviceCalibration.Result) -> String {
        result.fromCache ? "calibration from the cache" : String(format: "calibrated now in %.1f s", result.measuringSeconds)
    }
}

private func milliseconds(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1e3) }
private func percent(_ fraction: Double) -> String { String(format: "%.0f%%", fraction * 100) }
private func megabytes(_ bytes: Double) -> String { String(format: "%.2f", bytes / 1e6) }
