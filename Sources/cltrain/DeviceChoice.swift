import ArgumentParser
import CLTrain
import Foundation

/// `--device` for the commands that run one model: auto, cpu, or one index from `cltrain devices`.
enum DeviceChoice {
    static func backend(for text: String) throws -> Backend {
        let registry = DeviceRegistry.shared
        if text == "auto" {
            // A GPU if there is one; an OpenCL CPU device (PoCL) is slower than OpenBLAS, so not those.
            if let gpu = registry.openCLDevices.first(where: \.isGPU) { return try registry.makeBackend(.openCL(gpu.index)) }
            return try registry.makeBackend(.cpu)
        }
        let selection = try DeviceSelection.parseList(text)
        guard selection.count == 1, let only = selection.first else {
            throw CLTrainError.invalidArgument(
                "--device \(text): one device runs the whole model; to spread it over several, use --layer-devices LIST (and --softmax-devices LIST) or --placement auto")
        }
        return try registry.makeBackend(only)
    }
}

extension DeviceChoice {
    /// The placement `train` runs: `--layer-devices` / `--softmax-devices` as given, or with
    /// `--placement auto` balanced over the selected devices (`--device LIST` or CLTRAIN_DEVICES)
    /// by their calibrated costs.
    static func placement(auto: Bool, layers: String?, softmax: String?, devices: String,
                          configuration: ModelConfiguration, batch: Int, bptt: Int) throws -> Placement {
        let registry = DeviceRegistry.shared
        if auto {
            let pool = try registry.requestedSelection(list: devices == "auto" ? nil : devices) ?? registry.defaultSelection()
            let shape = WorkloadShape(batch: batch, hidden: configuration.hiddenSize, embedding: configuration.embeddingSize,
                                      vocabulary: configuration.vocabularySize, steps: bptt)
            let costs = try DeviceCalibration.costs(of: pool, shape: shape, registry: registry)
            let poolCosts = try pool.map { device in
                guard let entry = costs[device] else { throw CLTrainError.deviceNotFound("device \(device) was not calibrated") }
                return entry.costs
            }
            return try Placement.auto(costs: poolCosts, devices: pool, layers: configuration.layers,
                                      vocabularySize: configuration.vocabularySize)
        }
        guard let layers else { throw CLTrainError.invalidArgument("a placement needs --layer-devices LIST or --placement auto") }
        return try Placement.manual(layerDevices: Placement.parseDeviceList(layers, option: "--layer-devices"),
                                    softmaxDevices: softmax.map { try Placement.parseDeviceList($0, option: "--softmax-devices") },
                                    layers: configuration.layers, vocabularySize: configuration.vocabularySize, registry: registry)
    }
}

extension TokenLevel: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
