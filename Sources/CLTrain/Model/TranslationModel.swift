/// The encoder–decoder of Sutskever, Vinyals & Le (2014, §3): a source embedding → L LSTM layers
/// (the encoder) whose final (h, c) per layer start a target embedding → L LSTM layers (the
/// decoder) → linear → softmax over the target vocabulary.
///
/// As `LanguageModel`, it is its configuration and its parameters on the backends of its placement
/// and runs nothing itself: `TranslationExecutor` runs a batch through it (training and scoring),
/// `ModelTranslator` decodes with it. The placement is the paper's: layer k of the encoder and of
/// the decoder on `devices.layers[k]` (the embeddings with layer 0), the output layer split by
/// vocabulary rows over `devices.softmaxShards`. So an encoder layer hands its final state to the
/// decoder layer of the same index on its own backend.
public final class TranslationModel: PlacedModel {
    public let configuration: TranslationConfiguration
    public let devices: ModelDevices
    let encoder: LSTMStack
    let decoder: LSTMStack
    /// `decoder.output`, one layer per softmax shard.
    let output: [LinearLayer]
    /// In PyTorch state_dict order: encoder.embedding, encoder.rnn (per layer W_ih, W_hh, b_ih,
    /// b_hh), decoder.embedding, decoder.rnn, decoder.output.weight and .bias (split ones by shard,
    /// in row order; `logicalTensors` joins them).
    public let parameters: [Parameter]
    /// Dropout masks come from this generator, so runs are reproducible on any backend.
    var dropoutGenerator: SplitMix64

    /// A model with every part on `backend`.
    public convenience init(configuration: TranslationConfiguration, backend: Backend, seed: UInt64 = 1) throws {
        try configuration.validate()
        try self.init(configuration: configuration,
                      devices: .single(backend, layers: configuration.layers, vocabularySize: configuration.targetVocabularySize),
                      seed: seed)
    }

    public init(configuration: TranslationConfiguration, devices: ModelDevices, seed: UInt64 = 1) throws {
        try configuration.validate()
        try devices.validate(layers: configuration.layers, vocabularySize: configuration.targetVocabularySize)
        // The weights and their gradients, before any is allocated (a batch's buffers come at the
        // first step). A placement over several devices splits them; one device holds them all.
        if devices.backends.count == 1 {
            try DeviceMemory.of(devices.layers[0]).require(.evaluation(configuration), for: "the model (\(configuration))")
        }
        self.configuration = configuration
        self.devices = devices
        let c = configuration
        encoder = try LSTMStack(module: "encoder", vocabularySize: c.sourceVocabularySize, embeddingSize: c.embeddingSize,
                                hiddenSize: c.hiddenSize, backends: devices.layers)
        decoder = try LSTMStack(module: "decoder", vocabularySize: c.targetVocabularySize, embeddingSize: c.embeddingSize,
                                hiddenSize: c.hiddenSize, backends: devices.layers)
        output = try devices.softmaxShards.map { shard in
            try LinearLayer(name: "decoder.output", inputSize: c.hiddenSize, rows: shard.rows,
                            totalOutputs: c.targetVocabularySize, backend: shard.backend)
        }
        parameters = encoder.parameters + decoder.parameters + output.map(\.weight) + output.map(\.bias)
        dropoutGenerator = SplitMix64(seed: seed ^ 0x6472_6f70_6f75_74)   // "dropout"
        try initializeWeights(seed: seed)
    }
}
