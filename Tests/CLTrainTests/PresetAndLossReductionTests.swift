import Foundation
import Testing
@testable import CLTrain

@Suite("Presets and loss reduction")
struct PresetAndLossReductionTests {
    // MARK: Presets

    @Test func zarembaPresetsHoldThePapersValues() {
        typealias Row = (TrainingPreset.Name, hidden: Int, scale: Float, dropout: Float, bptt: Int, decayStart: Double,
                         decay: Double, epochs: Int, clip: Float, valid: Double, test: Double)
        let rows: [Row] = [
            (.zarembaSmall, 200, 0.1, 0, 20, 4, 2, 13, 5, 120.7, 114.5),
            (.zarembaMedium, 650, 0.05, 0.5, 35, 6, 1.2, 39, 5, 86.2, 82.7),
            (.zarembaLarge, 1500, 0.04, 0.65, 35, 14, 1.15, 55, 10, 82.2, 78.4),
        ]
        for row in rows {
            let p = TrainingPreset(row.0)
            #expect(p.layers == 2 && p.hidden == row.hidden && p.batch == 20, "\(row.0)")
            #expect(p.initScale == row.scale && p.dropout == row.dropout && p.bptt == row.bptt, "\(row.0)")
            #expect(p.dropoutSites == [.embedding, .between, .output], "\(row.0): every non-recurrent connection")
            #expect(p.optimizer == .sgd && p.learningRate == 1 && p.lossReduction == .sequenceSum, "\(row.0)")
            #expect(p.decayStart == row.decayStart && p.decayInterval == 1 && p.decayFactor == row.decay, "\(row.0)")
            #expect(p.epochs == row.epochs && p.clip == row.clip, "\(row.0)")
            #expect(p.reportedValidationPerplexity == row.valid && p.reportedTestPerplexity == row.test, "\(row.0)")
        }
        let s = TrainingPreset(.sutskever2014)
        #expect(s.layers == 4 && s.hidden == 1000 && s.initScale == 0.08 && s.batch == 128 && s.bptt == nil)
        #expect(s.optimizer == .sgd && s.learningRate == 0.7 && s.clip == 5 && s.lossReduction == .sequenceSum)
        #expect(s.decayStart == 5 && s.decayInterval == 0.5 && s.decayFactor == 2)
        #expect(Set(TrainingPreset.Name.allCases.map(\.rawValue)) == ["zaremba-small", "zaremba-medium", "zaremba-large", "sutskever-2014"])
    }

    /// The rate of each (1-based) epoch, as `Trainer` asks for it at the epoch's first window.
    static func ratesByEpoch(_ preset: TrainingPreset) -> [Float] {
        let schedule = LearningRateSchedule(initial: preset.learningRate ?? 0, halvingStart: preset.decayStart,
                                            halvingInterval: preset.decayInterval ?? 0.5, decayFactor: preset.decayFactor)
        return (0..<(preset.epochs ?? 0)).map { schedule.rate(atEpoch: Double($0)) }
    }

    @Test func theDecayScheduleIsTensorFlowsLrDecayToTheMaxOfIPlus1MinusMaxEpoch() {
        // ptb_word_lm.py: lr = learning_rate · (1 / factor) ** max(i + 1 − max_epoch, 0) for 0-based epoch i.
        for (name, factor, maxEpoch) in [(TrainingPreset.Name.zarembaSmall, 2.0, 4), (.zarembaMedium, 1.2, 6), (.zarembaLarge, 1.15, 14)] {
            let preset = TrainingPreset(name)
            let expected = (0..<preset.epochs!).map { i in Float(pow(1 / factor, Double(max(i + 1 - maxEpoch, 0)))) }
            #expect(Self.ratesByEpoch(preset) == expected, "\(name)")
        }
        let small = Self.ratesByEpoch(TrainingPreset(.zarembaSmall))
        #expect(small.prefix(6) == [1, 1, 1, 1, 0.5, 0.25])
        // Sutskever et al.: 0.7 for 5 epochs, then halved every half epoch.
        let s = LearningRateSchedule(initial: 0.7, halvingStart: 5, halvingInterval: 0.5, decayFactor: 2)
        #expect([4.99, 5, 5.49, 5.5, 6, 7.5].map { s.rate(atEpoch: $0) } == [0.7, 0.35, 0.35, 0.175, 0.0875, 0.7 / 64])
        // Unset, the factor is 2 exactly as before.
        let halving = LearningRateSchedule(initial: 0.7, halvingStart: 1, halvingInterval: 0.5)
        #expect([0.5, 1, 1.5, 3].map { halving.rate(atEpoch: $0) } == [0.7, 0.35, 0.175, 0.7 * Float(pow(0.5, 5))])
        expectInvalidNumber { try LearningRateSchedule(initial: 1, decayFactor: 0.5).validate() }
        expectInvalidNumber { try LearningRateSchedule(initial: 1, decayFactor: .nan).validate() }
    }

