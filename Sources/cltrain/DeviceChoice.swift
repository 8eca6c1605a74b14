import ArgumentParser
import CLTrain

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
                "--device \(text): one model runs on one device for now; pass a single device (placing layers on several devices is not built yet)")
        }
        return try registry.makeBackend(only)
    }
}

extension DeviceChoice {
    /// Backends for `--layer-devices` and `--softmax-devices`: a new backend (and so a queue of its
    /// own) for every entry, also where a device repeats.
    static func modelDevices(layers: String, softmax: String?, configuration: ModelConfiguration) throws -> ModelDevices {
        let registry = DeviceRegistry.shared
        let layerList = try DeviceSelection.parseList(layers, allowingRepeats: true)
        guard layerList.count == configuration.layers else {
            throw CLTrainError.invalidArgument("--layer-devices lists \(layerList.count) devices for \(configuration.layers) layers")
        }
        let softmaxList = try softmax.map { try DeviceSelection.parseList($0, allowingRepeats: true) } ?? [layerList[layerList.count - 1]]
        guard softmaxList.count <= configuration.vocabularySize else {
            throw CLTrainError.invalidArgument("--softmax-devices lists \(softmaxList.count) shards for a vocabulary of \(configuration.vocabularySize)")
        }
        let rows = ModelDevices.evenRows(configuration.vocabularySize, shards: softmaxList.count)
        return ModelDevices(layers: try layerList.map { try registry.makeBackend($0) },
                            softmaxShards: try zip(softmaxList, rows).map { (try registry.makeBackend($0), $1) })
    }
}

extension TokenLevel: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
