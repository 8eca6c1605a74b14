import Foundation

/// Trains an encoder–decoder on sentence pairs: per epoch the batcher's length-bucketed batches in
/// their seeded order; the gradient of the mean cross-entropy over the batch's non-padding target
/// tokens, clipped, then an update; validation perplexity (per target token) after each epoch and
/// after a last part of one (`TranslationOptions.epochs` may be a decimal).
///
/// It keeps the language model's `Trainer`'s rules (`JudgedCheckpoints`): divergence stops
/// before the bad update with `TrainingError.diverged` naming the last good checkpoint, a
/// checkpoint is written only once its weights gave a finite loss, the folder is locked while
/// it runs. A resume continues exactly: the position is (epoch, batch within that epoch's
/// deterministic order), with the optimizer's state and the dropout generator.
public final class TranslationTrainer {
    public let model: TranslationModel
    public let executor: TranslationBatchExecutor
    public let dataset: TranslationDataset
    public let options: TranslationOptions
    public let optimizer: Optimizer
    public private(set) var position = TrainingPosition()
    let batcher: TranslationBatcher
    let validation: TranslationBatcher?
    let checkpointDirectory: URL?
    /// The training pairs, as checkpoints record them and a resume checks them.
    public let data: DataIdentity
    public private(set) var runIdentity: RunIdentity = .random()
    public var lastCheckpoint: URL? { checkpoints.lastCheckpoint }
    /// The lock on `checkpointDirectory`, if the caller took it already; else `run()` takes one.
    public var checkpointLock: CheckpointLock?
    /// Set (e.g. from `onStep`) to stop after the current step.
    public var stopRequested = false

    /// After every update: `window` is the batch within the epoch, `loss` the mean per target
    /// token, `tokensPerSecond` the step's source + target words per second (the paper's count).
    public var onStep: (StepReport) -> Void = { _ in }
    public var onValidation: (ValidationReport) -> Void = { _ in }
    public var onCheckpoint: (URL) -> Void {
        get { checkpoints.onCheckpoint }
        set { checkpoints.onCheckpoint = newValue }
    }

    private var resumedStateFile: String?
    private let checkpoints = JudgedCheckpoints()

    /// - Parameters:
    ///   - dataSource: how the data was named (`--data de-en`, the files), recorded in checkpoints.
    public init(model: TranslationModel, executor: TranslationBatchExecutor? = nil, dataset: TranslationDataset,
                options: TranslationOptions, checkpointDirectory: URL?, dataSource: String) throws {
        try options.validate()
        if let executor, executor.model !== model {
            throw CLTrainError.invalidArgument("the trainer's executor runs another model")
        }
        let c = model.configuration
        guard dataset.sourceVocabulary.count == c.sourceVocabularySize, dataset.targetVocabulary.count == c.targetVocabularySize else {
            throw CLTrainError.invalidArgument(
                "the data's vocabularies (\(dataset.sourceVocabulary.count) → \(dataset.targetVocabulary.count)) are not the model's (\(c.sourceVocabularySize) → \(c.targetVocabularySize))")
        }
        self.model = model
        self.executor = executor ?? TranslationExecutor(model: model)
        self.dataset = dataset
        self.options = options
        self.checkpointDirectory = checkpointDirectory
        batcher = try TranslationBatcher(pairs: dataset.train, batchSize: options.batch, reverseSource: c.reverseSource, seed: options.seed)
        validation = dataset.validation.isEmpty ? nil
            : try TranslationBatcher(pairs: dataset.validation, batchSize: options.batch, reverseSource: c.reverseSource, seed: options.seed)
        data = DataIdentity(source: dataSource, pairs: dataset.train, sourceVocabularySize: dataset.sourceVocabulary.count,
                            targetVocabularySize: dataset.targetVocabulary.count)
        optimizer = try makeOptimizer(options.optimizer, parameters: model.parameters)
    }

    /// Batches per (whole) epoch: the batcher's, capped by `maxStepsPerEpoch`.
    public var batchesPerEpoch: Int { min(batcher.batchCount, options.maxStepsPerEpoch ?? .max) }

    /// Continues from a checkpoint of the same model, options (but for epochs) and data; anything
    /// else is refused, naming each difference, before the model is changed.
    public func resume(from checkpoint: URL) throws {
        let resumed = try TranslationCheckpoint.loadTrainingState(
            modelFile: checkpoint, into: model, optimizer: optimizer, options: options, data: data, batchesPerEpoch: batchesPerEpoch)
        position = resumed.position
        runIdentity = resumed.run
        resumedStateFile = resumed.stateFile
        checkpoints.lastCheckpoint = checkpoint
    }

    func meanLoss(over batcher: TranslationBatcher, maxBatches: Int? = nil) throws -> Double {
        try executor.meanLoss(over: batcher, maxBatches: maxBatches).loss
    }

