import Foundation

/// Checkpoints of an encoder–decoder (`TranslationModel`), in the language model's layout
/// (`Checkpoint`): a folder with
///
/// - `model.safetensors`: the weights under the PyTorch names of the README's `Seq2Seq` module
///   (`encoder.embedding.weight`, `encoder.rnn.weight_ih_l0`, …, `decoder.embedding.weight`,
///   `decoder.rnn.…`, `decoder.output.weight`, `decoder.output.bias`), and in `__metadata__`:
///   `format` (`cltrain-translate-1`), `configuration`, `source_vocabulary`, `target_vocabulary`,
///   `training` (the options), `position`, `run`, `data` and `state_file`;
/// - `training-state-<step>.safetensors`: the optimizer's state, its step count and the dropout
///   generator. A translation batch starts from a zero state, so nothing else is carried: the
///   position (epoch, batch within the epoch's deterministic order) says where the data goes on.
///
/// Written by the same `CheckpointWriter` (atomic, state first, under the folder's lock), read by
/// the same strict reader, resumed through the same checks, each difference named.
public enum TranslationCheckpoint {
    static let format = "cltrain-translate-1"

    /// What `model.safetensors` says besides its weights.
    public struct Description: Sendable {
        public let configuration: TranslationConfiguration
        public let sourceVocabulary: TranslationVocabulary
        public let targetVocabulary: TranslationVocabulary
        public let options: TranslationOptions?
        public let stateFile: String?
        public let position: TrainingPosition?
        public let run: RunIdentity?
        public let data: DataIdentity?

        /// A run resuming this checkpoint must build the model it saved and train it the same way
        /// (only the number of epochs may change).
        public func checkResumable(configuration: TranslationConfiguration, options: TranslationOptions, path: String) throws {
            guard self.configuration == configuration else {
                throw CLTrainError.invalidArgument(
                    "checkpoint '\(path)' holds a model of shape (\(self.configuration)) but this run builds (\(configuration)); use the checkpoint's options or another --checkpoint folder")
            }
            try Checkpoint.checkSameOptions(saved: self.options, options: options, path: path)
        }

        /// A run on `data` may continue this checkpoint only if it trained on the same pairs.
        public func checkData(_ data: DataIdentity, path: String) throws {
            guard let saved = self.data, !saved.matches(data) else { return }
            throw CLTrainError.invalidArgument(
                "checkpoint '\(path)' was trained on \(saved.summary), not on \(data.summary); resume with the same data and vocabulary caps")
        }
    }

    /// The `format` of the checkpoint in `modelFile` (from its header): to tell a language
    /// model's from a translation model's before reading either.
    public static func format(of modelFile: URL) throws -> String? {
        try SafeTensors.readMetadata(from: modelFile)["format"]
    }

    /// Whether `modelFile` holds a translation checkpoint.
    public static func isTranslation(_ modelFile: URL) throws -> Bool { try format(of: modelFile) == format }

    /// The description stored in `modelFile`, from its header alone.
    public static func describe(modelFile: URL) throws -> Description {
        try describe(metadata: SafeTensors.readMetadata(from: modelFile), path: modelFile)
    }

