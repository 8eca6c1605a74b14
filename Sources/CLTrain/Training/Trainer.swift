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
    /// The step's host time (`WallClock`, monotonic), from before its update until the device is done.
    public let seconds: Double
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
/// Divergence (a non-finite loss or gradient norm, or a non-finite validation loss) stops training
/// with `TrainingError.diverged` before the bad update is applied and without writing anything.
/// A checkpoint is written only once its weights have given a finite loss and gradient norm (the
/// next step's) or a finite validation loss, so the checkpoint a divergence names — the last one
/// written — is one that evaluates and resumes.
///
/// While `run()` writes checkpoints it holds the folder's `CheckpointLock` (or the one given in
/// `checkpointLock`), so a second trainer on the folder is refused.
public final class Trainer {
    public let model: LanguageModel
    /// What runs each window of `model` (training and validation alike).
    public let executor: Executor
    public let vocabulary: Vocabulary
    public let options: TrainingOptions
    public let optimizer: Optimizer
    public private(set) var position: TrainingPosition
    let train: TokenStream
    let validation: TokenStream?
    let checkpointDirectory: URL?
    /// The training data, as checkpoints record it and a resume checks it.
    public let data: DataIdentity
    /// This run's identity, recorded in its checkpoints (a resumed run takes its predecessor's).
    public private(set) var runIdentity: RunIdentity = .random()
    /// The last checkpoint written (or resumed from): finite weights that gave a finite loss.
    public var lastCheckpoint: URL? { checkpoints.lastCheckpoint }
    /// The lock on `checkpointDirectory`, if the caller took it already (as `cltrain train` does
    /// before it reads anything); else `run()` takes one for its duration.
    public var checkpointLock: CheckpointLock?
    /// Set (e.g. from `onStep`) to stop after the current step, leaving the position where it is.
    public var stopRequested = false

    public var onStep: (StepReport) -> Void = { _ in }
    public var onValidation: (ValidationReport) -> Void = { _ in }
    public var onCheckpoint: (URL) -> Void {
        get { checkpoints.onCheckpoint }
        set { checkpoints.onCheckpoint = newValue }
    }
    /// Called once the traced steps are done (or the run ended before them), with the recorder.
    public var onTraceComplete: (TraceRecorder) -> Void = { _ in }

    /// Where `traceSteps(_:into:)` records, and how many steps.
    private var traceRequest: (recorder: TraceRecorder, steps: Int)?
    /// The step numbers (1-based, counting updates) the recorder records, fixed when `run()` starts.
    public private(set) var tracedSteps: Range<Int> = 0..<0

    /// With data parallelism: resume a checkpoint written by another number of ranks
    /// (`--allow-rank-change`); the global batch and data position stay, each rank takes its share.
    public var allowsRankChange = false
    /// What `resume` had to say beyond the position (a change of ranks), for the log.
    public private(set) var resumeNote: String?

    /// The data-parallel wrapper, when `executor` is one: rank 0 alone writes checkpoints, every
    /// rank takes part in gathering the carried state they hold.
    private let dataParallel: DataParallelExecutor?
    /// Whether this process writes the checkpoints (rank 0, or the only process).
    public var writesCheckpoints: Bool { (dataParallel?.collective.rank ?? 0) == 0 }

    private var resumedStateFile: String?
    /// Checkpoints encoded, judged by the next loss, written (the same on every rank: a rank
    /// that writes nothing still scores the last weights with the others, a collective).
    private let checkpoints = JudgedCheckpoints()

    /// - Parameters:
    ///   - executor: what runs the windows (nil: a `SequentialExecutor`); its model is `model`.
    ///   - dataSource: how the data was named (`--data`), recorded in checkpoints.
    public init(model: LanguageModel, executor: Executor? = nil, vocabulary: Vocabulary, options: TrainingOptions,
                train: TokenStream, validation: TokenStream?, checkpointDirectory: URL?,
                dataSource: String = "unnamed data") throws {
        try options.validate()
        if let executor, executor.model !== model {
            throw CLTrainError.invalidArgument("the trainer's executor runs another model")
        }
        self.model = model
        self.executor = executor ?? SequentialExecutor(model: model)
        dataParallel = executor as? DataParallelExecutor
        if let dataParallel { _ = try dataParallel.shard(ofBatch: options.batch) }   // B divisible by N
        self.vocabulary = vocabulary
        self.options = options
        self.train = train
        self.validation = validation
        self.checkpointDirectory = checkpointDirectory
        data = DataIdentity(source: dataSource, train: train, vocabularySize: vocabulary.count)
        optimizer = try makeOptimizer(options.optimizer, parameters: model.parameters)
        position = TrainingPosition()
    }

