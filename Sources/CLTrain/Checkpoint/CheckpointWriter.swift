import Foundation

/// A checkpoint encoded in memory, not yet on disk: the trainer writes it only once its weights
/// have given a finite loss (the next step's, or the validation pass's), so the checkpoint on
/// disk is always one that training can continue from.
struct PendingCheckpoint {
    let position: TrainingPosition
    let stateFile: String
    let state: Data
    let model: Data
}

/// Writes one run's checkpoints into its folder, and removes only the files it wrote itself:
/// the state files of this run (its own, or its resumed predecessor's, whose run identity it
/// carries). Any other file — `training-state-notes.safetensors`, another run's state — stays;
/// one that this run would have to replace is refused before training starts.
final class CheckpointWriter {
    let directory: URL
    let run: RunIdentity
    let data: DataIdentity
    /// State files of this run that may be removed once a newer model file is in place.
    private var ownStateFiles: Set<String>
    private(set) var lastWritten: URL?

    /// - Parameters:
    ///   - resumedStateFile: the state file named by the model this run resumed (nil: a fresh run).
    init(directory: URL, run: RunIdentity, data: DataIdentity, resumedStateFile: String?) throws {
        self.directory = directory
        self.run = run
        self.data = data
        ownStateFiles = Set(resumedStateFile.map { [$0] } ?? [])
        AtomicFile.removeStaleTemporaries(in: directory)
        let modelURL = directory.appendingPathComponent(Checkpoint.modelFileName)
        if resumedStateFile == nil, FileManager.default.fileExists(atPath: modelURL.path) {
            throw CLTrainError.invalidArgument(
                "'\(modelURL.path)' already exists and this run did not write it; resume it, or choose another checkpoint folder")
        }
        try claimLeftovers(keeping: resumedStateFile)
    }

