import ArgumentParser
import CLTrain
import CLTrainCommandLine
import CLTrainMPI
import Foundation
import Logging

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an LSTM language model (embedding → L × LSTM → linear → softmax) by truncated BPTT, or (--task translate) an encoder–decoder.",
        discussion: """
            Data: 'shakespeare' (installed by scripts/fetch-shakespeare.sh), 'ptb' (scripts/fetch-ptb.sh), a UTF-8 text file or a folder of them
            (split by document: of every ten, the fifth validates and the tenth tests), or 'synthetic' with --vocab N.
            Checkpoints (safetensors, PyTorch state_dict names) go to --checkpoint DIR at the end of every epoch.
            --task translate trains Sutskever et al.'s encoder–decoder on sentence pairs: --data de-en [--direction de-en|en-de],
            --source FILE --target FILE (split 90/5/5 by a fixed hash), or those with --validation-source/--validation-target/
            --test-source/--test-target; --source-vocab/--target-vocab cap the vocabularies; sources are reversed unless
            --no-reverse-source; --epochs may be a decimal (7.5 trains half of the eighth epoch).
            """
    )

    @OptionGroup var logging: LoggingOptions

    @Option(help: "language-model (the default) or translate (an encoder–decoder on sentence pairs; the default with a translation --preset).")
    var task: TrainingTask?
    @Option(name: .customLong("data"), help: "shakespeare (the default), ptb (the Penn Treebank, installed by scripts/fetch-ptb.sh), a text file or folder, or synthetic; with --task translate: de-en.")
    var dataFlag: String?
    var data: String { dataFlag ?? "shakespeare" }
    @OptionGroup var parallel: ParallelDataOptions
    @Option(name: .customLong("source-vocab"), parsing: .unconditional, help: "Translation: cap the source vocabulary at N tokens, the four specials included (default: every training token).")
    var sourceVocabFlag: Int?
    @Option(name: .customLong("target-vocab"), parsing: .unconditional, help: "Translation: cap the target vocabulary at N tokens, the four specials included (default: every training token).")
    var targetVocabFlag: Int?
    @Flag(name: .customLong("reverse-source"), inversion: .prefixedNo, help: "Translation: feed each source sentence last word first (the default, as in the paper).")
    var reverseSourceFlag: Bool?
    @Option(name: .customLong("level"), help: "Tokens: char, word, or whitespace (words as the text separates them; default: whitespace for ptb, else char).")
    var levelFlag: TokenLevel?
    var level: TokenLevel { levelFlag ?? (data == PennTreebank.name ? PennTreebank.level : .char) }
    @Option(parsing: .unconditional, help: "Vocabulary size: the number of tokens for synthetic data; a cap for word-level text (the rarest words become <unk>).")
    var vocab: Int?
    // The flags a preset fills are optional: a value given overrides the preset's (TrainCommand+Preset.swift).
    @Option(help: "Every hyper-parameter of a paper's run; a flag given explicitly overrides its value.")
    var preset: PresetChoice?
    @Option(name: .customLong("layers"), parsing: .unconditional, help: "Stacked LSTM layers (default 2).") var layersFlag: Int?
    @Option(name: .customLong("hidden"), parsing: .unconditional, help: "Units per LSTM layer (default 512).") var hiddenFlag: Int?
    @Option(name: .customLong("embedding"), parsing: .unconditional, help: "Embedding width (default: --hidden).") var embeddingFlag: Int?
    @Option(name: .customLong("init-scale"), parsing: .unconditional, help: "Initial weights uniform in ±this (default 0.08).") var initScaleFlag: Float?
    @Option(name: .customLong("dropout"), parsing: .unconditional, help: "Dropout probability (default 0), at --dropout-at.") var dropoutFlag: Float?
    @Option(name: .customLong("dropout-at"), help: "Where dropout applies, a list of embedding (its output), between (layers; the default), output (before the decoder); Zaremba et al.: embedding,between,output.",
            transform: DropoutSite.parseList)
    var dropoutAtFlag: [DropoutSite]?
    @Option(name: .customLong("bptt"), parsing: .unconditional, help: "Steps of truncated backpropagation through time (default 35).") var bpttFlag: Int?
    @Option(name: .customLong("batch"), parsing: .unconditional, help: "Sequences per batch (default 64).") var batchFlag: Int?
    @Option(name: .customLong("epochs"), parsing: .unconditional, help: "Passes over the training split (default 1; a decimal for translation).") var epochsFlag: Double?
    @Option(parsing: .unconditional, help: "At most this many steps per epoch (for short runs; default: the whole split).") var stepsPerEpoch: Int?
    @Option(name: .customLong("optimizer"), help: "sgd (Sutskever et al. 2014; the default) or adam.") var optimizerFlag: OptimizerKind?
    @Option(name: .customLong("lr"), parsing: .unconditional, help: "Learning rate (default: 0.7 for sgd, 0.001 for adam).") var lrFlag: Float?
    @Option(name: .customLong("lr-halve-after"), parsing: .unconditional, help: "Decay the learning rate once this many epochs are done (default: never).") var lrHalveAfterFlag: Double?
    @Option(name: .customLong("lr-halve-every"), parsing: .unconditional, help: "…and again every this many epochs (default 0.5).") var lrHalveEveryFlag: Double?
    @Option(name: .customLong("lr-decay"), parsing: .unconditional, help: "What each decay divides the learning rate by (default 2: halving).") var lrDecayFlag: Double?
    @Option(name: .customLong("clip"), parsing: .unconditional, help: "Clip the global gradient norm at this value (0: off; default 5).") var clipFlag: Float?
    @Option(name: .customLong("loss-reduction"), help: "What the gradient is of: token-mean (the mean over the window's B·T tokens; the default) or sequence-sum (summed over the T steps, averaged over the B sequences, as Zaremba et al.'s and Sutskever et al.'s code; T times larger). Perplexity is per token either way.")
    var lossReductionFlag: LossReduction?
    @Option(parsing: .unconditional, help: "Seed for weights, dropout and sampling.") var seed: UInt64 = 1
    @Option(help: "Device: auto (CLTRAIN_DEVICES's first GPU, else its first entry; unset: a GPU if there is one, else the CPU backend), cpu, or an index from `cltrain devices`.",
            transform: DeviceRequest.parse)
    var device: DeviceRequest = .auto
    @Option(help: "One device per LSTM layer (the embedding goes with the first), e.g. 0,1,2,3; a device may repeat (each layer gets a queue of its own). Overrides --device.",
            transform: QueueDeviceList.parse)
    var layerDevices: QueueDeviceList?
    @Option(help: "Devices for the output projection + softmax, split by vocabulary rows, e.g. 4,5,6,7 (default: the last layer's device).",
            transform: QueueDeviceList.parse)
    var softmaxDevices: QueueDeviceList?
    @Option(help: "auto: place the layers and softmax shards over the selected devices (--device LIST or CLTRAIN_DEVICES) by their calibrated costs, as `cltrain plan --placement auto` does.")
    var placement: PlacementMode?
    enum PlacementMode: String, ExpressibleByArgument { case auto }
    @Flag(help: "Pipeline the layers and softmax shards across their devices (a host worker per layer and per further softmax device; the 2014 wavefront).")
    var pipeline = false
    @Option(parsing: .unconditional, help: "With --pipeline: time steps a layer hands on at once.") var stepsPerRun: Int = 1
    @Option(parsing: .unconditional, help: "With --pipeline: split each batch into M micro-batches of --batch / M sequences whose runs interleave in the pipeline (GPipe); M must divide --batch. The same M as `cltrain plan --micro-batches`.")
    var microBatches: Int = 1
    @Option(help: "Folder for checkpoints.") var checkpoint: String?
    @Option(parsing: .unconditional, help: "Also checkpoint every N steps.") var checkpointEvery: Int?
    @Flag(help: "Continue the run saved in --checkpoint.") var resume = false
    @Option(help: "Append one JSON object per logged step and per validation to FILE.") var metrics: String?
    @Option(help: ArgumentHelp("Write the logged steps' and validations' scalars to a new TensorBoard event file in DIR (`tensorboard --logdir DIR`).", valueName: "DIR"))
    var tensorboard: String?
    @Option(help: ArgumentHelp("Write a window of training steps' schedule to FILE as a Chrome trace (Perfetto's UI, chrome://tracing): a track per host worker and device queue, an event per task, transfer and kernel. With --data-parallel, rank 0 traces its own share.", valueName: "FILE"))
    var trace: String?
    @Option(parsing: .unconditional, help: "With --trace: how many steps to trace, from the second step of the run (default 3).")
    var traceSteps: Int?
    @Option(parsing: .unconditional, help: "Log a line every N steps (when stderr is not a terminal).") var logEvery: Int = 50
    @Option(name: .customLong("sample-length"), parsing: .unconditional, help: "Characters or words to generate at the end (default 300).") var sampleLengthFlag: Int?
    var sampleLength: Int { sampleLengthFlag ?? 300 }
    @Option(parsing: .unconditional, help: "Score at most this many validation windows per epoch (default: the whole split).") var validationSteps: Int?
    @Flag(help: "Time every backend operation (synchronizing after each) and print where the time went.")
    var profile = false
    @Flag(help: "Data parallelism under `mpirun -np N` (N ≥ 2): each rank trains --batch / N sequences of every batch on its own devices; gradients are summed over the ranks. Rank 0 prints and checkpoints.")
    var dataParallel = false
    @Flag(help: "With --resume: go on from a checkpoint trained on another number of data-parallel ranks (one process counts as one; the same global batch, each rank taking its share).")
    var allowRankChange = false
    @Option(parsing: .unconditional, help: "With --data-parallel: stop the job when no window finishes on a rank for this many seconds (a hung rank; 0: never).")
    var hangTimeout: Double = 900

    func validate() throws {
        if resume && checkpoint == nil { throw ValidationError("--resume needs --checkpoint DIR") }
        if resolvedTask == .translate { return try validateTranslation() }
        try refuseTranslationFlags()
        if allowRankChange && !resume { throw ValidationError("--allow-rank-change is about resuming: add --resume --checkpoint DIR") }
        if data == "synthetic" && vocab == nil { throw ValidationError("--data synthetic needs --vocab N") }
        try flagCheck {
            try InputNumber.check(logEvery, "--log-every", in: 1...Int.max)
            if let traceSteps { try InputNumber.check(traceSteps, "--trace-steps", in: 1...Self.maxTraceSteps, why: "steps in the trace; a few keep the file small") }
            try InputNumber.check(hangTimeout, "--hang-timeout", in: .closed(0, 1e7), why: "seconds without a finished window; 0 turns it off")
            if let validationSteps { try InputNumber.check(validationSteps, "--validation-steps", in: 1...Int.max) }
            try InputNumber.check(sampleLength, "--sample-length", in: 0...Sampler.maxLength, why: Sampler.maxLengthReason)
            if let vocab {
                try InputNumber.check(vocab, "--vocab", in: 2...Int(Int32.max), why: "<unk> and at least one token; token ids are 32-bit")
            }
            // The sizes and rates themselves (the library names each by its flag); the vocabulary
            // of text is known only once the data is read, so its smallest size stands in here.
            try configuration(vocabularySize: vocab ?? 2).validate()
            try options.validate()
        }
        try validatePlacementFlags(batch: batch)
        if pipeline && dropout > 0 && (dropoutSites ?? []).contains(.output) {
            throw ValidationError("--dropout-at output is not pipelined yet: leave out --pipeline, or the output site")
        }
        if pipeline && profile { throw ValidationError("--profile times operations one by one; it cannot be combined with --pipeline") }
        if traceSteps != nil && trace == nil { throw ValidationError("--trace-steps says how many steps --trace FILE records: add --trace") }
        if profile && trace != nil {
            throw ValidationError("--profile synchronizes after every operation, which would change the schedule --trace records: use one of them")
        }
        if profile && (layerDevices != nil || placement != nil) {
            throw ValidationError("--profile times one device's operations; it cannot be combined with a placement over several")
        }
    }

    /// The placement and pipeline flags, checked alike for both tasks (a translation model takes
    /// no --placement auto: `validateTranslation` refuses it first).
    func validatePlacementFlags(batch: Int) throws {
        try flagCheck {
            try InputNumber.check(stepsPerRun, "--steps-per-run", in: 1...Int.max)
            try InputNumber.check(microBatches, "--micro-batches", in: 1...Int.max)
        }
        if microBatches != 1 && !pipeline { throw ValidationError("--micro-batches interleaves micro-batches in the pipeline: add --pipeline") }
        do { try checkMicroBatches(microBatches, batch: batch) } catch { throw ValidationError("\(error)") }
        if softmaxDevices != nil && layerDevices == nil { throw ValidationError("--softmax-devices needs --layer-devices") }
        if placement == .auto && layerDevices != nil { throw ValidationError("--placement auto and --layer-devices exclude each other") }
        if pipeline && layerDevices == nil && placement == nil {
            let auto = resolvedTask == .translate ? "" : " or --placement auto"
            throw ValidationError("--pipeline spreads the layers over devices: add --layer-devices LIST\(auto)")
        }
    }

    /// The most steps `--trace-steps` takes: a trace holds an event per kernel (thousands a step for a
    /// large model), each kept with its OpenCL event until the file is written.
    static let maxTraceSteps = 100

    func configuration(vocabularySize: Int) -> ModelConfiguration {
        ModelConfiguration(vocabularySize: vocabularySize, embeddingSize: embedding ?? hidden, hiddenSize: hidden,
                           layers: layers, dropout: dropout, dropoutSites: dropoutSites)
    }

    var options: TrainingOptions {
        TrainingOptions(
            epochs: epochs, batch: batch, bptt: bptt, optimizer: optimizer,
            schedule: LearningRateSchedule(initial: lr ?? optimizer.defaultLearningRate, halvingStart: lrHalveAfter,
                                           halvingInterval: lrHalveEvery, decayFactor: lrDecay),
            clipNorm: clip, seed: seed, maxStepsPerEpoch: stepsPerEpoch, checkpointEvery: checkpointEvery,
            maxValidationSteps: validationSteps, lossReduction: lossReduction, initScale: initScale)
    }

    /// Refuses a model and window that `memory` cannot hold, naming the flags that set their size.
    func requireMemory(_ configuration: ModelConfiguration, part: ModelPart? = nil, on memory: DeviceMemory) throws {
        let estimate = MemoryEstimate.training(configuration, optimizer: optimizer, batch: batch, bptt: bptt, part: part)
        try memory.require(estimate, for: "--layers \(layers) --hidden \(hidden) --embedding \(embedding ?? hidden) "
                           + "(vocabulary \(configuration.vocabularySize)), --batch \(batch) --bptt \(bptt) --optimizer \(optimizer.rawValue): training"
                           + (part.map { " its part on one device (\($0.firstLayer ? "layer 0 with the embedding, " : "")layers above 0: \($0.upperLayers), softmax rows: \($0.softmaxRows))" } ?? ""))
    }

    func run() throws {
        if resolvedTask == .translate { return try trainTranslation() }
        guard dataParallel else { return try train(replicas: nil) }
        try DataParallelRun.main(batch: batch) { replicas in try train(replicas: replicas) }
    }

    /// Trains, as one process or (`replicas`) as one rank of a data-parallel job.
    func train(replicas: DataParallelRun?) throws {
        let logger = Logger(label: "cltrain.train")
        // A trace that could not be written at the end is refused before anything runs.
        if let trace { try TraceRecorder.checkWritable(trace) }
        let leads = replicas?.leads ?? true   // prints, logs metrics, writes checkpoints
        let placed = layerDevices != nil || placement == .auto
        // One device unless the model is placed over several (then --device lists the candidates).
        let device = placed ? nil : try DeviceChoice.backend(for: self.device)
        let profiler = profile ? device.map(ProfilingBackend.init) : nil
        let (checkpointDirectory, lock, existing) = try openCheckpointFolder(locking: leads)
        // Data and vocabulary (a resumed run keeps the vocabulary it was trained with).
        let resumed = try resume ? existing.map(Checkpoint.describe(modelFile:)) : nil
        // The model and one window must fit before the data is read (text's vocabulary is at least
        // 2; synthetic's is --vocab), and again with the vocabulary the data gives.
        let memory = device.map(DeviceMemory.of)
        if let memory { try requireMemory(configuration(vocabularySize: vocab ?? 2), on: memory) }
        let dataset = try Dataset.load(data, level: level, vocabularySize: vocab, vocabulary: resumed?.vocabulary,
                                       batch: batch, bptt: bptt, syntheticWindows: stepsPerEpoch ?? 100, seed: seed)
        let configuration = configuration(vocabularySize: dataset.vocabulary.count)
        if let memory { try requireMemory(configuration, on: memory) }
        let options = self.options
        // Checked again by Trainer.resume; here it fails before the model is built.
        if let resumed {
            try resumed.checkResumable(configuration: configuration, options: options, path: existing?.path ?? "")
            try resumed.checkData(DataIdentity(source: dataset.source, train: dataset.train, vocabularySize: dataset.vocabulary.count),
                                  path: existing?.path ?? "")
        }

        logger.info("data \(dataset.source): \(dataset.trainTokens) training tokens, vocabulary \(dataset.vocabulary.count) (\(dataset.vocabulary.level.rawValue)-level)")
        let model: LanguageModel
        if placed {
            let chosen = try DeviceChoice.placement(auto: placement == .auto, layers: layerDevices?.devices, softmax: softmaxDevices?.devices,
                                                    devices: self.device, configuration: configuration, batch: batch, bptt: bptt)
            for reason in chosen.reasons { logger.info("placement: \(reason)") }
            // Each device's part of the model and window, before any is allocated (a device
            // listed twice holds both parts).
            for device in Set(chosen.layers + chosen.softmaxShards.map(\.device)).sorted(by: { $0.description < $1.description }) {
                try requireMemory(configuration, part: ModelPart(of: chosen, on: device), on: DeviceMemory.of(device))
            }
            model = try LanguageModel(configuration: configuration, devices: ModelDevices(placement: chosen), seed: seed)
        } else {
            let backend: Backend = profiler ?? device ?? CPUBackend()
            model = try LanguageModel(configuration: configuration, backend: backend, seed: seed)
            logger.info("device: \(backend.name)")
        }
        if let initScale = options.initScale { try model.initializeWeights(seed: seed, range: initScale) }   // a resume loads its own
        logger.info("model \(configuration), \(configuration.parameterCount) parameters")
        let presetNote = presetValues.map { " (preset \($0.name.rawValue): \($0.source))" } ?? ""
        logger.info("training: \(options.summary)\(presetNote)")
        let deviceLabel = model.devices.backends.map(\.name).joined(separator: ", ")
        let schedule: ExecutionSchedule = pipeline ? .wavefront(stepsPerRun: stepsPerRun, microBatches: microBatches) : .sequential
        let inner = schedule.makeExecutor(for: model)
        let replicated = try replicas.map { try DataParallelExecutor(inner: inner, collective: MPICollective(world: $0.world)) }
        let executor: Executor = replicated ?? inner
        let watchdog = replicas.map { DataParallelRun.Watchdog(timeout: hangTimeout, rank: $0.world.rank, size: $0.world.size) }
        defer { watchdog?.stop() }
        if let replicas, let replicated, let watchdog {
            // Before any other collective: the same model, options and data on every rank.
            try replicas.requireAgreement(configuration: configuration, options: options, data: dataset, resume: resume,
                                          collective: replicated.collective)
            var windows = 0
            replicated.onWindowDone = {
                windows += 1
                watchdog.beat("window \(windows) of this run")
            }
            logger.info("data parallel: \(replicas.world.size) ranks, \(batch / replicas.world.size) of the \(batch) sequences of each batch per rank; this rank's devices: \(deviceLabel)")
            let memory = replicated.bucketMemory, pinned = memory.filter { $0 == .pinned }.count
            logger.info("allreduce: \(memory.count) gradient bucket\(memory.count == 1 ? "" : "s"), \(pinned) staged in pinned host memory (mapped OpenCL buffers), \(memory.count - pinned) in pageable memory")
        }
        let trainer = try Trainer(model: model, executor: executor, vocabulary: dataset.vocabulary, options: options,
                                  train: dataset.train, validation: dataset.validation,
                                  checkpointDirectory: checkpointDirectory, dataSource: dataset.source)
        trainer.checkpointLock = lock
        trainer.allowsRankChange = allowRankChange
        if resume, let existing {
            try trainer.resume(from: existing)
            logger.info("resumed from \(existing.path) at epoch \(trainer.position.epoch + 1), step \(trainer.position.step)")
            if let note = trainer.resumeNote { logger.notice("\(note)") }
        }
        // Every replica starts from rank 0's weights (each drew or read the same, but it is rank 0's that count).
        try replicated?.broadcastWeights()

        let metricsLog = leads ? try metrics.map { try MetricsLog(path: $0) } : nil
        let tensorboardLog = leads ? try tensorboard.map { try TensorBoardLog(directory: $0) } : nil
        if let tensorboardLog { logger.info("TensorBoard events: \(tensorboardLog.path)") }
        // The step a validation follows (its records carry it, as the steps' do).
        var lastStep = trainer.position.step
        let progress = ProgressLine(logger: logger)
        let tokensPerStep = Double(batch) * Double(bptt)
        var rate = MovingRate(window: ProgressLine.averagedSteps)
        var allreduce = AllreduceAverage()
        trainer.onStep = { report in
            rate.record(units: tokensPerStep, seconds: report.seconds)
            if let replicated { allreduce.record(replicated.lastAllreduce, stepSeconds: report.seconds) }
            lastStep = report.step
            guard leads else { return }
            let logged = report.step % logEvery == 0 || report.window == report.windowsPerEpoch
            let line = ProgressLine.training(report, tokensPerSecond: rate.rate)
            progress.show(line + (replicated == nil ? "" : " " + allreduce.summary), log: logged)
            if logged {
                var record: [String: Any] = ["type": "step", "epoch": report.epoch, "step": report.step, "loss": report.loss,
                                             "learning_rate": Double(report.learningRate), "tokens_per_second": report.tokensPerSecond,
                                             "gradient_norm": report.gradientNorm, "device": deviceLabel]
                if let replicated {
                    record["ranks"] = replicated.collective.size
                    record["allreduce_wait_seconds"] = replicated.lastAllreduce.waitSeconds
                    record["allreduce_overlap"] = replicated.lastAllreduce.overlapFraction
                }
                metricsLog?.write(record)
                allreduce = AllreduceAverage()
                tensorboardLog?.step(report)
            }
        }
        trainer.onValidation = { report in
            guard leads else { return }
            progress.finishLine()
            logger.info("epoch \(report.epoch): validation loss \(format(report.loss)), perplexity \(format(report.perplexity))")
            metricsLog?.write(["type": "validation", "epoch": report.epoch, "step": lastStep, "loss": report.loss,
                               "perplexity": report.perplexity, "device": deviceLabel])
            tensorboardLog?.validation(report, step: lastStep)
        }
        trainer.onCheckpoint = { url in logger.debug("checkpoint written: \(url.path)") }
        var traceError: Error?
        if let trace, leads {   // with data parallelism, rank 0 traces its own work
            let recorder = TraceRecorder(recording: false)
            recorder.note("command", CommandLine.arguments.joined(separator: " "))
            try trainer.traceSteps(traceSteps ?? 3, into: recorder)
            trainer.onTraceComplete = { recorder in
                progress.finishLine()
                do {
                    try recorder.write(to: URL(fileURLWithPath: trace))
                    logger.info("trace of steps \(trainer.tracedSteps.lowerBound)..<\(trainer.tracedSteps.upperBound): \(trace)")
                } catch {
                    traceError = error
                    logger.error("--trace: \(error)")
                }
            }
        }

        do {
            try trainer.run()
        } catch {
            progress.finishLine()
            throw error
        }
        watchdog?.stop()   // training's collectives are over: the sample may take its time
        progress.finishLine()
        if let traceError { throw CLTrainError.invalidArgument("--trace: the trace was not written: \(traceError)") }
        guard leads else { return }
        if let last = trainer.lastCheckpoint { logger.info("checkpoint: \(last.path)") }
        if let profiler { Self.printProfile(profiler.profile) }
        if pipeline { Self.printUtilization(executor.utilization) }
        if sampleLength > 0 {
            print("--- sample (temperature 0.8) ---")
            try Sampler(model: model, vocabulary: dataset.vocabulary)
                .generate(prompt: "", length: sampleLength, temperature: 0.8, seed: seed, emit: writeStandardOutput)
            print()
        }
    }

    /// The --checkpoint folder, locked (when `locking`: one writer per folder, taken before
    /// anything in it is read, held until the run ends), and its model file: refused if there is
    /// one and no --resume, or none and --resume.
    func openCheckpointFolder(locking: Bool = true) throws -> (directory: URL?, lock: CheckpointLock?, existing: URL?) {
        let checkpointDirectory = checkpoint.map { URL(fileURLWithPath: $0) }
        let lock = locking ? try checkpointDirectory.map { try Checkpoint.prepareDirectory($0) } : nil
        let existing = checkpointDirectory.map { $0.appendingPathComponent(Checkpoint.modelFileName) }
        let hasExisting = existing.map { FileManager.default.fileExists(atPath: $0.path) } ?? false
        if hasExisting && !resume, let existing {
            throw CLTrainError.invalidArgument(
                "'\(existing.path)' already exists; pass --resume to continue that run, or choose another --checkpoint folder")
        }
        if resume && !hasExisting, let existing {
            throw CLTrainError.invalidArgument("--resume: no checkpoint at '\(existing.path)'")
        }
        return (checkpointDirectory, lock, existing)
    }

    static func printProfile(_ profile: OperationProfile) {
        let rows = profile.ranked.map { [$0.operation, String(format: "%.3f", $0.seconds), String(format: "%.1f%%", 100 * $0.share), String($0.calls)] }
        print("--- where the time went (each operation synchronized) ---")
        print(TextTable(headers: ["operation", "seconds", "share", "calls"], rows: rows).rendered())
    }

    static func printUtilization(_ utilization: PipelineUtilization) {
        let rows = utilization.busyFractions.sorted { $0.key < $1.key }.map { [$0.key, String(format: "%.1f%%", 100 * $0.value)] }
        print("--- pipeline: busy time over wall time of the pipelined phases (forward with the softmax shards, backward) ---")
        print(TextTable(headers: ["worker", "busy"], rows: rows).rendered())
        print(String(format: "bubble fraction: %.1f%%", 100 * utilization.bubbleFraction))
    }
}

func format(_ value: Double) -> String { String(format: "%.3f", value) }

/// Runs `body`, turning a number out of range into ArgumentParser's validation error (a usage
/// error, exit 64, like an unparsable value).
func flagCheck(_ body: () throws -> Void) throws {
    do { try body() } catch CLTrainError.invalidNumber(let error) { throw ValidationError(error.description) }
}

/// Writes `text` to standard output now (a streamed sample shows as it is generated; through the
/// same buffer as `print`, so the order is kept).
func writeStandardOutput(_ text: String) {
    print(text, terminator: "")
    fflush(nil)   // every C stream: `stdout` itself is not concurrency-safe to name
}