    static func describe(metadata: [String: String], path: URL) throws -> Description {
        func field<T: Decodable>(_ key: String, _ type: T.Type) throws -> T {
            try Checkpoint.field(key, type, in: metadata, path: path)
        }
        func optional<T: Decodable>(_ key: String, _ type: T.Type) throws -> T? {
            metadata[key] == nil ? nil : try field(key, type)
        }
        guard metadata["format"] == format else {
            let found = metadata["format"] ?? "none"
            let hint = found == Checkpoint.format ? ": it holds a language model; train it without --task translate" : ""
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)' is not a \(format) translation checkpoint (format: \(found))\(hint)")
        }
        let configuration = try field("configuration", TranslationConfiguration.self)
        let source = try field("source_vocabulary", TranslationVocabulary.self)
        let target = try field("target_vocabulary", TranslationVocabulary.self)
        do { try configuration.validate() } catch {
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)': metadata 'configuration' is impossible: \(error)")
        }
        for (side, vocabulary, rows) in [("source", source, configuration.sourceVocabularySize),
                                         ("target", target, configuration.targetVocabularySize)] where vocabulary.count != rows {
            throw CLTrainError.invalidArgument(
                "checkpoint '\(path.path)': its \(side) vocabulary has \(vocabulary.count) tokens but its model \(rows)")
        }
        if let stateFile = metadata["state_file"], Checkpoint.step(ofStateFile: stateFile) == nil {
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)': metadata 'state_file' (\(stateFile)) is not a training-state-<step>.safetensors name")
        }
        return Description(configuration: configuration, sourceVocabulary: source, targetVocabulary: target,
                           options: try optional("training", TranslationOptions.self), stateFile: metadata["state_file"],
                           position: try optional("position", TrainingPosition.self), run: try optional("run", RunIdentity.self),
                           data: try optional("data", DataIdentity.self))
    }

    /// The tensors a model of `c` has, in PyTorch state_dict order, with their shapes (made one
    /// whose layers `checkTensors` has bounded by the file's tensor count first).
    static func expectedTensors(_ c: TranslationConfiguration) -> [(name: String, shape: [Int])] {
        let gates = 4 * c.hiddenSize   // configuration.validate() bounds H by Int32.max
        var tensors: [(String, [Int])] = []
        for (stack, vocabulary) in [("encoder", c.sourceVocabularySize), ("decoder", c.targetVocabularySize)] {
            tensors.append(("\(stack).embedding.weight", [vocabulary, c.embeddingSize]))
            for l in 0..<c.layers {
                tensors.append(("\(stack).rnn.weight_ih_l\(l)", [gates, l == 0 ? c.embeddingSize : c.hiddenSize]))
                tensors.append(("\(stack).rnn.weight_hh_l\(l)", [gates, c.hiddenSize]))
                tensors.append(("\(stack).rnn.bias_ih_l\(l)", [gates]))
                tensors.append(("\(stack).rnn.bias_hh_l\(l)", [gates]))
            }
        }
        tensors.append(("decoder.output.weight", [c.targetVocabularySize, c.hiddenSize]))
        tensors.append(("decoder.output.bias", [c.targetVocabularySize]))
        return tensors
    }

    /// Every tensor of the model `c` describes is in `file` with its shape, and nothing else is;
    /// checked before any model is allocated, so a header claiming a huge model is refused.
    static func checkTensors(_ file: SafeTensors, against c: TranslationConfiguration, path: URL) throws {
        guard c.layers <= file.entries.count else {
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)': metadata 'configuration' claims \(c.layers) layers, more than its \(file.entries.count) tensors could hold")
        }
        var seen = Set<String>()
        for (name, shape) in expectedTensors(c) {
            _ = try Checkpoint.checkEntry(file, name, shape: shape, path: path)
            seen.insert(name)
        }
        if let stray = file.entries.map(\.name).sorted().first(where: { !seen.contains($0) }) {
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)' holds a tensor '\(stray)' that the model (\(c)) does not have")
        }
    }

    /// The model in `modelFile` on `backend`, its description (vocabularies, options…) with it.
    /// What `cltrain translate` and `cltrain eval` load; refuses a language model's checkpoint,
    /// a corrupt file, or weights that are not finite, naming the problem.
    public static func load(from modelFile: URL, backend: Backend) throws -> (model: TranslationModel, description: Description) {
        try load(from: modelFile) { try TranslationModel(configuration: $0, backend: backend) }
    }

    /// As `load(from:backend:)`, with the model's parts on `devices`.
    public static func load(from modelFile: URL, devices: ModelDevices) throws -> (model: TranslationModel, description: Description) {
        try load(from: modelFile) { try TranslationModel(configuration: $0, devices: devices) }
    }

    private static func load(from modelFile: URL, build: (TranslationConfiguration) throws -> TranslationModel) throws
        -> (model: TranslationModel, description: Description) {
        let file = try SafeTensors.read(from: modelFile)
        let description = try describe(metadata: file.metadata, path: modelFile)
        try checkTensors(file, against: description.configuration, path: modelFile)
        let model = try build(description.configuration)
        let tensors = model.parameters.logicalTensors
        try Checkpoint.checkFinite(file, tensors: tensors.map(\.name), prefix: "", path: modelFile)
        try Checkpoint.load(file, into: tensors, prefix: "", path: modelFile) { $0.value }
        return (model, description)
    }

    /// Encodes `model`'s checkpoint at `position` with `writer`.
    static func encode(_ model: TranslationModel, writer: CheckpointWriter, vocabularies: (source: TranslationVocabulary, target: TranslationVocabulary),
                       options: TranslationOptions, position: TrainingPosition, optimizer: Optimizer) throws -> PendingCheckpoint {
        try writer.encode(parameters: model.parameters, optimizer: optimizer, position: position, format: format,
                          options: try CheckpointWriter.json(options), dropoutGenerator: model.dropoutGenerator,
                          modelMetadata: ["configuration": try CheckpointWriter.json(model.configuration),
                                          "source_vocabulary": try CheckpointWriter.json(vocabularies.source),
                                          "target_vocabulary": try CheckpointWriter.json(vocabularies.target)])
    }

    /// Restores the weights, optimizer state and dropout generator of `modelFile` into `model`
    /// for `--resume`, after checking everything (the same model, options but for epochs, data;
    /// the position inside `batchesPerEpoch`; both files of one run and step; every tensor of
    /// its shape and finite). Returns the position, the run and the state file.
    static func loadTrainingState(modelFile: URL, into model: TranslationModel, optimizer: Optimizer, options: TranslationOptions,
                                  data: DataIdentity, batchesPerEpoch: Int) throws -> ResumedCheckpoint {
        let file = try SafeTensors.read(from: modelFile)
        let description = try describe(metadata: file.metadata, path: modelFile)
        try description.checkResumable(configuration: model.configuration, options: options, path: modelFile.path)
        try description.checkData(data, path: modelFile.path)
        try checkTensors(file, against: model.configuration, path: modelFile)
        let tensors = model.parameters.logicalTensors
        try Checkpoint.checkFinite(file, tensors: tensors.map(\.name), prefix: "", path: modelFile)
        guard let stateName = description.stateFile else {
            throw CLTrainError.invalidArgument("checkpoint '\(modelFile.path)' has no training state to resume from")
        }
        guard let run = description.run, let saved = description.data, let position = description.position else {
            throw CLTrainError.invalidArgument("checkpoint '\(modelFile.path)' records no run identity: it can be evaluated, but not resumed")
        }
        try Checkpoint.checkPosition(position, windowsPerEpoch: batchesPerEpoch, modelFile: modelFile)
        let (state, stateURL, steps, generator) = try Checkpoint.readTrainingState(
            modelFile: modelFile, stateName: stateName, run: run, position: position, data: saved, options: options,
            optimizer: optimizer, format: format)
        let names = try Checkpoint.checkOptimizerState(state, optimizer: optimizer, tensors: tensors, path: stateURL)
        try Checkpoint.checkFinite(state, tensors: names, prefix: "", path: stateURL)

        try Checkpoint.load(file, into: tensors, prefix: "", path: modelFile) { $0.value }
        try Checkpoint.loadOptimizerState(state, into: optimizer, tensors: tensors, steps: steps, path: stateURL)
        model.dropoutGenerator = SplitMix64(seed: generator)
        return ResumedCheckpoint(position: position, run: run, stateFile: stateName, ranks: 1)
    }
}