    @Test func anExplicitFlagOverridesThePreset() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try PennTreebankTests.installFixture(in: scratch.url)
        let common = ["train", "--data", "ptb", "--preset", "zaremba-small", "--hidden", "4", "--bptt", "2", "--batch", "1",
                      "--epochs", "1", "--steps-per-epoch", "2", "--sample-length", "0", "--device", "cpu"]
        let environment = ["CLTRAIN_DATA_DIR": scratch.url.path]
        let preset = try CLI.run(common, environment: environment)
        #expect(preset.status == 0, "\(preset)")
        // The width follows --hidden (the preset sets no embedding of its own); the rest is the paper's.
        #expect(preset.output.contains("model V 12, E 4, H 4, L 2, dropout 0.0"), "\(preset)")
        #expect(preset.output.contains("training: batch 1, bptt 2, sgd lr 1.0 ÷2.0 every 1.0 epochs after 4.0, clip 5.0, "
                                       + "loss sequence-sum, init ±0.1, epochs 1 (preset zaremba-small"), "\(preset)")
        let overridden = try CLI.run(common + ["--lr", "0.25", "--lr-decay", "3", "--clip", "0", "--loss-reduction", "token-mean",
                                              "--init-scale", "0.2", "--layers", "1"], environment: environment)
        #expect(overridden.status == 0, "\(overridden)")
        #expect(overridden.output.contains("model V 12, E 4, H 4, L 1, dropout 0.0"), "\(overridden)")
        #expect(overridden.output.contains("training: batch 1, bptt 2, sgd lr 0.25 ÷3.0 every 1.0 epochs after 4.0, clip 0.0, "
                                           + "loss token-mean, init ±0.2, epochs 1"), "\(overridden)")
        let medium = try CLI.run(common + ["--preset", "zaremba-medium", "--dropout", "0.25"], environment: environment)
        #expect(medium.output.contains("model V 12, E 4, H 4, L 2, dropout 0.25 at embedding, between, output"), "\(medium)")
        let between = try CLI.run(common + ["--preset", "zaremba-medium", "--dropout-at", "between"], environment: environment)
        #expect(between.output.contains("model V 12, E 4, H 4, L 2, dropout 0.5,"), "\(between)")
        expectCleanFailure(try CLI.run(["train", "--preset", "zaremba-huge"]), mentioning: ["zaremba-huge", "zaremba-small"])
        expectCleanFailure(try CLI.run(["train", "--dropout-at", "recurrent"]), mentioning: ["--dropout-at", "recurrent", "embedding"])
    }

    @Test func unsetNewOptionsStayOutOfTheCheckpoint() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let options = TrainingOptions(epochs: 1, batch: 2, bptt: 3, optimizer: .sgd, schedule: LearningRateSchedule(initial: 0.7))
        let text = String(decoding: try encoder.encode(options), as: UTF8.self)
        for key in ["lossReduction", "initScale", "decayFactor"] { #expect(!text.contains(key), "\(text)") }
        // And a checkpoint's options from before these fields decode as the defaults.
        let old = #"{"batch":2,"bptt":3,"clipNorm":5,"epochs":1,"optimizer":"sgd","schedule":{"halvingInterval":0.5,"initial":0.7},"seed":1}"#
        #expect(try JSONDecoder().decode(TrainingOptions.self, from: Data(old.utf8)) == options)
    }

    // MARK: Loss reduction

    /// Every parameter's gradient, on the host, in parameter order.
    static func gradients(_ model: LanguageModel) throws -> [[Float]] {
        try model.parameters.map { try $0.backend.download($0.gradient) }
    }

    @Test func sequenceSumGradientIsTTimesTheTokenMeansAndIsWhatGetsClipped() throws {
        let run = try SmallRun(batch: 3, bptt: 5, hidden: 8, layers: 2)
        let window = try run.train.window(0)
        #expect(LossReduction.tokenMean.gradientFactor(targets: window.targets.count, batch: 3) == 1)
        #expect(LossReduction.sequenceSum.gradientFactor(targets: window.targets.count, batch: 3) == 5)

        func stepped(_ reduction: LossReduction, clip: Float) throws -> (gradients: [[Float]], norm: Double) {
            let model = try LanguageModel(configuration: run.configuration, backend: CPUBackend(), seed: 3)
            try model.zeroGradients()
            _ = try SequentialExecutor(model: model).trainingStep(window)
            let factor = reduction.gradientFactor(targets: window.targets.count, batch: window.batch)
            let norm = try clipGradients(model.parameters, maxNorm: clip, lossScale: factor)
            return (try Self.gradients(model), norm)
        }
        let mean = try stepped(.tokenMean, clip: 0), sum = try stepped(.sequenceSum, clip: 0)
        #expect(abs(sum.norm - 5 * mean.norm) <= 1e-9 * sum.norm)
        for (m, s) in zip(mean.gradients, sum.gradients) {
            #expect(zip(m, s).allSatisfy { $1 == 5 * $0 }, "sequence-sum gradient = T × token-mean gradient")
        }
        // Clipped at a threshold between the two norms: the sum's gradient is cut to it, the mean's kept.
        let threshold = Float(2 * mean.norm)
        let clippedSum = try stepped(.sequenceSum, clip: threshold), clippedMean = try stepped(.tokenMean, clip: threshold)
        let clippedNorm = clippedSum.gradients.joined().reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(abs(clippedNorm - Double(threshold)) <= 1e-4 * Double(threshold))
        #expect(clippedMean.gradients == mean.gradients)
    }

    @Test func theTrainerStepsOnTheSequenceSumAndReportsTheLossPerToken() throws {
        let run = try SmallRun(batch: 3, bptt: 5, hidden: 8, layers: 1)
        func trained(_ reduction: LossReduction?, lr: Float) throws -> (weights: [[Float]], losses: [Double], norms: [Double]) {
            var options = run.options(epochs: 1, optimizer: .sgd, steps: 1)
            options.schedule = LearningRateSchedule(initial: lr)
            options.clipNorm = 0
            options.lossReduction = reduction
            let trainer = try run.trainer(options)
            var losses: [Double] = [], norms: [Double] = []
            trainer.onStep = { losses.append($0.loss); norms.append($0.gradientNorm) }
            try trainer.run()
            return (try trainer.model.parameters.map { try $0.backend.download($0.value) }, losses, norms)
        }
        let mean = try trained(nil, lr: 0.5), sum = try trained(.sequenceSum, lr: 0.1)   // 0.1 × T = 0.5
        #expect(sum.losses == mean.losses, "the reported loss is the per-token mean either way")
        #expect(abs(sum.norms[0] - 5 * mean.norms[0]) <= 1e-9 * sum.norms[0])
        for (a, b) in zip(mean.weights.joined(), sum.weights.joined()) {
            #expect(abs(a - b) <= 1e-6 * max(abs(a), 1), "lr 0.1 on the sum steps as lr 0.5 on the mean")
        }
    }
}
