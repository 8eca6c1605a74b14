import ArgumentParser
import CLTrain

/// A device list flag's value, each device once: `--device` of `cltrain verify` and `plan`, inside
/// `cltrain`'s `DeviceRequest`, and of `cltrain-bench` and its `tune`. The one syntax of
/// `DeviceSelection.parseList`.
///
/// The options declare `transform: DeviceList.parse`: ArgumentParser then prints the reason
/// ("The value '1,,2' is invalid for '--device <LIST>': entry 2 of 3 is empty; …"), which the
/// failable `init?(argument:)` of `ExpressibleByArgument` cannot carry.
public struct DeviceList: ExpressibleByArgument, Equatable, CustomStringConvertible, Sendable {
    public let devices: [DeviceSelection]

    public static func parse(_ text: String) throws -> DeviceList {
        DeviceList(devices: try DeviceSelection.parseList(text, repeats: .refused))
    }

    public init(devices: [DeviceSelection]) { self.devices = devices }
    public init?(argument: String) {
        guard let list = try? Self.parse(argument) else { return nil }
        self = list
    }

    public var description: String { devices.map(\.description).joined(separator: ",") }
}
