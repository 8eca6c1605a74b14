import Foundation

/// What a run that resumes a checkpoint is: its data, vocabulary and windows per epoch, against
/// which the checkpoint's position and identity are checked.
struct ResumingRun {
    let data: DataIdentity
    let vocabulary: Vocabulary
    let windowsPerEpoch: Int
    /// Data-parallel ranks of this run (1: one process) and whether it may differ from the
    /// checkpoint's (`--allow-rank-change`).
    var ranks = 1
    var allowsRankChange = false
    /// The sequences of the global batch whose carried state this process holds (nil: all).
    var carriedSequences: Range<Int>? = nil
}

/// Options a checkpoint records and a resume compares: only the number of epochs may change.
protocol ResumableOptions: Codable {
    /// What differs from `other`, named by flag ("--batch 32, not 64").
    func differences(from other: Self) -> [String]
    /// These options with `other`'s number of epochs.
    func withEpochs(of other: Self) -> Self
}

extension TrainingOptions: ResumableOptions {
    func withEpochs(of other: TrainingOptions) -> TrainingOptions {
        var options = self
        options.epochs = other.epochs
        return options
    }
}

extension TranslationOptions: ResumableOptions {
    func withEpochs(of other: TranslationOptions) -> TranslationOptions {
        var options = self
        options.epochs = other.epochs
        return options
    }
}

extension Checkpoint {
    /// The options a checkpoint was trained with (nil: an older file that records none) are
    /// `options`, but for the number of epochs; else the differences are named.
    static func checkSameOptions<Options: ResumableOptions & Equatable>(saved: Options?, options: Options, path: String) throws {
        guard let saved = saved?.withEpochs(of: options), saved != options else { return }
        let differences = saved.differences(from: options)
        let what = differences.isEmpty ? "other options (\(saved))" : differences.joined(separator: "; ")
        throw CLTrainError.invalidArgument(
            "checkpoint '\(path)' was trained with \(what); resume with the same options (only --epochs may change)")
    }
}

/// A checkpoint read back for `--resume`, checked, not yet applied.
struct ResumedCheckpoint {
    let position: TrainingPosition
    let run: RunIdentity
    let stateFile: String
    /// The data-parallel ranks that wrote it (1: one process, or a checkpoint that records none).
    let ranks: Int
}

