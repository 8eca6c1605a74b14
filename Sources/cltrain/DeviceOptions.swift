import ArgumentParser
import CLTrain
import Foundation

/// `--device LIST`, shared by the commands that run on devices.
struct DeviceOptions: ParsableArguments {
    @Option(name: .customLong("device"), help: ArgumentHelp(
        "Devices as `cltrain devices` lists them: OpenCL indices and/or 'cpu', e.g. '0,1'. Default: CLTRAIN_DEVICES, else every OpenCL device.",
        valueName: "LIST"))
    var list: String?

    func validate() throws {
        guard let list else { return }
        do {
            _ = try DeviceSelection.parseList(list)
        } catch {
            throw ValidationError("--device: \(error)")
        }
    }

    /// The selected devices, each checked to exist; `--device` takes precedence over CLTRAIN_DEVICES.
    func selection(in registry: DeviceRegistry) throws -> [DeviceSelection] {
        try registry.requestedSelection(list: list) ?? registry.defaultSelection()
    }
}
