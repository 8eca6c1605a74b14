import Foundation
import Testing
@testable import CLTrain

/// A small text with structure to learn, built in the test (no download).
func smallCorpus() throws -> Corpus {
    let lines = (0..<240).map { i in
        ["the cat sat on the mat", "a dog ran in the park", "to be or not to be", "all that glitters is not gold"][i % 4]
    }
    let documents = (0..<10).map { d in
        Corpus.Document(name: "doc\(d).txt", text: lines[(d * 24)..<(d * 24 + 24)].joined(separator: "\n") + "\n")
    }
    return try Corpus.fromDocuments(documents, source: "small")
}

func temporaryDirectory() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("cltrain-test-\(UUID().uuidString)")
}

struct SmallRun {
    let vocabulary: Vocabulary
    let train: TokenStream
    let validation: TokenStream
    let configuration: ModelConfiguration

    init(batch: Int = 4, bptt: Int = 8, hidden: Int = 16, layers: Int = 2, dropout: Float = 0) throws {
        let corpus = try smallCorpus()
        let vocabulary = try Vocabulary.build(from: corpus.train.map(\.text), level: .char)
        func stream(_ docs: [Corpus.Document]) throws -> TokenStream {
            try TokenStream(tokens: docs.flatMap { vocabulary.encode($0.text) }, batch: batch, steps: bptt)
        }
        self.vocabulary = vocabulary
        train = try stream(corpus.train)
        validation = try stream(corpus.validation)
        configuration = ModelConfiguration(vocabularySize: vocabulary.count, embeddingSize: hidden, hiddenSize: hidden,
                                           layers: layers, dropout: dropout)
    }

    func options(epochs: Int, optimizer: OptimizerKind = .adam, steps: Int? = 12, checkpointEvery: Int? = nil) -> TrainingOptions {
        TrainingOptions(epochs: epochs, batch: train.batch, bptt: train.steps, optimizer: optimizer,
                        schedule: LearningRateSchedule(initial: optimizer == .adam ? 0.01 : 0.7, halvingStart: 1, halvingInterval: 0.5),
                        clipNorm: 5, seed: 7, maxStepsPerEpoch: steps, checkpointEvery: checkpointEvery)
    }

    func trainer(_ options: TrainingOptions, backend: Backend = CPUBackend(), checkpoint: URL? = nil) throws -> Trainer {
        let model = try LanguageModel(configuration: configuration, backend: backend, seed: options.seed)
        return try Trainer(model: model, vocabulary: vocabulary, options: options, train: train, validation: validation,
                           checkpointDirectory: checkpoint)
    }
}

@Suite("Training")
struct TrainingTests {
    @Test func lossFallsOnASmallText() throws {
        let run = try SmallRun(batch: 8, bptt: 16, hidden: 32)
        var options = run.options(epochs: 6, steps: nil)
        options.schedule = LearningRateSchedule(initial: 0.02)
        let trainer = try run.trainer(options)
        var losses: [Double] = []
        var validations: [Double] = []
        trainer.onStep = { losses.append($0.loss) }
        trainer.onValidation = { validations.append($0.perplexity) }
        try trainer.run()
        #expect(losses.count == 6 * run.train.windowCount)
        let first = losses.prefix(10).reduce(0, +) / 10, last = losses.suffix(10).reduce(0, +) / 10
        #expect(last < 0.5 * first, "training loss went from \(first) to \(last)")
        #expect(validations.count == 6)
        #expect(zip(validations, validations.dropFirst()).allSatisfy { $1 < $0 }, "validation perplexity \(validations)")
        // 20 characters: a model that learned nothing sits near 20; one that learned the text, far below.
        #expect(validations.last! < 4, "validation perplexity \(validations)")
    }

    @Test func trainingIsDeterministicOnTheCPU() throws {
        let run = try SmallRun(dropout: 0.2)
        var a: [Double] = [], b: [Double] = []
        let first = try run.trainer(run.options(epochs: 1, optimizer: .sgd, steps: 6))
        first.onStep = { a.append($0.loss) }
        try first.run()
        let second = try run.trainer(run.options(epochs: 1, optimizer: .sgd, steps: 6))
        second.onStep = { b.append($0.loss) }
        try second.run()
        #expect(a == b)
    }