extension Checkpoint {
    /// Restores weights, optimizer state, carried state and dropout generator of the checkpoint
    /// whose model file is `modelFile` into `model` (which must have its shape). Everything is
    /// checked before anything is changed: the model and state files belong to one run and one
    /// step, that run trained with `options` (but for --epochs) on `resuming`'s data and
    /// vocabulary, the position lies inside the data, and every tensor is there, of its shape,
    /// finite. Each difference is named.
    static func loadTrainingState(modelFile: URL, into model: LanguageModel, optimizer: Optimizer,
                                  options: TrainingOptions, resuming: ResumingRun) throws -> ResumedCheckpoint {
        let file = try SafeTensors.read(from: modelFile)
        let description = try describe(file, path: modelFile)
        try description.checkResumable(configuration: model.configuration, options: options, path: modelFile.path)
        let tensors = model.parameters.logicalTensors
        for logical in tensors { _ = try checkEntry(file, logical.name, shape: logical.shape, path: modelFile) }
        try checkFinite(file, tensors: tensors.map(\.name), prefix: "", path: modelFile)

        guard let stateName = description.stateFile else {
            throw CLTrainError.invalidArgument("checkpoint '\(modelFile.path)' has no training state to resume from")
        }
        guard let run = description.run, let data = description.data, let position = description.position else {
            throw CLTrainError.invalidArgument(
                "checkpoint '\(modelFile.path)' records no run identity (an older cltrain wrote it): it can be evaluated and sampled, but not resumed")
        }
        try checkPosition(position, windowsPerEpoch: resuming.windowsPerEpoch, modelFile: modelFile)
        let (state, stateURL, steps, generator) = try readTrainingState(
            modelFile: modelFile, stateName: stateName, run: run, position: position, data: data, options: options, optimizer: optimizer)
        let metadata = state.metadata

        // …and to this run: the same data and vocabulary.
        try description.checkData(resuming.data, path: modelFile.path)
        guard description.vocabulary == resuming.vocabulary else {
            throw CLTrainError.invalidArgument(
                "checkpoint '\(modelFile.path)' has a vocabulary of \(description.vocabulary.count) \(description.vocabulary.level.rawValue)-level tokens, this run one of \(resuming.vocabulary.count) \(resuming.vocabulary.level.rawValue)-level tokens that differ")
        }

        // The ranks it was trained on: the global batch, the data order and the masks do not depend
        // on them, but a different N is a different job, refused unless asked for.
        guard let ranks = Int(metadata[Checkpoint.rankCountKey] ?? "1"), ranks >= 1 else {
            throw CLTrainError.invalidArgument(
                "training state '\(stateURL.path)' is corrupt: its \(Checkpoint.rankCountKey) is '\(metadata[Checkpoint.rankCountKey] ?? "")', not a positive count")
        }
        if ranks != resuming.ranks && !resuming.allowsRankChange {
            throw CLTrainError.invalidArgument(
                "checkpoint '\(modelFile.path)' was trained on \(ranks) data-parallel rank\(ranks == 1 ? "" : "s"), this run has \(resuming.ranks): resume with \(ranks) rank\(ranks == 1 ? "" : "s"), or pass --allow-rank-change to go on at the same global batch with each rank taking its share of the sequences")
        }

        // Every tensor of the state, of its shape and finite, before anything is loaded.
        var stateTensors = try checkOptimizerState(state, optimizer: optimizer, tensors: tensors, path: stateURL)
        var carried: [(hidden: SafeTensors.Entry, cell: SafeTensors.Entry)] = []
        if position.window > 0 {
            for l in 0..<model.configuration.layers {
                let shape = [options.batch, model.configuration.hiddenSize]
                carried.append((try checkEntry(state, "carried.hidden_l\(l)", shape: shape, path: stateURL),
                                try checkEntry(state, "carried.cell_l\(l)", shape: shape, path: stateURL)))
                stateTensors += ["carried.hidden_l\(l)", "carried.cell_l\(l)"]
            }
        }
        try checkFinite(state, tensors: stateTensors, prefix: "", path: stateURL)

        // Apply.
        try load(file, into: tensors, prefix: "", path: modelFile) { $0.value }
        try loadOptimizerState(state, into: optimizer, tensors: tensors, steps: steps, path: stateURL)
        if position.window > 0 {
            // The file holds the global batch's state (sequence order); this process takes its rows.
            let sequences = resuming.carriedSequences ?? 0..<options.batch
            let width = model.configuration.hiddenSize
            let values = sequences.lowerBound * width..<sequences.upperBound * width
            try model.resetState(batch: sequences.count)
            for (l, (hidden, cell)) in carried.enumerated() {
                try model.lstm[l].backend.upload(Array(hidden.values[values]), to: model.carriedState[l].hidden)
                try model.lstm[l].backend.upload(Array(cell.values[values]), to: model.carriedState[l].cell)
            }
        }
        model.dropoutGenerator = SplitMix64(seed: generator)
        return ResumedCheckpoint(position: position, run: run, stateFile: stateName, ranks: ranks)
    }

    /// The position lies inside the data: every step was one window (or batch), in order.
    static func checkPosition(_ position: TrainingPosition, windowsPerEpoch windows: Int, modelFile: URL) throws {
        let (done, o1) = position.epoch.multipliedReportingOverflow(by: windows)
        let (expectedStep, o2) = done.addingReportingOverflow(position.window)
        guard position.epoch >= 0, position.window >= 0, position.window < windows, position.step >= 0,
              !o1, !o2, expectedStep == position.step else {
            throw CLTrainError.invalidArgument(
                "checkpoint '\(modelFile.path)' claims epoch \(position.epoch), window \(position.window), step \(position.step), which is no position in this data (\(windows) windows per epoch: window in 0..<\(windows), step = epoch × \(windows) + window)")
        }
    }

