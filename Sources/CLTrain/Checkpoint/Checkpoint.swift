import Foundation

/// Checkpoints of a language model, in two safetensors files in one folder:
///
/// - `model.safetensors`: the weights under PyTorch's state_dict names and shapes for
///   nn.Embedding + nn.LSTM + nn.Linear (`embedding.weight`, `rnn.weight_ih_l0`, …, `decoder.bias`),
///   with the vocabulary, model shape, training options, position, run and data identity in
///   `__metadata__`. Python loads it with `safetensors.torch.load_file` and `load_state_dict` unchanged.
/// - `training-state-<step>.safetensors`: optimizer state, the carried LSTM state (mid-epoch only:
///   an epoch starts from a zero state), the position in the data and the dropout generator, for
///   an exact `--resume`; with the same run and data identity and options as the model file, so a
///   state file that belongs to another run is refused.
///
/// Both are written atomically, the state file first (`CheckpointWriter`); the model file names
/// the state file it belongs to, and the run's older state files are removed only after the model
/// file is in place, so a run killed at any moment leaves a whole, consistent checkpoint. Both are
/// read by the one strict reader, `SafeTensors.read`, and every tensor is checked against the model
/// (names, shapes, finite values) before anything is allocated or changed.
public enum Checkpoint {
    public static let modelFileName = "model.safetensors"
    static let format = "cltrain-lm-1"
    /// The training state's record of how many data-parallel ranks trained it (absent: one process).
    static let rankCountKey = "data_parallel_ranks"

    /// `training-state-000000042.safetensors`: the only names of state files a run writes.
    static func stateFileName(step: Int) -> String {
        let digits = String(step)
        return "training-state-" + String(repeating: "0", count: max(0, 9 - digits.count)) + digits + ".safetensors"
    }

    /// The step in a state file name of exactly the form `stateFileName` writes, or nil.
    static func step(ofStateFile name: String) -> Int? {
        guard name.hasPrefix("training-state-"), name.hasSuffix(".safetensors") else { return nil }
        let digits = name.dropFirst("training-state-".count).dropLast(".safetensors".count)
        guard digits.count >= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    /// What `model.safetensors` says about the model besides its weights.
    public struct Description: Sendable {
        public let configuration: ModelConfiguration
        public let vocabulary: Vocabulary
        public let options: TrainingOptions?
        public let stateFile: String?
        /// Where training stood and which run on which data wrote it (nil: an older cltrain's file).
        public let position: TrainingPosition?
        public let run: RunIdentity?
        public let data: DataIdentity?

        /// A run resuming this checkpoint must build the model it saved and train it the same way
        /// (only the number of epochs may change); otherwise the resumed curve would not continue
        /// the saved one.
        public func checkResumable(configuration: ModelConfiguration, options: TrainingOptions, path: String) throws {
            guard self.configuration == configuration else {
                throw CLTrainError.invalidArgument(
                    "checkpoint '\(path)' holds a model of shape (\(self.configuration)) but this run builds (\(configuration)); use the checkpoint's options or another --checkpoint folder")
            }
            try Checkpoint.checkSameOptions(saved: self.options, options: options, path: path)
        }

        /// A run on `data` may continue this checkpoint only if it trained on the same tokens.
        public func checkData(_ data: DataIdentity, path: String) throws {
            guard let saved = self.data else { return }   // checked again, strictly, by the resume itself
            guard saved.matches(data) else {
                throw CLTrainError.invalidArgument(
                    "--data: checkpoint '\(path)' was trained on \(saved.summary), not on \(data.summary); resume with the same --data")
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

    /// Creates `directory` if needed and takes the run's lock on it (which also shows that
    /// checkpoints can be written there). Hold the lock for the whole run.
    public static func prepareDirectory(_ directory: URL) throws -> CheckpointLock {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CLTrainError.invalidArgument("checkpoint folder '\(directory.path)' is a file")
        }
        try AtomicFile.createDirectory(directory, what: "checkpoint folder")
        // Else a folder that cannot be written fails at the first save, after an epoch of training.
        guard access(directory.path, W_OK) == 0 else {
            throw CLTrainError.invalidArgument("cannot write into checkpoint folder '\(directory.path)': \(String(cString: strerror(errno)))")
        }
        return try CheckpointLock.acquire(directory)
    }

    // MARK: Reading descriptions

    /// The description of the model stored in `modelFile`, from its header alone (the weights
    /// are not read): what `train --resume` needs before it builds the model.
    public static func describe(modelFile: URL) throws -> Description {
        try describe(metadata: SafeTensors.readMetadata(from: modelFile), path: modelFile)
    }

    /// Reads the description of the model in `file` without building it.
    public static func describe(_ file: SafeTensors, path: URL) throws -> Description {
        try describe(metadata: file.metadata, path: path)
    }

    static func field<T: Decodable>(_ key: String, _ type: T.Type, in metadata: [String: String], path: URL) throws -> T {
        guard let text = metadata[key] else {
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)' has no '\(key)' in its metadata; was it written by cltrain?")
        }
        do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)': metadata '\(key)' is corrupt")
        }
    }

