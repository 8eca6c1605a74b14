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

extension TokenLevel: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
