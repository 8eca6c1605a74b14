import Foundation
import Testing
@testable import CLTrain

/// The translation trainer on a tiny encoder–decoder and a synthetic task (reverse a sequence,
/// each word mapped to its upper case): options and preset, exact resume, the checkpoint's
/// names, refusals. Seconds each (H 8).
@Suite("translation training")
struct TranslationTrainingTests {
    /// Pairs "a c b" → "B C A" over 8 words, 2–6 words long, the same for one seed.
    static func corpus(pairs: Int = 60, seed: UInt64 = 5) -> ParallelCorpus {
        var generator = SplitMix64(seed: seed)
        let words = ["a", "b", "c", "d", "e", "f", "g", "h"]
        func pair() -> SentencePair {
            let length = 2 + Int(generator.next() % 5)
            let source = (0..<length).map { _ in words[Int(generator.next() % UInt64(words.count))] }
            return SentencePair(source: source.joined(separator: " "), target: source.reversed().map { $0.uppercased() }.joined(separator: " "))
        }
        let train = (0..<pairs).map { _ in pair() }
        return ParallelCorpus(name: "synthetic pairs", train: train, validation: (0..<10).map { _ in pair() }, test: (0..<10).map { _ in pair() })
    }

    static func dataset() throws -> TranslationDataset {
        try TranslationDataset.build(corpus(), sourceVocabularySize: nil, targetVocabularySize: nil)
    }

    static func model(_ data: TranslationDataset, dropout: Float = 0.1) throws -> TranslationModel {
        try TranslationModel(configuration: TranslationConfiguration(
            sourceVocabularySize: data.sourceVocabulary.count, targetVocabularySize: data.targetVocabulary.count,
            embeddingSize: 8, hiddenSize: 8, layers: 2, dropout: dropout), backend: CPUBackend(), seed: 3)
    }

    static func options(epochs: Double) -> TranslationOptions {
        TranslationOptions(epochs: epochs, batch: 8, optimizer: .adam, schedule: LearningRateSchedule(initial: 0.01, halvingStart: 1, halvingInterval: 0.5),
                           checkpointEvery: 3)
    }

    static func weights(_ model: TranslationModel) throws -> [[Float]] {
        try model.parameters.logicalTensors.map { try $0.gather(\.value) }
    }

    @Test func presetHasThePapersValues() {
        let p = TranslationPreset(.sutskever2014Translate)
        #expect((p.layers, p.hidden, p.embedding, p.sourceVocabulary, p.targetVocabulary) == (4, 1000, 1000, 160_000, 80_000))
        #expect((p.initScale, p.optimizer, p.learningRate, p.batch, p.clip) == (0.08, .sgd, 0.7, 128, 5))
        #expect((p.decayStart, p.decayInterval, p.epochs) == (5, 0.5, 7.5))
        let schedule = LearningRateSchedule(initial: p.learningRate, halvingStart: p.decayStart, halvingInterval: p.decayInterval)
        #expect(schedule.rate(atEpoch: 4.99) == 0.7 && schedule.rate(atEpoch: 5) == 0.35 && schedule.rate(atEpoch: 7.4) == 0.7 / 32)
    }

    @Test func decimalEpochsTrainPartOfTheLastEpoch() throws {
        let options = Self.options(epochs: 7.5)
        #expect(try options.totalSteps(batchesPerEpoch: 10) == 75)
        #expect(try options.totalSteps(batchesPerEpoch: 11) == 83)   // ⌈82.5⌉
        var bad = options
        bad.epochs = 0
        #expect(throws: CLTrainError.self) { try bad.validate() }
        bad.epochs = .nan
        #expect(throws: CLTrainError.self) { try bad.validate() }
    }

    @Test func optionDifferencesAreNamedByFlag() {
        var other = Self.options(epochs: 2)
        other.batch = 4
        other.targetVocabularyCap = 100
        #expect(Self.options(epochs: 2).differences(from: other) == ["--batch 8, not 4", "--target-vocab none, not 100"])
    }

    /// Stopped after step 5 (its last checkpoint: step 3, mid-epoch) and resumed by a new
    /// trainer and model, the run gives the uninterrupted run's losses and weights exactly.
    @Test func resumeEqualsAnUninterruptedRun() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let data = try Self.dataset()
        let options = Self.options(epochs: 1.5)

        let whole = try TranslationTrainer(model: try Self.model(data), dataset: data, options: options,
                                           checkpointDirectory: scratch.url.appendingPathComponent("whole"), dataSource: "synthetic")
        var wholeLosses: [Int: Double] = [:]
        whole.onStep = { wholeLosses[$0.step] = $0.loss }
        let wholeValidation = try whole.run()
        #expect(wholeLosses.count == (try options.totalSteps(batchesPerEpoch: whole.batchesPerEpoch)))

