import Foundation

/// Contiguous vocabulary rows of the output projection and softmax, computed on one device.
///
/// A shard holds rows `rows` of the decoder weight (R×H) and bias and produces those columns of the
/// logits; the shards of one placement cover 0..<V exactly, in order.
public struct SoftmaxShard: Codable, Equatable, Sendable {
    public var device: DeviceSelection
    public var rows: Range<Int>

    public init(device: DeviceSelection, rows: Range<Int>) {
        self.device = device
        self.rows = rows
    }
}

/// Which device runs each part of the model: every LSTM layer (the embedding goes with layer 0)
/// and the vocabulary shards of the output projection and softmax.
///
/// The same device may appear several times, for several layers or shards; the runtime then gives
/// each of them a command queue of its own on that device. `reasons` holds one line per decision,
/// saying why that part is where it is.
public struct Placement: Codable, Equatable, Sendable {
    /// Device of LSTM layer l (and, for l = 0, of the embedding).
    public var layers: [DeviceSelection]
    /// The decoder and softmax, split by vocabulary rows; covers 0..<V in order.
    public var softmaxShards: [SoftmaxShard]
    /// One line per decision, e.g. "layer 1 on 1: --layer-devices".
    public var reasons: [String]

    /// Checks the invariants and builds the placement.
    public init(layers: [DeviceSelection], softmaxShards: [SoftmaxShard], reasons: [String]) throws {
        guard !layers.isEmpty else { throw CLTrainError.invalidArgument("a placement needs at least one LSTM layer") }
        guard let first = softmaxShards.first, first.rows.lowerBound == 0 else {
            throw CLTrainError.invalidArgument("the softmax shards must start at vocabulary row 0")
        }
        for (shard, next) in zip(softmaxShards, softmaxShards.dropFirst()) where shard.rows.upperBound != next.rows.lowerBound {
            throw CLTrainError.invalidArgument(
                "softmax shards \(shard.rows) and \(next.rows) are not contiguous; shards must cover the vocabulary in order")
        }
        guard softmaxShards.allSatisfy({ !$0.rows.isEmpty }) else {
            throw CLTrainError.invalidArgument("a softmax shard has no vocabulary rows")
        }
        self.layers = layers
        self.softmaxShards = softmaxShards
        self.reasons = reasons
    }