    public var windowsPerEpoch: Int { min(train.windowCount, options.maxStepsPerEpoch ?? .max) }

    /// Records `count` training steps into `recorder`: the executor's tasks and transfers, each
    /// step whole and its optimizer update, on the tracks `ExecutionTrace` names. The
    /// steps are the ones after the first this run makes (whose buffers and kernels are still
    /// being made), or the first where the run has only one; validation is never recorded.
    /// `onTraceComplete` gets the recorder when they are done.
    public func traceSteps(_ count: Int, into recorder: TraceRecorder) throws {
        guard count > 0 else { throw CLTrainError.invalidArgument("traced steps must be at least 1, got \(count)") }
        recorder.isRecording = false
        try executor.trace(into: recorder)
        traceRequest = (recorder, count)
    }

    /// The data-parallel ranks (1 without data parallelism).
    public var ranks: Int { dataParallel?.collective.size ?? 1 }

    /// Continues from a checkpoint written by an earlier run of the same model, options and data
    /// (only the number of epochs may differ); anything else is refused, naming each difference,
    /// before the model is changed.
    public func resume(from checkpoint: URL) throws {
        let resumed = try Checkpoint.loadTrainingState(
            modelFile: checkpoint, into: model, optimizer: optimizer, options: options,
            resuming: ResumingRun(data: data, vocabulary: vocabulary, windowsPerEpoch: windowsPerEpoch,
                                  ranks: ranks, allowsRankChange: allowsRankChange,
                                  carriedSequences: try dataParallel?.shard(ofBatch: options.batch).sequences))
        if resumed.ranks != ranks {
            resumeNote = "the checkpoint was trained on \(resumed.ranks) data-parallel rank\(resumed.ranks == 1 ? "" : "s"), this run has \(ranks) (--allow-rank-change): the global batch of \(options.batch) and the data position (epoch \(resumed.position.epoch + 1), window \(resumed.position.window)) stay, and each rank takes \(options.batch / ranks) sequences of the carried state"
        }
        position = resumed.position
        runIdentity = resumed.run
        resumedStateFile = resumed.stateFile
        checkpoints.lastCheckpoint = checkpoint
    }

