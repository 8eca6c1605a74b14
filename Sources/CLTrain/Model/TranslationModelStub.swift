// LOCAL STUB (never committed): the s2s-model branch's announced API, to compile against.
public final class TranslationModel {
    public let configuration: TranslationConfiguration
    public let devices: ModelDevices
    public let parameters: [Parameter]
    var dropoutGenerator: SplitMix64
    public convenience init(configuration: TranslationConfiguration, backend: Backend, seed: UInt64 = 1) throws {
        try self.init(configuration: configuration, devices: .single(backend, layers: configuration.layers, vocabularySize: configuration.targetVocabularySize), seed: seed)
    }
    public init(configuration: TranslationConfiguration, devices: ModelDevices, seed: UInt64 = 1) throws {
        self.configuration = configuration
        self.devices = devices
        let c = configuration, b = devices.layers[0]
        var p: [Parameter] = []
        for (stack, v) in [("encoder", c.sourceVocabularySize), ("decoder", c.targetVocabularySize)] {
            p.append(try Parameter(name: "\(stack).embedding.weight", shape: [v, c.embeddingSize], backend: b))
            for l in 0..<c.layers {
                p.append(try Parameter(name: "\(stack).rnn.weight_ih_l\(l)", shape: [4 * c.hiddenSize, l == 0 ? c.embeddingSize : c.hiddenSize], backend: b))
                p.append(try Parameter(name: "\(stack).rnn.weight_hh_l\(l)", shape: [4 * c.hiddenSize, c.hiddenSize], backend: b))
                p.append(try Parameter(name: "\(stack).rnn.bias_ih_l\(l)", shape: [4 * c.hiddenSize], backend: b))
                p.append(try Parameter(name: "\(stack).rnn.bias_hh_l\(l)", shape: [4 * c.hiddenSize], backend: b))
            }
        }
        p.append(try Parameter(name: "decoder.output.weight", shape: [c.targetVocabularySize, c.hiddenSize], backend: b))
        p.append(try Parameter(name: "decoder.output.bias", shape: [c.targetVocabularySize], backend: b))
        parameters = p
        dropoutGenerator = SplitMix64(seed: seed)
        try initializeWeights(seed: seed)
    }
    public func initializeWeights(seed: UInt64, range: Float = 0.08) throws {
        var generator = SplitMix64(seed: seed)
        for tensor in parameters.logicalTensors {
            try tensor.scatter((0..<tensor.count).map { _ in generator.uniform() * range }, \.value)
        }
    }
    public func zeroGradients() throws { for p in parameters { try p.backend.fill(p.gradient, with: 0) } }
    public func synchronize() throws { for b in devices.backends { try b.synchronize() } }
}
public final class TranslationExecutor {
    public let model: TranslationModel
    public init(model: TranslationModel) { self.model = model }
    public func run(_ batch: TranslationBatch, training: Bool) throws -> (lossSum: Double, tokens: Int) { (Double(batch.targetTokenCount), batch.targetTokenCount) }
}
