/// Where each part of a language model runs: the embedding and every LSTM layer on a backend (the
/// embedding with layer 0), and the decoder + softmax split by vocabulary rows over one or more.
///
/// Parts on the same backend share its queue; parts on different backends of one OpenCL device
/// have a queue each; parts on different devices exchange activations through transfers.
public struct ModelDevices {
    /// One per LSTM layer.
    public let layers: [Backend]
    /// Contiguous vocabulary rows per shard, in order, covering 0..<V.
    public let softmaxShards: [(backend: Backend, rows: Range<Int>)]

    public init(layers: [Backend], softmaxShards: [(backend: Backend, rows: Range<Int>)]) {
        self.layers = layers
        self.softmaxShards = softmaxShards
    }

    /// Everything on one backend.
    public static func single(_ backend: Backend, layers: Int, vocabularySize: Int) -> ModelDevices {
        // Sizes not yet validated must not trap here: `validate(for:)` refuses what these clamp.
        ModelDevices(layers: Array(repeating: backend, count: max(layers, 0)),
                     softmaxShards: [(backend, 0..<max(vocabularySize, 0))])
    }

    /// The backends for `placement`: a new one (and so a command queue of its own) for every
    /// layer and every shard, also where a device repeats.
    public init(placement: Placement, registry: DeviceRegistry = .shared) throws {
        self.init(layers: try placement.layers.map { try registry.makeBackend($0) },
                  softmaxShards: try placement.softmaxShards.map { (try registry.makeBackend($0.device), $0.rows) })
    }

    /// Every distinct backend, in order of first appearance.
    public var backends: [Backend] {
        var result: [Backend] = []
        for b in layers + softmaxShards.map(\.backend) where !result.contains(where: { $0 === b }) { result.append(b) }
        return result
    }

    func validate(for configuration: ModelConfiguration) throws {
        try validate(layers: configuration.layers, vocabularySize: configuration.vocabularySize)
    }

    /// One backend per layer (of each stack, for an encoder–decoder) and shards covering 0..<V.
    func validate(layers count: Int, vocabularySize: Int) throws {
        guard layers.count == count else {
            throw CLTrainError.invalidArgument("\(count) layers but \(layers.count) layer devices")
        }
        var next = 0
        for shard in softmaxShards {
            guard shard.rows.lowerBound == next, !shard.rows.isEmpty else {
                throw CLTrainError.invalidArgument("softmax shards must split 0..<\(vocabularySize) into contiguous, non-empty row ranges")
            }
            next = shard.rows.upperBound
        }
        guard next == vocabularySize else {
            throw CLTrainError.invalidArgument("softmax shards cover 0..<\(next), not the vocabulary 0..<\(vocabularySize)")
        }
    }
}
