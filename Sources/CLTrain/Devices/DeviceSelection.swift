import Foundation

/// One device a user can pick: an OpenCL device by its enumeration index, or the CPU backend.
public enum DeviceSelection: Hashable, Sendable, CustomStringConvertible {
    case cpu
    case openCL(Int)

    public var description: String {
        switch self {
        case .cpu: "cpu"
        case .openCL(let index): "\(index)"
        }
    }

    /// Parses a device list as `CLTRAIN_DEVICES` and `--device` take it: comma-separated OpenCL
    /// device indices as `cltrain devices` prints them, and/or `cpu`. Example: "0,1", "cpu", "1,cpu".
    /// With `allowingRepeats`, a device may appear more than once (one entry per layer); otherwise
    /// repeats are dropped.
    public static func parseList(_ text: String, allowingRepeats: Bool = false) throws -> [DeviceSelection] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty, !items.contains(where: \.isEmpty) else {
            throw CLTrainError.invalidArgument("device list '\(text)' is empty or has an empty item; expected e.g. '0,1' or 'cpu'")
        }
        var result: [DeviceSelection] = []
        for item in items {
            let selection: DeviceSelection
            if item.lowercased() == "cpu" {
                selection = .cpu
            } else if let index = Int(item), index >= 0 {
                selection = .openCL(index)
            } else {
                throw CLTrainError.invalidArgument("device list '\(text)': '\(item)' is neither a device index nor 'cpu'")
            }
            if allowingRepeats || !result.contains(selection) { result.append(selection) }
        }
        return result
    }
}

/// Encoded as the text `parseList` reads for one device: "cpu" or an OpenCL index such as "2".
extension DeviceSelection: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        let parsed = text.contains(",") ? nil : try? DeviceSelection.parseList(text)
        guard let only = parsed?.first else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not one device ('cpu' or an index)")
        }
        self = only
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
