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

    /// Whether a list may name a device twice.
    public enum Repeats: Sendable {
        /// A repeat is an error: a list of devices to run on, to verify or to benchmark (a second
        /// entry would only run the same work again on the same device).
        case refused
        /// A repeat is meaningful: `--layer-devices` and `--softmax-devices`, where each entry is
        /// a layer or shard with a command queue of its own.
        case allowed
    }

    /// Parses a device list, the one syntax of `CLTRAIN_DEVICES`, `--device`, `--layer-devices`
    /// and `--softmax-devices`: comma-separated entries, each an OpenCL device index as
    /// `cltrain devices` prints it (decimal digits) or `cpu` (any case), with optional spaces
    /// around entries. Examples: "0,1", "cpu", "1, cpu".
    ///
    /// - Parameters:
    ///   - source: what the text came from, e.g. "CLTRAIN_DEVICES" or "--layer-devices"; errors
    ///     start with it. Nil where the caller adds its own context (ArgumentParser names the option).
    ///   - repeats: whether a device may appear more than once.
    /// - Throws: `CLTrainError.invalidArgument` naming `source` and the bad entry, for an empty
    ///   list or entry ("", "0,", "1,,2"), anything but digits or `cpu` ("abc", "-1", "+1", "1.5"),
    ///   an index too large for any machine ("99999999999999999999"), and a refused repeat ("0,0").
    ///   Whether an index exists is the registry's to say.
    public static func parseList(_ text: String, source: String? = nil, repeats: Repeats = .refused) throws -> [DeviceSelection] {
        // "CLTRAIN_DEVICES='1,,2': …" as a shell would set it, "--device '1,,2': …" for an option.
        let context = source.map { $0.hasPrefix("-") ? "\($0) '\(text)': " : "\($0)='\(text)': " } ?? ""
        let expected = "expected comma-separated device indices from `cltrain devices` and/or 'cpu', e.g. '0,1' or 'cpu'"
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        if items.allSatisfy(\.isEmpty) && items.count == 1 {
            throw CLTrainError.invalidArgument("\(context)the device list is empty; \(expected)")
        }
        var result: [DeviceSelection] = []
        for (position, item) in items.enumerated() {
            let selection: DeviceSelection
            if item.isEmpty {
                throw CLTrainError.invalidArgument("\(context)entry \(position + 1) of \(items.count) is empty; \(expected)")
            } else if item.lowercased() == "cpu" {
                selection = .cpu
            } else if item.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }) {
                guard let index = Int(item) else {
                    throw CLTrainError.invalidArgument("\(context)'\(item)' is too large to be a device index; `cltrain devices` lists the indices there are")
                }
                selection = .openCL(index)
            } else if item.hasPrefix("-"), item.dropFirst().unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }), item.count > 1 {
                throw CLTrainError.invalidArgument("\(context)'\(item)' is negative; device indices count from 0")
            } else {
                throw CLTrainError.invalidArgument("\(context)'\(item)' is neither a device index nor 'cpu'; \(expected)")
            }
            if repeats == .refused && result.contains(selection) {
                throw CLTrainError.invalidArgument(
                    "\(context)'\(selection)' is listed twice; each device is selected once (only --layer-devices and --softmax-devices repeat a device, a queue per entry)")
            }
            result.append(selection)
        }
        return result
    }
}

/// Encoded as the text `parseList` reads for one device: "cpu" or an OpenCL index such as "2".
extension DeviceSelection: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        let parsed = text.contains(",") ? nil : try? DeviceSelection.parseList(text, source: "device")
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