        let folder = scratch.url.appendingPathComponent("stopped")
        let first = try TranslationTrainer(model: try Self.model(data), dataset: data, options: options,
                                           checkpointDirectory: folder, dataSource: "synthetic")
        first.onStep = { if $0.step == 5 { first.stopRequested = true } }
        try first.run()
        let resumed = try TranslationTrainer(model: try Self.model(data), dataset: data, options: options,
                                             checkpointDirectory: folder, dataSource: "synthetic")
        try resumed.resume(from: folder.appendingPathComponent(Checkpoint.modelFileName))
        #expect(resumed.position == TrainingPosition(epoch: 0, window: 3, step: 3))
        var resumedLosses: [Int: Double] = [:]
        resumed.onStep = { resumedLosses[$0.step] = $0.loss }
        let resumedValidation = try resumed.run()
        for (step, loss) in resumedLosses { #expect(wholeLosses[step] == loss, "step \(step)") }
        #expect(resumedLosses.count == wholeLosses.count - 3)
        #expect(try Self.weights(resumed.model) == Self.weights(whole.model))
        #expect(resumedValidation?.loss == wholeValidation?.loss)
    }

    @Test func checkpointHoldsThePyTorchNamesAndBothVocabularies() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let data = try Self.dataset()
        var options = Self.options(epochs: 1)
        options.maxStepsPerEpoch = 2
        let trainer = try TranslationTrainer(model: try Self.model(data), dataset: data, options: options,
                                             checkpointDirectory: scratch.url, dataSource: "synthetic")
        try trainer.run()
        let file = try SafeTensors.read(from: scratch.url.appendingPathComponent(Checkpoint.modelFileName))
        let names = Set(file.entries.map(\.name))
        #expect(names == Set(TranslationCheckpoint.expectedTensors(trainer.model.configuration).map(\.name)))
        #expect(names.contains("encoder.rnn.weight_ih_l1") && names.contains("decoder.output.bias"))
        #expect(names == Set(trainer.model.parameters.map(\.name)), "the model's own names")
        #expect(file.metadata["format"] == "cltrain-translate-1")
        let (loaded, description) = try TranslationCheckpoint.load(from: scratch.url.appendingPathComponent(Checkpoint.modelFileName), backend: CPUBackend())
        #expect(description.sourceVocabulary == data.sourceVocabulary && description.targetVocabulary == data.targetVocabulary)
        #expect(description.options == options)
        #expect(try Self.weights(loaded) == Self.weights(trainer.model))
        // Not a language model's checkpoint, and the other way round, each saying which it is.
        #expect { _ = try Checkpoint.loadModel(scratch.url.appendingPathComponent(Checkpoint.modelFileName), backend: CPUBackend()) }
            throws: { "\($0)".contains("translation") }
    }

    @Test func resumeWithOtherOptionsIsRefusedNamingThem() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let data = try Self.dataset()
        var options = Self.options(epochs: 1)
        options.maxStepsPerEpoch = 2
        try TranslationTrainer(model: try Self.model(data), dataset: data, options: options,
                               checkpointDirectory: scratch.url, dataSource: "synthetic").run()
        options.batch = 4
        let other = try TranslationTrainer(model: try Self.model(data), dataset: data, options: options,
                                           checkpointDirectory: scratch.url, dataSource: "synthetic")
        #expect { try other.resume(from: scratch.url.appendingPathComponent(Checkpoint.modelFileName)) }
            throws: { "\($0)".contains("--batch 8, not 4") }
    }

    /// At a learning rate of 10^38 the loss turns non-finite a few steps in: training stops with
    /// `diverged`, naming the last checkpoint written, whose weights resume to a finite loss.
    @Test func divergenceStopsAndKeepsTheLastGoodCheckpoint() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let data = try Self.dataset()
        var options = Self.options(epochs: 3)
        options.optimizer = .sgd
        options.schedule = LearningRateSchedule(initial: 1e38)
        options.checkpointEvery = 1
        let trainer = try TranslationTrainer(model: try Self.model(data), dataset: data, options: options,
                                             checkpointDirectory: scratch.url, dataSource: "synthetic")
        var written: [Int] = []
        trainer.onCheckpoint = { _ in written.append(trainer.position.step) }
        let modelFile = scratch.url.appendingPathComponent(Checkpoint.modelFileName)
        do {
            try trainer.run()
            Issue.record("training at a learning rate of 1e38 did not diverge")
        } catch TrainingError.diverged(_, let step, let loss, let last) {
            #expect(!loss.isFinite)
            #expect(last == (written.isEmpty ? nil : modelFile.path), "diverged at step \(step), wrote \(written)")
            #expect(written.allSatisfy { $0 < step })
        }
        guard !written.isEmpty else { return }
        let resumed = try TranslationTrainer(model: try Self.model(data), dataset: data, options: options,
                                             checkpointDirectory: scratch.url, dataSource: "synthetic")
        try resumed.resume(from: modelFile)
        #expect(resumed.position.step == written.last)
        #expect(try resumed.meanLoss(over: resumed.batcher).isFinite, "the kept checkpoint's weights score finitely")
    }
}