    /// Decoding checks the same invariants as `init(layers:softmaxShards:reasons:)`.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(layers: container.decode([DeviceSelection].self, forKey: .layers),
                      softmaxShards: container.decode([SoftmaxShard].self, forKey: .softmaxShards),
                      reasons: container.decode([String].self, forKey: .reasons))
    }

    /// V: the number of vocabulary rows the shards cover.
    public var vocabularySize: Int { softmaxShards.last?.rows.upperBound ?? 0 }

    /// Every device the placement uses, once each, in order of first use (layers, then shards).
    public var devices: [DeviceSelection] {
        var seen: [DeviceSelection] = []
        for device in layers + softmaxShards.map(\.device) where !seen.contains(device) { seen.append(device) }
        return seen
    }

    // MARK: Constructors

    /// Everything on `device`: all layers and one softmax shard of all V rows.
    public static func singleDevice(_ device: DeviceSelection, layers: Int, vocabularySize: Int) throws -> Placement {
        try checkSizes(layers: layers, vocabularySize: vocabularySize, shards: 1)
        return try Placement(
            layers: Array(repeating: device, count: layers),
            softmaxShards: [SoftmaxShard(device: device, rows: 0..<vocabularySize)],
            reasons: ["everything (embedding, \(layers) layer\(layers == 1 ? "" : "s"), softmax) on \(device): single-device placement"])
    }

    /// The placement a user writes: `--layer-devices 0,1,2,3 --softmax-devices 4,5,6,7`.
    ///
    /// - Parameters:
    ///   - layerDevices: exactly one device per LSTM layer; the embedding goes with layer 0.
    ///   - softmaxDevices: one device per vocabulary shard; the vocabulary is split evenly into
    ///     that many contiguous shards (the first V mod n shards get one row more). Nil: one shard
    ///     on the last layer's device. A device may appear more than once in either list; each
    ///     appearance gets its own command queue.
    ///   - registry: every device must exist there (`cpu` always does).
    public static func manual(layerDevices: [DeviceSelection], softmaxDevices: [DeviceSelection]?,
                              layers: Int, vocabularySize: Int,
                              registry: DeviceRegistry = .shared) throws -> Placement {
        try manual(layerDevices: layerDevices, softmaxDevices: softmaxDevices, layers: layers,
                   vocabularySize: vocabularySize) { device in
            try registry.check(device)   // exists, and CLTRAIN_DEVICES does not hide it
        }
    }

    /// As `manual(…registry:)`, but the devices must be among `availableDevices` (e.g. the
    /// simulated copies `cltrain plan --simulate-devices N` plans for).
    public static func manual(layerDevices: [DeviceSelection], softmaxDevices: [DeviceSelection]?,
                              layers: Int, vocabularySize: Int,
                              availableDevices: [DeviceSelection]) throws -> Placement {
        try manual(layerDevices: layerDevices, softmaxDevices: softmaxDevices, layers: layers,
                   vocabularySize: vocabularySize) { device in
            guard availableDevices.contains(device) else {
                throw CLTrainError.deviceNotFound(
                    "device \(device) is not one of the devices planned for (\(availableDevices.map(\.description).joined(separator: ", ")))")
            }
        }
    }

    private static func manual(layerDevices: [DeviceSelection], softmaxDevices: [DeviceSelection]?,
                               layers: Int, vocabularySize: Int,
                               check: (DeviceSelection) throws -> Void) throws -> Placement {
        guard layerDevices.count == layers else {
            throw CLTrainError.invalidArgument(
                "\(layers) layer\(layers == 1 ? "" : "s") but \(layerDevices.count) layer device\(layerDevices.count == 1 ? "" : "s"): --layer-devices lists one device per LSTM layer")
        }
        if let softmaxDevices, softmaxDevices.isEmpty {
            throw CLTrainError.invalidArgument("--softmax-devices lists no device")
        }
        let shardDevices = softmaxDevices ?? layerDevices.suffix(1)
        try checkSizes(layers: layers, vocabularySize: vocabularySize, shards: shardDevices.count)
        for device in layerDevices + shardDevices { try check(device) }

        var reasons: [String] = []
        for (l, device) in layerDevices.enumerated() {
            let part = l == 0 ? "layer 0 and the embedding" : "layer \(l)"
            let sharing = layerDevices[..<l].indices.filter { layerDevices[$0] == device }
            let note = sharing.isEmpty ? "" : " (shares the device with layer \(sharing.map(String.init).joined(separator: ", ")); own command queue)"
            reasons.append("\(part) on \(device): --layer-devices\(note)")
        }
        let ranges = evenShards(vocabularySize: vocabularySize, count: shardDevices.count)
        let shards = zip(shardDevices, ranges).map { SoftmaxShard(device: $0, rows: $1) }
        for (s, shard) in shards.enumerated() {
            let source = softmaxDevices == nil
                ? "no --softmax-devices, so one shard on the last layer's device"
                : "--softmax-devices, shard \(s + 1) of \(shards.count), even split"
            reasons.append("softmax rows \(shard.rows.lowerBound)..<\(shard.rows.upperBound) on \(shard.device): \(source)")
        }
        return try Placement(layers: layerDevices, softmaxShards: shards, reasons: reasons)
    }

    // MARK: Helpers

    /// 0..<V split into `count` contiguous ranges, as evenly as possible: the first V mod count
    /// ranges have one row more than the others. Requires 1 ≤ count ≤ V.
    public static func evenShards(vocabularySize: Int, count: Int) -> [Range<Int>] {
        guard count > 0, vocabularySize >= count else { return [] }
        let (base, extra) = vocabularySize.quotientAndRemainder(dividingBy: count)
        var start = 0
        return (0..<count).map { index in
            let end = start + base + (index < extra ? 1 : 0)
            defer { start = end }
            return start..<end
        }
    }

    /// Parses `--layer-devices` and `--softmax-devices`: comma-separated OpenCL indices and/or
    /// `cpu`, repeats kept (a device may run several layers or shards); errors name the option.
    public static func parseDeviceList(_ text: String, option: String) throws -> [DeviceSelection] {
        try DeviceSelection.parseList(text, source: option, repeats: .allowed)
    }

    static func checkSizes(layers: Int, vocabularySize: Int, shards: Int) throws {
        guard layers > 0 else { throw CLTrainError.invalidArgument("a placement needs at least one LSTM layer, got \(layers)") }
        guard vocabularySize > 0 else { throw CLTrainError.invalidArgument("the vocabulary must have at least one row, got \(vocabularySize)") }
        guard shards <= vocabularySize else {
            throw CLTrainError.invalidArgument(
                "\(shards) softmax shards but the vocabulary has only \(vocabularySize) row\(vocabularySize == 1 ? "" : "s"); each shard needs at least one")
        }
    }
}
