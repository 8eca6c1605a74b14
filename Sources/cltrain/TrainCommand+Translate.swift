import ArgumentParser
import CLTrain
import Foundation
import Logging

/// `cltrain train --task translate`: the encoder–decoder of Sutskever et al. (2014) on sentence
/// pairs. The model and optimizer flags mean what they mean for the language model; the
/// language model's data, window and placement flags are refused, and the translation flags are
/// refused without --task translate.
extension TrainCommand {
    var translationPreset: TranslationPreset? {
        guard case .translation(let name) = preset else { return nil }
        return TranslationPreset(name)
    }

    /// Flags that only a language model has, named when given with --task translate.
    var languageModelOnlyFlags: [String] {
        var given: [String] = []
        if bpttFlag != nil { given.append("--bptt") }
        if vocab != nil { given.append("--vocab (translation caps each side: --source-vocab, --target-vocab)") }
        if levelFlag != nil { given.append("--level") }
        if dropoutAtFlag != nil { given.append("--dropout-at") }
        if lossReductionFlag != nil { given.append("--loss-reduction (translation's gradient is of the mean over target tokens)") }
        if placement != nil { given.append("--placement (give --layer-devices and --softmax-devices)") }
        if dataParallel { given.append("--data-parallel") }
        if allowRankChange { given.append("--allow-rank-change") }
        if trace != nil { given.append("--trace") }
        if traceSteps != nil { given.append("--trace-steps") }
        if profile { given.append("--profile") }
        if tensorboard != nil { given.append("--tensorboard") }
        if sampleLengthFlag != nil { given.append("--sample-length") }
        return given
    }

    /// The language model's side of `validate()`: no translation flag, whole epochs, an LM preset.
    func refuseTranslationFlags() throws {
        var given = parallel.given
        if sourceVocabFlag != nil { given.append("--source-vocab") }
        if targetVocabFlag != nil { given.append("--target-vocab") }
        if reverseSourceFlag != nil { given.append(reverseSourceFlag == true ? "--reverse-source" : "--no-reverse-source") }
        if !given.isEmpty {
            throw ValidationError("\(given.joined(separator: ", ")): translation flags; add --task translate (this run trains a language model)")
        }
        if let preset, case .translation = preset {
            throw ValidationError("--preset \(preset.name) is a translation recipe: use it with --task translate, not --task language-model")
        }
        if let epochsFlag, Int(exactly: epochsFlag) == nil {
            throw ValidationError("--epochs \(epochsFlag): a language model trains whole epochs (a decimal is for --task translate)")
        }
    }

    func validateTranslation() throws {
        let refused = languageModelOnlyFlags
        if !refused.isEmpty {
            throw ValidationError("\(refused.joined(separator: ", ")): not for --task translate (language-model flags, or not yet built for translation)")
        }
        if let preset, case .languageModel = preset {
            throw ValidationError("--preset \(preset.name) is a language model's recipe; for translation: --preset \(TranslationPreset.Name.sutskever2014Translate.rawValue)")
        }
        if dataFlag == nil && parallel.source == nil && parallel.target == nil {
            throw ValidationError("translation needs data: --data de-en, or --source FILE --target FILE")
        }
        try flagCheck {
            try InputNumber.check(logEvery, "--log-every", in: 1...Int.max)
            try translationOptions.validate()   // first: it names the vocabulary caps by their flags alone
            try translationConfiguration(sourceVocabularySize: sourceVocab ?? 5, targetVocabularySize: targetVocab ?? 5).validate()
        }
        try validatePlacementFlags(batch: translationOptions.batch)
        if let layerDevices {
            // The placement's shape and devices before the checkpoint folder is made (the target
            // vocabulary is known once the data is read: any size above the shards' count stands in).
            _ = try Placement.manual(layerDevices: layerDevices.devices, softmaxDevices: softmaxDevices?.devices,
                                     layers: translationConfiguration(sourceVocabularySize: 5, targetVocabularySize: 5).layers,
                                     vocabularySize: targetVocab ?? Int(Int32.max))
        }
    }

    // Each value: the flag, else the translation preset's, else the flag's default.
    var sourceVocab: Int? { sourceVocabFlag ?? translationPreset?.sourceVocabulary }
    var targetVocab: Int? { targetVocabFlag ?? translationPreset?.targetVocabulary }

    func translationConfiguration(sourceVocabularySize: Int, targetVocabularySize: Int) -> TranslationConfiguration {
        let p = translationPreset
        let hidden = hiddenFlag ?? p?.hidden ?? 512
        return TranslationConfiguration(sourceVocabularySize: sourceVocabularySize, targetVocabularySize: targetVocabularySize,
                                        embeddingSize: embeddingFlag ?? p?.embedding ?? hidden, hiddenSize: hidden,
                                        layers: layersFlag ?? p?.layers ?? 2, dropout: dropoutFlag ?? 0,
                                        reverseSource: reverseSourceFlag ?? true)
    }

    var translationOptions: TranslationOptions {
        let p = translationPreset
        let optimizer = optimizerFlag ?? p?.optimizer ?? .sgd
        return TranslationOptions(
            epochs: epochsFlag ?? p?.epochs ?? 1, batch: batchFlag ?? p?.batch ?? 64, optimizer: optimizer,
            schedule: LearningRateSchedule(initial: lrFlag ?? p?.learningRate ?? optimizer.defaultLearningRate,
                                           halvingStart: lrHalveAfterFlag ?? p?.decayStart, halvingInterval: lrHalveEveryFlag ?? p?.decayInterval ?? 0.5,
                                           decayFactor: lrDecayFlag.flatMap { $0 == 2 ? nil : $0 }),
            clipNorm: clipFlag ?? p?.clip ?? 5, seed: seed, initScale: initScaleFlag ?? p?.initScale ?? 0.08,
            sourceVocabularyCap: sourceVocab, targetVocabularyCap: targetVocab, maxStepsPerEpoch: stepsPerEpoch,
            checkpointEvery: checkpointEvery, maxValidationSteps: validationSteps)
    }