    private static func describe(metadata: [String: String], path: URL) throws -> Description {
        func optional<T: Decodable>(_ key: String, _ type: T.Type) throws -> T? {
            metadata[key] == nil ? nil : try field(key, type, in: metadata, path: path)
        }
        guard metadata["format"] == format else {
            let found = metadata["format"] ?? "none"
            let hint = found == TranslationCheckpoint.format ? ": it holds a translation model; train it with --task translate" : ""
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)' is not a \(format) checkpoint (format: \(found))\(hint)")
        }
        let configuration = try field("configuration", ModelConfiguration.self, in: metadata, path: path)
        let vocabulary = try field("vocabulary", Vocabulary.self, in: metadata, path: path)
        do { try configuration.validate() } catch {
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)': metadata 'configuration' is impossible: \(error)")
        }
        guard vocabulary.count == configuration.vocabularySize else {
            throw CLTrainError.invalidArgument(
                "checkpoint '\(path.path)': its vocabulary has \(vocabulary.count) tokens but its model \(configuration.vocabularySize)")
        }
        if let stateFile = metadata["state_file"], step(ofStateFile: stateFile) == nil {
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)': metadata 'state_file' (\(stateFile)) is not a training-state-<step>.safetensors name")
        }
        return Description(configuration: configuration, vocabulary: vocabulary,
                           options: try optional("training", TrainingOptions.self),
                           stateFile: metadata["state_file"],
                           position: try optional("position", TrainingPosition.self),
                           run: try optional("run", RunIdentity.self),
                           data: try optional("data", DataIdentity.self))
    }

    // MARK: Loading weights

    /// Builds the model stored in `modelFile` on `backend`. The file's tensors are checked
    /// against the model its metadata describes before the model is allocated, so a header that
    /// claims a huge model is refused rather than allocated.
    public static func loadModel(_ modelFile: URL, backend: Backend) throws -> (LanguageModel, Description) {
        let file = try SafeTensors.read(from: modelFile)
        let description = try describe(file, path: modelFile)
        try checkTensors(file, against: description.configuration, path: modelFile)
        let model = try LanguageModel(configuration: description.configuration, backend: backend)
        try loadWeights(file, into: model, path: modelFile)
        return (model, description)
    }

    /// Every weight of the model `configuration` describes is in `file` with its shape (the
    /// file's reader has checked those shapes against the file's size), and nothing else is.
    /// Names and shapes follow PyTorch's state_dict order; they are made one at a time, so a
    /// metadata claiming 10^9 layers fails at the first missing tensor without listing them all.
    static func checkTensors(_ file: SafeTensors, against c: ModelConfiguration, path: URL) throws {
        let (gates, overflow) = c.hiddenSize.multipliedReportingOverflow(by: 4)
        guard !overflow else {
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)': metadata 'configuration' claims H \(c.hiddenSize), too large for any model")
        }
        var seen = Set<String>()
        func expect(_ name: String, _ shape: [Int]) throws {
            guard let entry = file[name] else {
                throw CLTrainError.invalidArgument("checkpoint '\(path.path)' has no tensor '\(name)'")
            }
            guard entry.shape == shape else {
                throw CLTrainError.shapeMismatch(operation: "load checkpoint",
                    detail: "'\(name)' is \(entry.shape.shapeString) in '\(path.path)' but the model needs \(shape.shapeString)")
            }
            seen.insert(name)
        }
        try expect("embedding.weight", [c.vocabularySize, c.embeddingSize])
        for l in 0..<c.layers {
            try expect("rnn.weight_ih_l\(l)", [gates, l == 0 ? c.embeddingSize : c.hiddenSize])
            try expect("rnn.weight_hh_l\(l)", [gates, c.hiddenSize])
            try expect("rnn.bias_ih_l\(l)", [gates])
            try expect("rnn.bias_hh_l\(l)", [gates])
        }
        try expect("decoder.weight", [c.vocabularySize, c.hiddenSize])
        try expect("decoder.bias", [c.vocabularySize])
        if let stray = file.entries.map(\.name).sorted().first(where: { !seen.contains($0) }) {
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)' holds a tensor '\(stray)' that the model (\(c)) does not have")
        }
    }

    /// Copies the weights in `file` into `model`, which must have exactly the stored shapes.
    static func loadWeights(_ file: SafeTensors, into model: LanguageModel, path: URL) throws {
        try checkFinite(file, tensors: model.parameters.logicalTensors.map(\.name), prefix: "", path: path)
        try load(file, into: model.parameters.logicalTensors, prefix: "", path: path) { $0.value }
    }

    /// Each of `prefix + tensors` in `file` holds only finite values (checked in the model's
    /// order, so the same file always names the same tensor).
    static func checkFinite(_ file: SafeTensors, tensors: [String], prefix: String, path: URL) throws {
        for name in tensors.map({ prefix + $0 }) {
            guard let entry = file[name] else { continue }   // named by `load`
            if let index = entry.values.firstIndex(where: { !$0.isFinite }) {
                throw CLTrainError.invalidArgument(
                    "checkpoint '\(path.path)': tensor '\(name)' holds \(entry.values[index]) at index \(index); a checkpoint's values must be finite")
            }
        }
    }

    /// Each logical tensor's entry `prefix + name` from `file`, scattered into the parts' `tensor`.
    static func load(_ file: SafeTensors, into tensors: [LogicalTensor], prefix: String, path: URL,
                     _ tensor: (Parameter) throws -> Tensor) throws {
        for logical in tensors {
            try check(file, logical, prefix: prefix, path: path)
        }
        for logical in tensors {
            try logical.scatter(file[prefix + logical.name]!.values, tensor)   // checked just above
        }
    }

    private static func check(_ file: SafeTensors, _ logical: LogicalTensor, prefix: String, path: URL) throws {
        let name = prefix + logical.name
        guard let entry = file[name] else {
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)' has no tensor '\(name)'")
        }
        guard entry.shape == logical.shape else {
            throw CLTrainError.shapeMismatch(operation: "load checkpoint",
                detail: "'\(name)' is \(entry.shape.shapeString) in '\(path.path)' but the model needs \(logical.shape.shapeString)")
        }
    }
}
