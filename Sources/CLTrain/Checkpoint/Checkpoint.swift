import Foundation

/// Checkpoints of a language model, in two safetensors files in one folder:
///
/// - `model.safetensors`: the weights under PyTorch's state_dict names and shapes for
///   nn.Embedding + nn.LSTM + nn.Linear (`embedding.weight`, `rnn.weight_ih_l0`, …, `decoder.bias`),
///   with the vocabulary, model shape and training options in `__metadata__`. Python loads it with
///   `safetensors.torch.load_file` and `load_state_dict` unchanged.
/// - `training-state-<step>.safetensors`: optimizer state, the carried LSTM state, the position
///   in the data and the dropout generator, for an exact `--resume`.
///
/// Both are written atomically, the state file first; the model file names the state file it
/// belongs to, and older state files are removed only after the model file is in place, so a run
/// killed at any moment leaves a whole, consistent checkpoint.
public enum Checkpoint {
    public static let modelFileName = "model.safetensors"
    static let format = "cltrain-lm-1"

    /// What `model.safetensors` says about the model besides its weights.
    public struct Description: Sendable {
        public let configuration: ModelConfiguration
        public let vocabulary: Vocabulary
        public let options: TrainingOptions?
        public let stateFile: String?

        /// A run resuming this checkpoint must build the model it saved and train it the same way
        /// (only the number of epochs may change); otherwise the resumed curve would not continue
        /// the saved one.
        public func checkResumable(configuration: ModelConfiguration, options: TrainingOptions, path: String) throws {
            guard self.configuration == configuration else {
                throw CLTrainError.invalidArgument(
                    "checkpoint '\(path)' holds a model of shape (\(self.configuration)) but this run builds (\(configuration)); use the checkpoint's options or another --checkpoint folder")
            }
            if var saved = self.options {
                saved.epochs = options.epochs
                guard saved == options else {
                    let differences = saved.differences(from: options)
                    let what = differences.isEmpty ? "other options (\(saved))" : differences.joined(separator: "; ")
                    throw CLTrainError.invalidArgument(
                        "checkpoint '\(path)' was trained with \(what); resume with the same options (only --epochs may change)")
                }
            }
        }
    }