    func trainTranslation() throws {
        let logger = Logger(label: "cltrain.train")
        // One device unless the layers are placed over several.
        let single = layerDevices == nil ? try DeviceChoice.backend(for: device) : nil
        // The files first: a missing or mismatched one is refused before the checkpoint folder is made.
        let corpus = try parallel.corpus(data: dataFlag)
        let folder = try openCheckpointFolder()
        let resumed = try resume ? folder.existing.map(TranslationCheckpoint.describe(modelFile:)) : nil
        let options = translationOptions
        // A resumed run keeps its vocabularies; a fresh one builds them from the training split.
        let dataset = try TranslationDataset.build(corpus, sourceVocabularySize: options.sourceVocabularyCap,
                                                   targetVocabularySize: options.targetVocabularyCap,
                                                   vocabularies: resumed.map { ($0.sourceVocabulary, $0.targetVocabulary) })
        let configuration = translationConfiguration(sourceVocabularySize: dataset.sourceVocabulary.count,
                                                     targetVocabularySize: dataset.targetVocabulary.count)
        let skipped = corpus.skippedBlankPairs > 0 ? " (\(corpus.skippedBlankPairs) with a blank side skipped)" : ""
        logger.info("data \(corpus.name): \(dataset.train.count) training, \(dataset.validation.count) validation, \(dataset.test.count) test pairs\(skipped); vocabularies \(dataset.sourceVocabulary.count) → \(dataset.targetVocabulary.count)")
        if let resumed, let existing = folder.existing {
            // Checked again by the trainer's resume; here it fails before the model is built.
            try resumed.checkResumable(configuration: configuration, options: options, path: existing.path)
        }
        let model: TranslationModel
        if let single {
            model = try TranslationModel(configuration: configuration, backend: single, seed: seed)
        } else {
            // Layer l of both stacks on the l-th --layer-devices entry, the output split over --softmax-devices.
            let placement = try Placement.manual(layerDevices: layerDevices?.devices ?? [], softmaxDevices: softmaxDevices?.devices,
                                                 layers: configuration.layers, vocabularySize: configuration.targetVocabularySize)
            model = try TranslationModel(configuration: configuration, devices: ModelDevices(placement: placement), seed: seed)
        }
        if options.initScale != 0.08 { try model.initializeWeights(seed: seed, range: options.initScale) }   // a resume loads its own
        let deviceLabel = model.devices.backends.map(\.name).joined(separator: ", ")
        logger.info("device: \(deviceLabel)")
        logger.info("model \(configuration), \(model.parameters.reduce(0) { $0 + $1.count }) parameters")
        let presetNote = translationPreset.map { " (preset \($0.name.rawValue): \($0.source))" } ?? ""
        logger.info("training: \(options.summary)\(presetNote)")

        let schedule: ExecutionSchedule = pipeline ? .wavefront(stepsPerRun: stepsPerRun, microBatches: microBatches) : .sequential
        if pipeline { logger.info("schedule: pipelined, \(stepsPerRun) steps a run, \(microBatches) micro-batches") }
        let executor = schedule.makeExecutor(for: model)
        let trainer = try TranslationTrainer(model: model, executor: executor, dataset: dataset, options: options,
                                             checkpointDirectory: folder.directory, dataSource: corpus.name)
        trainer.checkpointLock = folder.lock
        if resume, let existing = folder.existing {
            try trainer.resume(from: existing)
            logger.info("resumed from \(existing.path) at epoch \(trainer.position.epoch + 1), batch \(trainer.position.window), step \(trainer.position.step)")
        }
        let metricsLog = try metrics.map { try MetricsLog(path: $0) }
        let progress = ProgressLine(logger: logger)
        var rate = MovingRate(window: ProgressLine.averagedSteps)
        var lastStep = trainer.position.step
        trainer.onStep = { report in
            rate.record(units: report.tokensPerSecond * report.seconds, seconds: report.seconds)
            lastStep = report.step
            let logged = report.step % logEvery == 0 || report.window == report.windowsPerEpoch || report.step == report.totalSteps
            progress.show(ProgressLine.training(report, tokensPerSecond: rate.rate, unit: "words/s"), log: logged)
            if logged {
                metricsLog?.write(["type": "step", "task": "translate", "epoch": report.epoch, "step": report.step, "loss": report.loss,
                                   "perplexity": report.perplexity, "learning_rate": Double(report.learningRate),
                                   "words_per_second": report.tokensPerSecond, "gradient_norm": report.gradientNorm, "device": deviceLabel])
            }
        }
        trainer.onValidation = { report in
            progress.finishLine()
            logger.info("epoch \(report.epoch): validation loss \(format(report.loss)), perplexity \(format(report.perplexity)) (per target token)")
            metricsLog?.write(["type": "validation", "task": "translate", "epoch": report.epoch, "step": lastStep, "loss": report.loss,
                               "perplexity": report.perplexity, "device": deviceLabel])
        }
        trainer.onCheckpoint = { url in logger.debug("checkpoint written: \(url.path)") }
        do {
            try trainer.run()
        } catch {
            progress.finishLine()
            throw error
        }
        progress.finishLine()
        if let last = trainer.lastCheckpoint { logger.info("checkpoint: \(last.path)") }
        if pipeline { Self.printUtilization(executor.utilization) }
    }
}
