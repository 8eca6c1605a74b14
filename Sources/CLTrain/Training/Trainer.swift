import Foundation

/// What the trainer reports after every update.
public struct StepReport: Sendable {
    public let epoch: Int            // 1-based
    public let window: Int           // 1-based within the epoch
    public let windowsPerEpoch: Int
    public let step: Int             // updates so far
    public let totalSteps: Int
    public let loss: Double
    public let gradientNorm: Double
    public let learningRate: Float
    public let tokensPerSecond: Double
    public let secondsRemaining: Double
    public var perplexity: Double { exp(loss) }
}

/// What the trainer reports after each epoch's validation pass.
public struct ValidationReport: Sendable {
    public let epoch: Int
    public let loss: Double
    public var perplexity: Double { exp(loss) }
}

/// Runs epochs of truncated-BPTT training on one model, with validation after each epoch and
/// checkpoints at the end of each epoch (and every `checkpointEvery` steps).
///
/// Divergence (a non-finite loss or gradient norm) stops training with `TrainingError.diverged`
/// before the bad update is applied and before any checkpoint is written, so the last checkpoint
/// on disk stays the last good one.
public final class Trainer {
    public let model: LanguageModel
    public let vocabulary: Vocabulary
    public let options: TrainingOptions
    public let optimizer: Optimizer
    public private(set) var position: TrainingPosition
    let train: TokenStream
    let validation: TokenStream?
    let checkpointDirectory: URL?
    public private(set) var lastCheckpoint: URL?
    /// Set (e.g. from `onStep`) to stop after the current step, leaving the position where it is.
    public var stopRequested = false

    public var onStep: (StepReport) -> Void = { _ in }
    public var onValidation: (ValidationReport) -> Void = { _ in }
    public var onCheckpoint: (URL) -> Void = { _ in }

    public init(model: LanguageModel, vocabulary: Vocabulary, options: TrainingOptions,
                train: TokenStream, validation: TokenStream?, checkpointDirectory: URL?) throws {
        try options.validate()
        self.model = model
        self.vocabulary = vocabulary
        self.options = options
        self.train = train
        self.validation = validation
        self.checkpointDirectory = checkpointDirectory
        optimizer = try makeOptimizer(options.optimizer, parameters: model.parameters)
        position = TrainingPosition()
    }

    public var windowsPerEpoch: Int { min(train.windowCount, options.maxStepsPerEpoch ?? .max) }

    /// Continues from a checkpoint written by an earlier run of the same model and options (only
    /// the number of epochs may differ); anything else is refused.
    public func resume(from checkpoint: URL) throws {
        let state = try Checkpoint.loadTrainingState(modelFile: checkpoint, into: model, optimizer: optimizer, options: options)
        position = state
        lastCheckpoint = checkpoint
    }

    /// Trains until `options.epochs` are done. Returns the last validation report, if any.
    @discardableResult
    public func run() throws -> ValidationReport? {
        let windows = windowsPerEpoch
        // Checked: the epochs come from a flag or a state file, and Int.max of them must not trap.
        let totalSteps = try Checked.product(windows, options.epochs, what: "the run's total steps (windows per epoch × --epochs)")
        let tokensPerWindow = Double(options.batch) * Double(options.bptt)
        var lastValidation: ValidationReport?
        var timedSteps = 0, timedSeconds = 0.0

        while position.epoch < options.epochs {
            if position.window == 0 { try model.resetState(batch: options.batch) }
            while position.window < windows {
                let start = Date()
                let lr = options.schedule.rate(atEpoch: Double(position.epoch) + Double(position.window) / Double(windows))
                try model.zeroGradients()
                let loss = try model.trainingStep(train.window(position.window))
                let norm: Double
                do {
                    guard loss.isFinite else { throw TrainingError.nonFinite(what: "loss", value: loss) }
                    norm = try clipGradients(model.parameters, maxNorm: options.clipNorm)
                } catch is TrainingError {
                    throw TrainingError.diverged(epoch: position.epoch + 1, step: position.step + 1, loss: loss,
                                                 lastCheckpoint: lastCheckpoint?.path)
                }
                try optimizer.step(model.parameters, learningRate: lr)
                position.window += 1
                position.step = try Checked.increment(position.step, what: "the training step count")

                try model.synchronize()
                let seconds = Date().timeIntervalSince(start)
                timedSteps += 1
                timedSeconds += seconds
                let mean = timedSeconds / Double(timedSteps)
                onStep(StepReport(epoch: position.epoch + 1, window: position.window, windowsPerEpoch: windows,
                                  step: position.step, totalSteps: totalSteps, loss: loss, gradientNorm: norm,
                                  learningRate: lr, tokensPerSecond: tokensPerWindow / seconds,
                                  secondsRemaining: mean * max(Double(totalSteps) - Double(position.step), 0)))
                if let every = options.checkpointEvery, position.step % every == 0, position.window < windows {
                    try saveCheckpoint()
                }
                if stopRequested { return lastValidation }
            }
            if let validation {
                let report = ValidationReport(epoch: position.epoch + 1,
                                              loss: try model.meanLoss(over: validation, maxWindows: options.maxValidationSteps))
                lastValidation = report
                onValidation(report)
            }
            position.epoch += 1
            position.window = 0
            try saveCheckpoint()
        }
        return lastValidation
    }

    private func saveCheckpoint() throws {
        guard let checkpointDirectory else { return }
        let url = try Checkpoint.save(model: model, vocabulary: vocabulary, options: options, position: position,
                                      optimizer: optimizer, directory: checkpointDirectory)
        lastCheckpoint = url
        onCheckpoint(url)
    }
}

extension LanguageModel {
    /// Mean cross-entropy per token over the first `maxWindows` windows of `stream` (nil: all),
    /// starting from a zero state.
    public func meanLoss(over stream: TokenStream, maxWindows: Int? = nil) throws -> Double {
        try resetState(batch: stream.batch)
        var sum = 0.0, count = 0
        for w in 0..<min(stream.windowCount, maxWindows ?? .max) {
            let (s, n) = try evaluate(stream.window(w))
            sum += s
            count += n
        }
        return sum / Double(max(count, 1))
    }
}