    /// The model file for `path`: the path itself if it is a file, else `path/model.safetensors`.
    public static func modelFile(_ path: String) -> URL {
        var isDirectory: ObjCBool = false
        let url = URL(fileURLWithPath: path)
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return url.appendingPathComponent(modelFileName)
        }
        return url
    }

    /// Creates `directory` if needed and checks that checkpoints can be written there.
    public static func prepareDirectory(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CLTrainError.invalidArgument("checkpoint folder '\(directory.path)' is a file")
        }
        try AtomicFile.write(Data(), to: directory.appendingPathComponent(".cltrain-write-test"))
        try? FileManager.default.removeItem(at: directory.appendingPathComponent(".cltrain-write-test"))
    }

    @discardableResult
    public static func save(model: LanguageModel, vocabulary: Vocabulary, options: TrainingOptions?,
                            position: TrainingPosition, optimizer: Optimizer?, directory: URL) throws -> URL {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }

        let tensors = model.parameters.logicalTensors
        let weights = try tensors.map { SafeTensors.Entry(name: $0.name, shape: $0.shape, values: try $0.gather(\.value)) }
        // A checkpoint is only ever a good one: weights that are not finite are never written.
        for entry in weights {
            if let bad = entry.values.first(where: { !$0.isFinite }) {
                throw TrainingError.nonFinite(what: "weight in '\(entry.name)'", value: Double(bad))
            }
        }
        let stateName = String(format: "training-state-%09d.safetensors", position.step)
        if let optimizer {
            var entries: [SafeTensors.Entry] = []
            for name in optimizer.stateNames {
                for tensor in tensors {
                    entries.append(.init(name: "\(name).\(tensor.name)", shape: tensor.shape,
                                         values: try tensor.gather { try optimizer.requireState(name, of: $0) }))
                }
            }
            for (l, state) in model.carriedState.enumerated() {
                let backend = model.lstm[l].backend
                entries.append(.init(name: "carried.hidden_l\(l)", shape: state.hidden.shape, values: try backend.download(state.hidden)))
                entries.append(.init(name: "carried.cell_l\(l)", shape: state.cell.shape, values: try backend.download(state.cell)))
            }
            let metadata = ["format": format, "position": try json(position), "optimizer": optimizer.kind.rawValue,
                            "optimizer_steps": String(optimizer.stepCount),
                            "dropout_generator": String(model.dropoutGenerator.state)]
            try SafeTensors(entries: entries, metadata: metadata).write(to: directory.appendingPathComponent(stateName))
        }

        var metadata = ["format": format, "configuration": try json(model.configuration),
                        "vocabulary": try json(vocabulary), "position": try json(position)]
        if let options { metadata["training"] = try json(options) }
        if optimizer != nil { metadata["state_file"] = stateName }
        let modelURL = directory.appendingPathComponent(modelFileName)
        try SafeTensors(entries: weights, metadata: metadata).write(to: modelURL)

        // Older state files are no longer referenced.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        where name.hasPrefix("training-state-") && name.hasSuffix(".safetensors") && name != stateName {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        return modelURL
    }

    /// The description of the model stored in `modelFile`, from its header alone (the weights
    /// are not read): what `train --resume` needs before it builds the model.
    public static func describe(modelFile: URL) throws -> Description {
        try describe(metadata: SafeTensors.readMetadata(from: modelFile), path: modelFile)
    }

    /// Reads the description of the model in `file` without building it.
    public static func describe(_ file: SafeTensors, path: URL) throws -> Description {
        try describe(metadata: file.metadata, path: path)
    }

    private static func describe(metadata: [String: String], path: URL) throws -> Description {
        func field<T: Decodable>(_ key: String, _ type: T.Type) throws -> T {
            guard let text = metadata[key] else {
                throw CLTrainError.invalidArgument("checkpoint '\(path.path)' has no '\(key)' in its metadata; was it written by cltrain?")
            }
            do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
                throw CLTrainError.invalidArgument("checkpoint '\(path.path)': metadata '\(key)' is corrupt: \(error)")
            }
        }
        guard metadata["format"] == format else {
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)' is not a \(format) checkpoint (format: \(metadata["format"] ?? "none"))")
        }
        return Description(configuration: try field("configuration", ModelConfiguration.self),
                           vocabulary: try field("vocabulary", Vocabulary.self),
                           options: metadata["training"] == nil ? nil : try field("training", TrainingOptions.self),
                           stateFile: metadata["state_file"])
    }

    /// Builds the model stored in `modelFile` on `backend`.
    public static func loadModel(_ modelFile: URL, backend: Backend) throws -> (LanguageModel, Description) {
        let file = try SafeTensors.read(from: modelFile)
        let description = try describe(file, path: modelFile)
        let model = try LanguageModel(configuration: description.configuration, backend: backend)
        try loadWeights(file, into: model, path: modelFile)
        return (model, description)
    }

    /// Copies the weights in `file` into `model`, which must have exactly the stored shapes.
    static func loadWeights(_ file: SafeTensors, into model: LanguageModel, path: URL) throws {
        try load(file, into: model.parameters.logicalTensors, prefix: "", path: path) { $0.value }
    }

    /// Each logical tensor's entry `prefix + name` from `file`, scattered into the parts' `tensor`.
    static func load(_ file: SafeTensors, into tensors: [LogicalTensor], prefix: String, path: URL,
                     _ tensor: (Parameter) throws -> Tensor) throws {
        for logical in tensors {
            let name = prefix + logical.name
            guard let entry = file[name] else {
                throw CLTrainError.invalidArgument("checkpoint '\(path.path)' has no tensor '\(name)'")
            }
            guard entry.shape == logical.shape else {
                throw CLTrainError.shapeMismatch(operation: "load checkpoint",
                    detail: "'\(name)' is \(entry.shape.shapeString) in '\(path.path)' but the model needs \(logical.shape.shapeString)")
            }
            try logical.scatter(entry.values, tensor)
        }
    }

    /// Restores weights, optimizer state, carried state and dropout generator of the checkpoint
    /// whose model file is `modelFile` into `model` (which must have its shape). Returns the position.
    static func loadTrainingState(modelFile: URL, into model: LanguageModel, optimizer: Optimizer,
                                  options: TrainingOptions) throws -> TrainingPosition {
        let file = try SafeTensors.read(from: modelFile)
        let description = try describe(file, path: modelFile)
        try description.checkResumable(configuration: model.configuration, options: options, path: modelFile.path)
        try loadWeights(file, into: model, path: modelFile)
        guard let stateName = description.stateFile else {
            throw CLTrainError.invalidArgument("checkpoint '\(modelFile.path)' has no training state to resume from")
        }
        let stateURL = modelFile.deletingLastPathComponent().appendingPathComponent(stateName)
        let state = try SafeTensors.read(from: stateURL)
        guard state.metadata["optimizer"] == optimizer.kind.rawValue else {
            throw CLTrainError.invalidArgument("checkpoint was trained with --optimizer \(state.metadata["optimizer"] ?? "?"), not \(optimizer.kind.rawValue)")
        }
        guard let positionText = state.metadata["position"],
              let position = try? JSONDecoder().decode(TrainingPosition.self, from: Data(positionText.utf8)),
              let steps = state.metadata["optimizer_steps"].flatMap(Int.init),
              let generator = state.metadata["dropout_generator"].flatMap(UInt64.init) else {
            throw CLTrainError.invalidArgument("training state '\(stateURL.path)' is corrupt: missing position, optimizer steps or generator")
        }
        for name in optimizer.stateNames {
            try load(state, into: model.parameters.logicalTensors, prefix: name + ".", path: stateURL) {
                try optimizer.requireState(name, of: $0)
            }
        }
        optimizer.restoreStepCount(steps)
        if position.window > 0 {
            guard let batch = state["carried.hidden_l0"]?.shape.first, batch > 0 else {
                throw CLTrainError.invalidArgument("training state '\(stateURL.path)' lacks the carried LSTM state ('carried.hidden_l0')")
            }
            try model.resetState(batch: batch)
            for (l, carried) in model.carriedState.enumerated() {
                for (name, tensor) in [("carried.hidden_l\(l)", carried.hidden), ("carried.cell_l\(l)", carried.cell)] {
                    guard let entry = state[name], entry.shape == tensor.shape else {
                        throw CLTrainError.invalidArgument("training state '\(stateURL.path)' lacks '\(name)' of shape \(tensor.shape.shapeString)")
                    }
                    try model.lstm[l].backend.upload(entry.values, to: tensor)
                }
            }
        }
        model.dropoutGenerator = SplitMix64(seed: generator)
        return position
    }
}
