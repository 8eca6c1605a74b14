import ArgumentParser
import CLTrain
import Foundation

/// `--device LIST`, shared by the commands that run on several devices (`plan`, `verify`).
struct DeviceOptions: ParsableArguments {
    @Option(name: .customLong("device"), help: ArgumentHelp(
        "Devices as `cltrain devices` lists them: OpenCL indices and/or 'cpu', each once, e.g. '0,1'. Default: CLTRAIN_DEVICES, else every OpenCL device.",
        valueName: "LIST"), transform: DeviceOptions.parse)
    var list: [DeviceSelection]?

    /// A device list as `--device` takes it; malformed lists fail while the flags are parsed.
    static func parse(_ text: String) throws -> [DeviceSelection] {
        try DeviceSelection.parseList(text)
    }

    /// The selected devices, each checked to exist and not hidden by CLTRAIN_DEVICES.
    func selection(in registry: DeviceRegistry) throws -> [DeviceSelection] {
        try registry.requestedSelection(list, option: "--device") ?? registry.defaultSelection()
    }
}

/// `--device` of the commands that run one model (`train`, `sample`, `eval`): `auto`, or devices
/// as `cltrain devices` lists them (one for a single device; `train --placement auto` takes a list).
enum DeviceRequest: Equatable, CustomStringConvertible {
    case auto
    case list([DeviceSelection])

    static func parse(_ text: String) throws -> DeviceRequest {
        text.trimmingCharacters(in: .whitespaces).lowercased() == "auto" ? .auto : .list(try DeviceSelection.parseList(text))
    }

    var description: String {
        switch self {
        case .auto: "auto"
        case .list(let devices): devices.map(\.description).joined(separator: ",")
        }
    }
}

/// Every command reads CLTRAIN_DEVICES before anything else, so a malformed value, an index that
/// does not exist or a repeat fails at once, whatever the command and its flags.
func validateDeviceEnvironment() throws {
    do {
        _ = try DeviceRegistry.shared.visibility()
    } catch {
        throw ValidationError("\(error)")
    }
}