    @Test(arguments: [OptimizerKind.sgd, .adam])
    func resumeContinuesExactlyAsAnUninterruptedRun(optimizer: OptimizerKind) throws {
        let run = try SmallRun(dropout: 0.1)
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let options = run.options(epochs: 2, optimizer: optimizer, steps: 6, checkpointEvery: 4)

        var uninterrupted: [Double] = []
        let reference = try run.trainer(options)
        reference.onStep = { uninterrupted.append($0.loss) }
        try reference.run()

        // The interrupted run: stopped after step 5, so its last checkpoint is from step 4 (mid-epoch).
        let interrupted = try run.trainer(options, checkpoint: directory)
        interrupted.onStep = { if $0.step == 5 { interrupted.stopRequested = true } }
        try interrupted.run()
        let checkpoint = directory.appendingPathComponent(Checkpoint.modelFileName)

        var resumedLosses: [Double] = []
        let resumed = try run.trainer(options, checkpoint: directory)
        try resumed.resume(from: checkpoint)
        #expect(resumed.position == TrainingPosition(epoch: 0, window: 4, step: 4))
        resumed.onStep = { resumedLosses.append($0.loss) }
        try resumed.run()
        #expect(resumedLosses == Array(uninterrupted.dropFirst(4)))
        for (p, q) in zip(reference.model.parameters, resumed.model.parameters) {
            #expect(try reference.model.backend.download(p.value) == resumed.model.backend.download(q.value), "\(p.name)")
        }
    }

    @Test func divergenceStopsWithAClearErrorAndKeepsTheLastCheckpoint() throws {
        let run = try SmallRun()
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try run.trainer(run.options(epochs: 2, optimizer: .sgd, steps: 3), checkpoint: directory)
        // Right after the first epoch's checkpoint, poison one weight: the next loss is NaN.
        let checkpoint = directory.appendingPathComponent(Checkpoint.modelFileName)
        var before: Data?
        trainer.onCheckpoint = { _ in
            before = try? Data(contentsOf: checkpoint)
            let weight = trainer.model.decoder[0].bias.value   // every logit row sees it
            var values = (try? trainer.model.backend.download(weight)) ?? []
            values[0] = .nan
            try? trainer.model.backend.upload(values, to: weight)
        }
        do {
            try trainer.run()
            Issue.record("training on a NaN weight did not stop")
        } catch let error as TrainingError {
            guard case .diverged(let epoch, let step, _, let last) = error else {
                Issue.record("unexpected error \(error)"); return
            }
            #expect(epoch == 2 && step == 4)
            #expect(last == checkpoint.path)
            #expect("\(error)".contains("diverged"))
        }
        #expect(before != nil)
        #expect(try Data(contentsOf: checkpoint) == before, "the last good checkpoint was overwritten")
    }
}

@Suite("Training on OpenCL devices", .enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty,
    "no OpenCL platform: OpenCL training tests skipped, CPU tests still run"))
struct OpenCLTrainingTests {
    @Test func oneStepOnEachOpenCLDeviceEqualsTheCPUStep() throws {
        let devices = DeviceRegistry.shared.openCLDevices
        let run = try SmallRun(batch: 3, bptt: 5, hidden: 24, dropout: 0.25)
        let options = run.options(epochs: 1, optimizer: .sgd, steps: 1)
        let reference = try run.trainer(options)
        var referenceLoss = 0.0
        reference.onStep = { referenceLoss = $0.loss }
        try reference.run()
        for device in devices {
            let trainer = try run.trainer(options, backend: OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: device.index)))
            var loss = 0.0
            trainer.onStep = { loss = $0.loss }
            try trainer.run()
            // Reduction length: the longest sum behind a weight gradient, T·B rows × 4H.
            let n = options.bptt * options.batch * 4 * run.configuration.hiddenSize
            #expect(compare([Float(loss)], to: [Float(referenceLoss)], reductionLength: n).passed,
                    "\(device.name): loss \(loss) vs CPU \(referenceLoss)")
            for (p, q) in zip(reference.model.parameters, trainer.model.parameters) {
                let comparison = compare(try trainer.model.backend.download(q.value),
                                         to: try reference.model.backend.download(p.value), reductionLength: n)
                #expect(comparison.passed, "\(device.name) \(p.name): \(comparison)")
            }
        }
    }
}