    /// Trains until `options.epochs` are done. Returns the last validation report, if any.
    @discardableResult
    public func run() throws -> ValidationReport? {
        let ownLock = checkpointLock == nil && writesCheckpoints
            ? try checkpointDirectory.map { try Checkpoint.prepareDirectory($0) } : nil
        defer { ownLock?.release() }
        if let checkpointDirectory, checkpoints.writer == nil, writesCheckpoints {
            checkpoints.writer = try CheckpointWriter(directory: checkpointDirectory, run: runIdentity, data: data, resumedStateFile: resumedStateFile)
        }
        let windows = windowsPerEpoch
        // Checked: the epochs come from a flag or a state file, and Int.max of them must not trap.
        let totalSteps = try Checked.product(windows, options.epochs, what: "the run's total steps (windows per epoch × --epochs)")
        let tokensPerWindow = Double(options.batch) * Double(options.bptt)
        var lastValidation: ValidationReport?
        var timedSteps = 0, timedSeconds = 0.0
        if let traceRequest {
            let first = position.step + (totalSteps - position.step >= 2 ? 2 : 1)
            tracedSteps = first..<(first + min(traceRequest.steps, max(totalSteps - first + 1, 0)))
        }
        var traceDelivered = false
        /// Hands the recorder on once its steps are over (also when the run stops before them).
        func deliverTrace(force: Bool) {
            guard let traceRequest, !traceDelivered, force || position.step >= tracedSteps.upperBound - 1 else { return }
            traceRequest.recorder.isRecording = false
            traceDelivered = true
            // Detached, so that the rest of the run does not even ask the recorder (what it holds stays).
            try? executor.trace(into: nil)
            onTraceComplete(traceRequest.recorder)
        }
        defer { deliverTrace(force: true) }

        while position.epoch < options.epochs {
            if position.window == 0 {
                try model.resetState(batch: try dataParallel?.shard(ofBatch: options.batch).localBatch ?? options.batch)
            }
            while position.window < windows {
                let start = WallClock.now
                let traced = traceRequest != nil && tracedSteps.contains(position.step + 1)
                traceRequest?.recorder.isRecording = traced
                // The trace's 0 µs: the first traced step's start.
                if traced && position.step + 1 == tracedSteps.lowerBound { traceRequest?.recorder.origin = start }
                let lr = options.schedule.rate(atEpoch: Double(position.epoch) + Double(position.window) / Double(windows))
                try model.zeroGradients()
                let loss: Double, lossScale: Float
                do {
                    let window = try train.window(position.window)
                    lossScale = (options.lossReduction ?? .tokenMean).gradientFactor(targets: window.targets.count, batch: window.batch)
                    loss = try executor.trainingStep(window)
                } catch {
                    // A device failed mid-step: no loss judges the pending checkpoint, but its
                    // weights are finite and came from an update that had a finite loss and norm;
                    // keep it rather than lose the steps since the last one.
                    try? checkpoints.commit()
                    throw error
                }
                // The pending checkpoint's weights give a finite loss and gradient norm, or the run diverged.
                let norm = try checkpoints.judgeStep(loss: loss, parameters: model.parameters, maxNorm: options.clipNorm,
                                                     lossScale: lossScale, epoch: position.epoch + 1, step: position.step + 1)
                let updateStart = WallClock.now
                try optimizer.step(model.parameters, learningRate: lr)
                position.window += 1
                position.step = try Checked.increment(position.step, what: "the training step count")

                try model.synchronize()
                let end = WallClock.now
                let seconds = Double(end - start) * 1e-9
                if traced, let recorder = traceRequest?.recorder {
                    recorder.record("optimizer update", category: TraceCategory.step, on: ExecutionTrace.main, from: updateStart, to: end)
                    recorder.record("step \(position.step)", category: TraceCategory.step,
                                    on: ExecutionTrace.steps, from: start, to: end,
                                    arguments: ["loss": .number(loss), "learning rate": .number(Double(lr))])
                    recorder.isRecording = false
                    deliverTrace(force: false)
                }
                timedSteps += 1
                timedSeconds += seconds
                let mean = timedSeconds / Double(timedSteps)
                onStep(StepReport(epoch: position.epoch + 1, window: position.window, windowsPerEpoch: windows,
                                  step: position.step, totalSteps: totalSteps, loss: loss, gradientNorm: norm,
                                  learningRate: lr, tokensPerSecond: tokensPerWindow / seconds, seconds: seconds,
                                  secondsRemaining: mean * max(Double(totalSteps) - Double(position.step), 0)))
                if let every = options.checkpointEvery, position.step % every == 0, position.window < windows {
                    try encodeCheckpoint()
                }
                if stopRequested { return lastValidation }
            }
            var validated = false
            if let validation {
                let report = ValidationReport(epoch: position.epoch + 1,
                                              loss: try executor.meanLoss(over: validation, maxWindows: options.maxValidationSteps))
                lastValidation = report
                onValidation(report)
                guard report.loss.isFinite else { throw diverged(step: position.step, loss: report.loss) }
                validated = true
            }
            position.epoch += 1
            position.window = 0
            try encodeCheckpoint()
            if validated { try checkpoints.commit() }
        }
        // Without a validation split the last checkpoint's weights have given no loss yet: score
        // one training window (the carried state is reset at an epoch's start anyway).
        if checkpoints.unjudged {
            let loss = try executor.meanLoss(over: train, maxWindows: 1)
            guard loss.isFinite else { throw diverged(step: position.step, loss: loss) }
            try checkpoints.commit()
        }
        return lastValidation
    }

    /// Divergence at `step`: nothing pending is written; the last checkpoint written stays.
    private func diverged(step: Int, loss: Double) -> TrainingError {
        checkpoints.diverged(epoch: position.epoch + 1, step: step, loss: loss)
    }

    private func encodeCheckpoint() throws {
        guard checkpointDirectory != nil else { return }
        // Every rank's share of the carried state, gathered on every rank (a collective: all take part).
        let carried = try position.window > 0 ? dataParallel?.gatherCarriedState(globalBatch: options.batch) : nil
        do {
            try checkpoints.hold { writer in
                try writer.encode(model: model, vocabulary: vocabulary, options: options, position: position, optimizer: optimizer,
                                  carriedState: carried, ranks: dataParallel.map { $0.collective.size })
            }
        } catch is TrainingError {
            // The last update made a weight infinite or NaN: every loss from here on is NaN.
            throw diverged(step: position.step, loss: .nan)
        }
    }
}
