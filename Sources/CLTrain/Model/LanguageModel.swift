import Foundation

/// An LSTM language model: nn.Embedding → nn.LSTM (L layers) → nn.Linear, trained with softmax
/// cross-entropy by truncated backpropagation through time.
///
/// The model is its configuration, its parameters (the embedding, the LSTM layers, the decoder
/// split by vocabulary rows into shards) on the backends of its placement (`ModelDevices`), and
/// the state it carries from one window to the next: every layer's (h, c) (Zaremba et al. 2014)
/// and the dropout generator. It knows nothing of schedules or of moving data between devices:
/// an `Executor` (`SequentialExecutor`, `WavefrontExecutor`) runs a window through it, over a
/// `Transport`.
///
/// Shapes: T steps, B sequences, time-major rows (row t·B + b).
public final class LanguageModel: PlacedModel {
    public let configuration: ModelConfiguration
    public let devices: ModelDevices
    let embedding: EmbeddingLayer
    let lstm: [LSTMLayer]
    let decoder: [LinearLayer]   // one per softmax shard
    /// In PyTorch state_dict order: embedding, each layer's W_ih, W_hh, b_ih, b_hh, decoder shards.
    public let parameters: [Parameter]

    /// Per layer, on its backend: (h, c), each B×H. Reset to zeros when the batch size changes.
    private(set) var carriedState: [(hidden: Tensor, cell: Tensor)] = []
    /// Dropout masks come from this generator, so runs are reproducible on any backend.
    var dropoutGenerator: SplitMix64

    /// A model with every part on `backend`.
    public convenience init(configuration: ModelConfiguration, backend: Backend, seed: UInt64 = 1) throws {
        // Before the devices are laid out from its sizes.
        try configuration.validate()
        try DeviceMemory.of(backend).require(.evaluation(configuration, batch: 0, bptt: 0), for: "the model (\(configuration))")
        try self.init(configuration: configuration,
                      devices: .single(backend, layers: configuration.layers, vocabularySize: configuration.vocabularySize),
                      seed: seed)
    }

    public init(configuration: ModelConfiguration, devices: ModelDevices, seed: UInt64 = 1) throws {
        try configuration.validate()
        try devices.validate(for: configuration)
        // The weights and their gradients, before any is allocated (one window's buffers come later,
        // at the first step; `cltrain train` checks those with the batch it will use).
        if devices.backends.count == 1 {
            try DeviceMemory.of(devices.layers[0]).require(.evaluation(configuration, batch: 0, bptt: 0),
                                                           for: "the model (\(configuration))")
        }
        self.configuration = configuration
        self.devices = devices
        let c = configuration
        embedding = try EmbeddingLayer(vocabularySize: c.vocabularySize, width: c.embeddingSize, backend: devices.layers[0])
        lstm = try (0..<c.layers).map { l in
            try LSTMLayer(index: l, inputSize: l == 0 ? c.embeddingSize : c.hiddenSize, hiddenSize: c.hiddenSize,
                          backend: devices.layers[l])
        }
        decoder = try devices.softmaxShards.map { shard in
            try LinearLayer(name: "decoder", inputSize: c.hiddenSize, rows: shard.rows, totalOutputs: c.vocabularySize,
                            backend: shard.backend)
        }
        parameters = [embedding.weight] + lstm.flatMap(\.parameters) + decoder.flatMap { [$0.weight, $0.bias] }
        dropoutGenerator = SplitMix64(seed: seed ^ 0x6472_6f70_6f75_74)   // "dropout"
        try initializeWeights(seed: seed)
    }

    /// Zeroes the carried state for `batch` sequences.
    public func resetState(batch: Int) throws {
        carriedState = try lstm.map { layer in
            (try layer.backend.makeTensor([batch, configuration.hiddenSize], filledWith: 0),
             try layer.backend.makeTensor([batch, configuration.hiddenSize], filledWith: 0))
        }
    }

    /// Micro-batch m's rows of layer l's carried state (the whole state when M = 1).
    func carriedState(ofLayer l: Int, microBatch m: Int, _ layout: MicroBatchLayout) throws -> (hidden: Tensor, cell: Tensor) {
        let state = carriedState[l]
        guard layout.microBatches > 1 else { return state }
        return (try state.hidden.rows(layout.stateRows(m)), try state.cell.rows(layout.stateRows(m)))
    }

    /// The last step's (h, c) of every layer become the next window's initial state (each
    /// micro-batch's into its rows). Called by an executor once a window's forward is done.
    func advanceCarriedState(_ layout: MicroBatchLayout) throws {
        for (l, layer) in lstm.enumerated() {
            guard let hiddens = layer.hiddens, let cells = layer.cells else { continue }
            for m in 0..<layout.microBatches {
                let last = layout.rows(m, layout.steps - 1..<layout.steps)
                let (h, c) = try carriedState(ofLayer: l, microBatch: m, layout)
                try layer.backend.copy(hiddens.rows(last), to: h)
                try layer.backend.copy(cells.rows(last), to: c)
            }
        }
    }
}

/// T steps of B token sequences, time-major: inputs[t·B + b] is sequence b's token at step t and
/// targets[t·B + b] the token that follows it.
public struct TokenWindow: Sendable, Equatable {
    public let inputs: [Int32]
    public let targets: [Int32]
    public let steps: Int
    public let batch: Int
    /// Where these B sequences sit in the batch of the whole job: sequences
    /// `firstSequence ..< firstSequence + batch` of `globalBatch` (0 and B outside data parallelism).
    /// Dropout masks are drawn by global row (t·globalBatch + firstSequence + b), so a replica's
    /// masks are its rows of the single-process masks.
    public private(set) var globalBatch: Int
    public private(set) var firstSequence: Int = 0

    public init(inputs: [Int32], targets: [Int32], steps: Int, batch: Int) throws {
        let (count, overflow) = steps.multipliedReportingOverflow(by: batch)
        guard steps > 0, batch > 0, !overflow, inputs.count == count, targets.count == inputs.count else {
            throw CLTrainError.shapeMismatch(operation: "TokenWindow",
                detail: "\(inputs.count) inputs and \(targets.count) targets for \(steps) steps × \(batch) sequences")
        }
        self.inputs = inputs
        self.targets = targets
        self.steps = steps
        self.batch = batch
        globalBatch = batch
    }

    /// Sequences `sequences` of this window (columns of its time-major rows): a data-parallel
    /// replica's share, which remembers where it sits in the global batch.
    /// - Throws: `invalidArgument` unless `sequences` is a non-empty range within 0..<B.
    public func sequences(_ sequences: Range<Int>) throws -> TokenWindow {
        guard !sequences.isEmpty, sequences.lowerBound >= 0, sequences.upperBound <= batch else {
            throw CLTrainError.invalidArgument("sequences \(sequences) are not within the window's 0..<\(batch)")
        }
        var inputs: [Int32] = [], targets: [Int32] = []
        inputs.reserveCapacity(steps * sequences.count)
        targets.reserveCapacity(steps * sequences.count)
        for t in 0..<steps {
            inputs += self.inputs[t * batch + sequences.lowerBound..<t * batch + sequences.upperBound]
            targets += self.targets[t * batch + sequences.lowerBound..<t * batch + sequences.upperBound]
        }
        var shard = try TokenWindow(inputs: inputs, targets: targets, steps: steps, batch: sequences.count)
        shard.globalBatch = globalBatch
        shard.firstSequence = firstSequence + sequences.lowerBound
        return shard
    }
}
