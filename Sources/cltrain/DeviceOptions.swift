import ArgumentParser
import CLTrain
import CLTrainCommandLine
import Foundation

/// `--layer-devices` and `--softmax-devices`: one entry per layer or softmax shard, each with a
/// command queue of its own, so a device may repeat. Parsed as `DeviceList` (CLTrainCommandLine) is.
struct QueueDeviceList: ExpressibleByArgument, Equatable, CustomStringConvertible {
    let devices: [DeviceSelection]

    static func parse(_ text: String) throws -> QueueDeviceList {
        QueueDeviceList(devices: try DeviceSelection.parseList(text, repeats: .allowed))
    }

    init(devices: [DeviceSelection]) { self.devices = devices }
    init?(argument: String) {
        guard let list = try? Self.parse(argument) else { return nil }
        self = list
    }

    var description: String { devices.map(\.description).joined(separator: ",") }
}

/// `--device LIST`, shared by the commands that run on several devices (`plan`, `verify`).
struct DeviceOptions: ParsableArguments {
    @Option(name: .customLong("device"), help: ArgumentHelp(
        "Devices as `cltrain devices` lists them: OpenCL indices and/or 'cpu', each once, e.g. '0,1'. Default: CLTRAIN_DEVICES, else every OpenCL device.",
        valueName: "LIST"), transform: DeviceList.parse)
    var devices: DeviceList?

    /// The listed devices, as given.
    var list: [DeviceSelection]? { devices?.devices }

    /// The selected devices, each checked to exist and not hidden by CLTRAIN_DEVICES.
    func selection(in registry: DeviceRegistry) throws -> [DeviceSelection] {
        try registry.requestedSelection(list, option: "--device") ?? registry.defaultSelection()
    }
}

/// `--device` of the commands that run one model (`train`, `sample`, `eval`): `auto`, or devices
/// as `cltrain devices` lists them (one for a single device; `train --placement auto` takes a list).
enum DeviceRequest: ExpressibleByArgument, Equatable, CustomStringConvertible {
    case auto
    case list([DeviceSelection])

    /// As `DeviceList.parse`, or `auto` (any case).
    static func parse(_ text: String) throws -> DeviceRequest {
        text.trimmingCharacters(in: .whitespaces).lowercased() == "auto" ? .auto : .list(try DeviceList.parse(text).devices)
    }

    init?(argument: String) {
        guard let request = try? Self.parse(argument) else { return nil }
        self = request
    }

    var description: String {
        switch self {
        case .auto: "auto"
        case .list(let devices): DeviceList(devices: devices).description
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