    /// Trains until ⌈epochs × batches per epoch⌉ steps are done. Returns the last validation report.
    @discardableResult
    public func run() throws -> ValidationReport? {
        let ownLock = checkpointLock == nil ? try checkpointDirectory.map { try Checkpoint.prepareDirectory($0) } : nil
        defer { ownLock?.release() }
        if let checkpointDirectory, checkpoints.writer == nil {
            checkpoints.writer = try CheckpointWriter(directory: checkpointDirectory, run: runIdentity, data: data,
                                                      resumedStateFile: resumedStateFile)
        }
        let perEpoch = batchesPerEpoch
        let totalSteps = try options.totalSteps(batchesPerEpoch: perEpoch)
        var lastValidation: ValidationReport?
        var timedSteps = 0, timedSeconds = 0.0

        while position.step < totalSteps {
            // This epoch's batches: all of them, or the part of the last epoch a decimal asks for.
            let epochStart = try Checked.product(position.epoch, perEpoch, what: "the steps before this epoch")
            let inEpoch = min(perEpoch, totalSteps - epochStart)
            let batches = batcher.batches(epoch: position.epoch)
            while position.window < inEpoch {
                let start = WallClock.now
                let batch = batches[position.window]
                let lr = options.schedule.rate(atEpoch: Double(position.epoch) + Double(position.window) / Double(perEpoch))
                try model.zeroGradients()
                let result: (lossSum: Double, tokens: Int)
                do {
                    result = try executor.run(batch, training: true)
                } catch {
                    // A device failed mid-step: the pending checkpoint's weights are finite and came
                    // from an update with a finite loss and norm; keep it.
                    try? checkpoints.commit()
                    throw error
                }
                // The executor's gradient is already of the mean over the batch's target tokens, the objective.
                let loss = result.lossSum / Double(max(result.tokens, 1))
                let norm = try checkpoints.judgeStep(loss: loss, parameters: model.parameters, maxNorm: options.clipNorm,
                                                     lossScale: 1, epoch: position.epoch + 1, step: position.step + 1)
                try optimizer.step(model.parameters, learningRate: lr)
                position.window += 1
                position.step = try Checked.increment(position.step, what: "the training step count")
                try model.synchronize()
                let seconds = Double(WallClock.now - start) * 1e-9
                timedSteps += 1
                timedSeconds += seconds
                let words = batch.sourceLengths.reduce(0, +) + batch.targetLengths.reduce(0, +) - batch.batch   // without <eos>
                onStep(StepReport(epoch: position.epoch + 1, window: position.window, windowsPerEpoch: perEpoch,
                                  step: position.step, totalSteps: totalSteps, loss: loss, gradientNorm: norm, learningRate: lr,
                                  tokensPerSecond: Double(words) / seconds, seconds: seconds,
                                  secondsRemaining: timedSeconds / Double(timedSteps) * Double(totalSteps - position.step)))
                if let every = options.checkpointEvery, position.step % every == 0, position.window < inEpoch {
                    try encodeCheckpoint()
                }
                if stopRequested { return lastValidation }
            }
            var validated = false
            if let validation {
                let report = ValidationReport(epoch: position.epoch + 1, loss: try meanLoss(over: validation, maxBatches: options.maxValidationSteps))
                lastValidation = report
                onValidation(report)
                guard report.loss.isFinite else { throw checkpoints.diverged(epoch: position.epoch + 1, step: position.step, loss: report.loss) }
                validated = true
            }
            // A whole epoch moves on to the next; a part of one (the run's last) stays where it stopped.
            if position.window == perEpoch {
                position.epoch += 1
                position.window = 0
            }
            try encodeCheckpoint()
            if validated { try checkpoints.commit() }
        }
        if checkpoints.unjudged {
            let loss = try meanLoss(over: batcher, maxBatches: 1)
            guard loss.isFinite else { throw checkpoints.diverged(epoch: position.epoch + 1, step: position.step, loss: loss) }
            try checkpoints.commit()
        }
        return lastValidation
    }

    private func encodeCheckpoint() throws {
        guard checkpointDirectory != nil else { return }
        do {
            try checkpoints.hold { writer in
                try TranslationCheckpoint.encode(model, writer: writer, vocabularies: (dataset.sourceVocabulary, dataset.targetVocabulary),
                                                 options: options, position: position, optimizer: optimizer)
            }
        } catch is TrainingError {
            // The last update made a weight infinite or NaN.
            throw checkpoints.diverged(epoch: position.epoch + 1, step: position.step, loss: .nan)
        }
    }
}

extension TranslationBatchExecutor {
    /// The mean cross-entropy per non-padding target token over the batcher's batches (at most
    /// `maxBatches`; no dropout, no update), and the target tokens it counted (`<eos>` included).
    public func meanLoss(over batcher: TranslationBatcher, maxBatches: Int? = nil) throws -> (loss: Double, tokens: Int) {
        var sum = 0.0, tokens = 0
        for batch in batcher.batches(epoch: 0).prefix(maxBatches ?? .max) {
            let result = try run(batch, training: false)
            sum += result.lossSum
            tokens += result.tokens
        }
        return (sum / Double(max(tokens, 1)), tokens)
    }
}