    /// Reads the training state `stateName` beside `modelFile` and checks that it belongs to it —
    /// one format, run, step, options (but for epochs), data and optimizer, each difference named
    /// — and that it holds the optimizer's step count and a dropout generator.
    static func readTrainingState<Options: ResumableOptions>(
        modelFile: URL, stateName: String, run: RunIdentity, position: TrainingPosition, data: DataIdentity,
        options: Options, optimizer: Optimizer, format: String = Checkpoint.format
    ) throws -> (state: SafeTensors, url: URL, optimizerSteps: Int, dropoutGenerator: UInt64) {
        let stateURL = modelFile.deletingLastPathComponent().appendingPathComponent(stateName)
        let state = try SafeTensors.read(from: stateURL)
        let metadata = state.metadata
        func stateField<T: Decodable>(_ key: String, _ type: T.Type) throws -> T {
            try field(key, type, in: metadata, path: stateURL)
        }
        guard metadata["format"] == format else {
            throw CLTrainError.invalidArgument("training state '\(stateURL.path)' is not a \(format) training state (format: \(metadata["format"] ?? "none"))")
        }

        // The two files belong together: one run, one step.
        var differences: [String] = []
        let stateRun = try stateField("run", RunIdentity.self)
        let statePosition = try stateField("position", TrainingPosition.self)
        if stateRun != run { differences.append("it belongs to run \(stateRun.id), the model to run \(run.id)") }
        if statePosition != position {
            differences.append("it is at step \(statePosition.step) (epoch \(statePosition.epoch), window \(statePosition.window)), the model at step \(position.step) (epoch \(position.epoch), window \(position.window))")
        }
        if stateName != stateFileName(step: position.step) {
            differences.append("the model at step \(position.step) names it '\(stateName)', not '\(stateFileName(step: position.step))'")
        }
        let stateOptions = try stateField("training", Options.self).withEpochs(of: options)
        differences += stateOptions.differences(from: options).map { "it was trained with \($0)" }
        let stateData = try stateField("data", DataIdentity.self)
        if !stateData.matches(data) { differences.append("it was trained on \(stateData.summary), the model on \(data.summary)") }
        if metadata["optimizer"] != optimizer.kind.rawValue {
            differences.append("it was trained with --optimizer \(metadata["optimizer"] ?? "?"), not \(optimizer.kind.rawValue)")
        }
        guard differences.isEmpty else {
            throw CLTrainError.invalidArgument(
                "training state '\(stateURL.path)' does not belong to the checkpoint '\(modelFile.path)': \(differences.joined(separator: "; "))")
        }

        guard let steps = metadata["optimizer_steps"].flatMap(Int.init), steps == position.step,
              let generator = metadata["dropout_generator"].flatMap(UInt64.init) else {
            throw CLTrainError.invalidArgument(
                "training state '\(stateURL.path)' is corrupt: its optimizer steps (\(metadata["optimizer_steps"] ?? "none")) must equal its step \(position.step), and it needs a dropout generator")
        }
        return (state, stateURL, steps, generator)
    }

    /// Every optimizer state tensor of `tensors` is in `state` with its shape; returns their names.
    static func checkOptimizerState(_ state: SafeTensors, optimizer: Optimizer, tensors: [LogicalTensor], path: URL) throws -> [String] {
        var names: [String] = []
        for name in optimizer.stateNames {
            for logical in tensors {
                _ = try checkEntry(state, "\(name).\(logical.name)", shape: logical.shape, path: path)
                names.append("\(name).\(logical.name)")
            }
        }
        return names
    }

    /// Loads the (checked) optimizer state and step count.
    static func loadOptimizerState(_ state: SafeTensors, into optimizer: Optimizer, tensors: [LogicalTensor], steps: Int, path: URL) throws {
        for name in optimizer.stateNames {
            try load(state, into: tensors, prefix: name + ".", path: path) { try optimizer.requireState(name, of: $0) }
        }
        optimizer.restoreStepCount(steps)
    }

    /// The entry `name` of `file`, which must have `shape`.
    static func checkEntry(_ file: SafeTensors, _ name: String, shape: [Int], path: URL) throws -> SafeTensors.Entry {
        guard let entry = file[name] else {
            throw CLTrainError.invalidArgument("checkpoint '\(path.path)' has no tensor '\(name)'")
        }
        guard entry.shape == shape else {
            throw CLTrainError.shapeMismatch(operation: "load checkpoint",
                detail: "'\(name)' is \(entry.shape.shapeString) in '\(path.path)' but the model needs \(shape.shapeString)")
        }
        return entry
    }
}