    /// State files no model file names: this run's own, left by a kill between writing a state
    /// and its model, are removed; anyone else's would be replaced by a later checkpoint of the
    /// same step, so the run refuses to start.
    private func claimLeftovers(keeping current: String?) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names.sorted() where name != current && Checkpoint.step(ofStateFile: name) != nil {
            let url = directory.appendingPathComponent(name)
            let owner = (try? SafeTensors.readMetadata(from: url))?["run"]
                .flatMap { try? JSONDecoder().decode(RunIdentity.self, from: Data($0.utf8)) }
            guard owner == run else {
                throw CLTrainError.invalidArgument(
                    "'\(url.path)' was not written by this run (no \(Checkpoint.modelFileName) of this run names it), and a checkpoint of this run could replace it; cltrain never replaces a file it did not write: move it away or choose another --checkpoint folder")
            }
            try? FileManager.default.removeItem(at: url)
        }
    }

    /// Encodes the checkpoint of `model` at `position` (everything a resume needs), in memory.
    ///   - carriedState: the global batch's carried (h, c) per layer, B×H each, when this process
    ///     holds only its share (data parallelism; nil: the model's own).
    ///   - ranks: the data-parallel ranks of the run, recorded when more than one process trains.
    func encode(model: LanguageModel, vocabulary: Vocabulary, options: TrainingOptions,
                position: TrainingPosition, optimizer: Optimizer,
                carriedState: [(hidden: [Float], cell: [Float])]? = nil, ranks: Int? = nil) throws -> PendingCheckpoint {
        var carried: [SafeTensors.Entry] = []
        // Mid-epoch only: an epoch starts from a zero state, and at an epoch's end the model holds
        // the validation pass's state, which is no training state.
        if position.window > 0 {
            if let carriedState {
                let shape = [options.batch, model.configuration.hiddenSize]
                for (l, state) in carriedState.enumerated() {
                    carried.append(.init(name: "carried.hidden_l\(l)", shape: shape, values: state.hidden))
                    carried.append(.init(name: "carried.cell_l\(l)", shape: shape, values: state.cell))
                }
            } else {
                for (l, state) in model.carriedState.enumerated() {
                    let backend = model.lstm[l].backend
                    carried.append(.init(name: "carried.hidden_l\(l)", shape: state.hidden.shape, values: try backend.download(state.hidden)))
                    carried.append(.init(name: "carried.cell_l\(l)", shape: state.cell.shape, values: try backend.download(state.cell)))
                }
            }
        }
        // Only a data-parallel run records its ranks: one process writes the file it always wrote.
        return try encode(parameters: model.parameters, optimizer: optimizer, position: position, format: Checkpoint.format,
                          options: try Self.json(options), dropoutGenerator: model.dropoutGenerator, extraState: carried,
                          stateMetadata: ranks.map { [Checkpoint.rankCountKey: String($0)] } ?? [:],
                          modelMetadata: ["configuration": try Self.json(model.configuration), "vocabulary": try Self.json(vocabulary)])
    }

    /// `value` as the metadata holds it: JSON with sorted keys.
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Encodes any model's checkpoint: the weights of `parameters` (whole tensors, refused if not
    /// finite) with `modelMetadata`, and a state file of the optimizer's state, `extraState` and
    /// the dropout generator with `stateMetadata`; both carry the identity (format, position,
    /// run, data, options) a resume checks, and the model file names the state file.
    func encode(parameters: [Parameter], optimizer: Optimizer, position: TrainingPosition, format: String, options: String,
                dropoutGenerator: SplitMix64, extraState: [SafeTensors.Entry] = [],
                stateMetadata: [String: String] = [:], modelMetadata: [String: String]) throws -> PendingCheckpoint {
        let tensors = parameters.logicalTensors
        let weights = try tensors.map { SafeTensors.Entry(name: $0.name, shape: $0.shape, values: try $0.gather(\.value)) }
        // A checkpoint is only ever a good one: weights that are not finite are never written.
        for entry in weights {
            if let bad = entry.values.first(where: { !$0.isFinite }) {
                throw TrainingError.nonFinite(what: "weight in '\(entry.name)'", value: Double(bad))
            }
        }
        let stateName = Checkpoint.stateFileName(step: position.step)
        var entries: [SafeTensors.Entry] = []
        for name in optimizer.stateNames {
            for tensor in tensors {
                entries.append(.init(name: "\(name).\(tensor.name)", shape: tensor.shape,
                                     values: try tensor.gather { try optimizer.requireState(name, of: $0) }))
            }
        }
        entries += extraState
        let identity = ["format": format, "position": try Self.json(position), "run": try Self.json(run),
                        "data": try Self.json(data), "training": options]
        let state = identity.merging(["optimizer": optimizer.kind.rawValue,
                                      "optimizer_steps": String(optimizer.stepCount),
                                      "dropout_generator": String(dropoutGenerator.state)]) { $1 }
            .merging(stateMetadata) { $1 }
        let model = identity.merging(modelMetadata) { $1 }.merging(["state_file": stateName]) { $1 }
        return PendingCheckpoint(position: position, stateFile: stateName,
                                 state: try SafeTensors(entries: entries, metadata: state).encode(),
                                 model: try SafeTensors(entries: weights, metadata: model).encode())
    }

    /// Writes `checkpoint`: the state file, then the model file naming it, then removes this
    /// run's older state files. Returns the model file.
    @discardableResult
    func commit(_ checkpoint: PendingCheckpoint) throws -> URL {
        try AtomicFile.write(checkpoint.state, to: directory.appendingPathComponent(checkpoint.stateFile))
        ownStateFiles.insert(checkpoint.stateFile)
        let modelURL = directory.appendingPathComponent(Checkpoint.modelFileName)
        try AtomicFile.write(checkpoint.model, to: modelURL)
        for name in ownStateFiles.sorted() where name != checkpoint.stateFile {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
            ownStateFiles.remove(name)
        }
        lastWritten = modelURL
        return modelURL
    }
}
