/// The shape of one training batch of the encoder–decoder as planning sees it.
///
/// B sentence pairs padded to S source and T target steps (one bucket), H units per LSTM layer in
/// both stacks, E embedding width, the target vocabulary's V rows in the output layer and softmax
/// (the source vocabulary only sizes the encoder's embedding, whose lookup and gradient cost
/// B·E per step whatever its rows, and are counted in layer 0's costs).
public struct TranslationWorkload: Codable, Hashable, Sendable, CustomStringConvertible {
    public var batch: Int
    public var hidden: Int
    public var embedding: Int
    public var sourceVocabulary: Int
    public var targetVocabulary: Int
    public var sourceSteps: Int
    public var targetSteps: Int

    public init(batch: Int, hidden: Int, embedding: Int, sourceVocabulary: Int, targetVocabulary: Int,
                sourceSteps: Int, targetSteps: Int) {
        self.batch = batch
        self.hidden = hidden
        self.embedding = embedding
        self.sourceVocabulary = sourceVocabulary
        self.targetVocabulary = targetVocabulary
        self.sourceSteps = sourceSteps
        self.targetSteps = targetSteps
    }

    /// The decoder's window as the language model's costs take it: target vocabulary, T steps.
    public var decoderShape: WorkloadShape {
        WorkloadShape(batch: batch, hidden: hidden, embedding: embedding, vocabulary: targetVocabulary, steps: targetSteps)
    }

    /// Source + target words of one batch, as the paper counts its words/s.
    public var wordsPerStep: Int { batch * (sourceSteps + targetSteps) }

    /// Each size positive and within the planner's bounds (`WorkloadShape.validate`), named by the
    /// `cltrain plan --task translate` flags.
    public func validate() throws {
        let why = "far above any real model; keeps the cost model's products in range"
        try InputNumber.check(batch, "--batch", in: 1...(1 << 20), why: why)
        try InputNumber.check(hidden, "--hidden", in: 1...(1 << 20), why: why)
        try InputNumber.check(embedding, "--embedding", in: 1...(1 << 20), why: why)
        try InputNumber.check(sourceVocabulary, "--source-vocab", in: 1...(1 << 30), why: why)
        try InputNumber.check(targetVocabulary, "--target-vocab", in: 1...(1 << 30), why: why)
        try InputNumber.check(sourceSteps, "--source-steps", in: 1...(1 << 20), why: "time steps of the padded source; " + why)
        try InputNumber.check(targetSteps, "--target-steps", in: 1...(1 << 20), why: "time steps of the padded target; " + why)
    }

    public var description: String {
        "B \(batch), H \(hidden), E \(embedding), source V \(sourceVocabulary), target V \(targetVocabulary), S \(sourceSteps), T \(targetSteps)"
    }
}

/// What the simulator runs for the encoder–decoder (`PipelineSimulator.simulate(_:schedule:)`):
/// the decoder and its softmax shards over T target steps — a language model's parts, links and
/// transfer sizes, in a `PipelineModel` — and below them the encoder's layers over S source steps,
/// encoder layer l on decoder layer l's device (the paper's layout, and `TranslationModel`'s: both
/// stacks' layer l on `devices.layers[l]`, one backend, one queue).
public struct TranslationPipelineModel: Sendable {
    /// Decoder layers (layer 0 with the target embedding), softmax shards, T, bytes, links.
    public var decoder: PipelineModel
    /// Encoder layers, bottom to top (layer 0 with the source embedding), one per decoder layer.
    public var encoder: [PipelineModel.Stage]
    /// S: the source's time steps.
    public var sourceSteps: Int

    public init(decoder: PipelineModel, encoder: [PipelineModel.Stage], sourceSteps: Int) {
        self.decoder = decoder
        self.encoder = encoder
        self.sourceSteps = sourceSteps
    }

    public var targetSteps: Int { decoder.steps }
    public var deviceCount: Int { decoder.deviceCount }

    /// Σ of every part's compute: the step on one device, one task at a time, without transfers.
    public var totalWork: Double { decoder.totalWork + Double(sourceSteps) * encoder.reduce(0) { $0 + $1.work } }

    /// The model of `placement` (layer l's device holds encoder and decoder layer l; the shards
    /// split the target vocabulary): each part costs what `costs` says for its device at the
    /// decoder's shape, an encoder layer as much per step as the decoder layer of its index.
    /// This is also the hook for validation on timing devices: `costs` may return a timing
    /// table's `realizedCosts`, as `PlanValidation` does for the language model.
    public init(placement: Placement, costs: (DeviceSelection) throws -> DeviceCosts, workload: TranslationWorkload,
                link: PipelineLink, deviceCopy: PipelineLink = Presets.deviceCopy,
                sharesMemory: (DeviceSelection) -> Bool = { $0 != .cpu }) throws {
        try workload.validate()
        let decoder = try PipelineModel(placement: placement, costs: costs, shape: workload.decoderShape, link: link,
                                        deviceCopy: deviceCopy, sharesMemory: sharesMemory)
        self.init(decoder: decoder, encoder: decoder.layers, sourceSteps: workload.sourceSteps)
    }
}
