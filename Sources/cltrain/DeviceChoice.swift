import ArgumentParser
import CLTrain
import Foundation

/// `--device` for the commands that run one model: auto, cpu, or one index from `cltrain devices`.
enum DeviceChoice {
    static func backend(for request: DeviceRequest) throws -> Backend {
        let registry = DeviceRegistry.shared
        switch request {
        case .auto:
            return try registry.makeBackend(Planner.automaticDevice(registry: registry))
        case .list(let devices):
            guard devices.count == 1, let only = devices.first else {
                throw CLTrainError.invalidArgument(
                    "--device \(request): one device runs the whole model; to spread it over several, use --layer-devices LIST (and --softmax-devices LIST) or --placement auto")
            }
            try registry.check(only, option: "--device")
            return try registry.makeBackend(only)
        }
    }
}

extension DeviceChoice {
    /// The placement `train` runs: `--layer-devices` / `--softmax-devices` as given, or with
    /// `--placement auto` what `Planner` balances over the selected devices (`--device LIST` or
    /// CLTRAIN_DEVICES) by their calibrated costs.
    static func placement(auto: Bool, layers: [DeviceSelection]?, softmax: [DeviceSelection]?, devices: DeviceRequest,
                          configuration: ModelConfiguration, batch: Int, bptt: Int) throws -> Placement {
        let shape = WorkloadShape(batch: batch, hidden: configuration.hiddenSize, embedding: configuration.embeddingSize,
                                  vocabulary: configuration.vocabularySize, steps: bptt)
        let request: PlacementRequest
        if auto {
            request = .auto
        } else {
            guard let layers else { throw CLTrainError.invalidArgument("a placement needs --layer-devices LIST or --placement auto") }
            request = .manual(layers: layers, softmax: softmax)
        }
        let listed: [DeviceSelection]? = if case .list(let devices) = devices { devices } else { nil }
        return try Planner.trainingPlacement(request, devices: listed, shape: shape, layers: configuration.layers)
    }
}

extension TokenLevel: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
