import Foundation
import Testing
@testable import CLTrain

/// The decoding step (`ModelTranslator`) against the training executor, and greedy decoding.
@Suite("Translation decoding")
struct TranslationDecodingTests {
    /// Feeding the targets' inputs step by step (teacher forcing) scores what the executor scores.
    @Test(arguments: [false, true])
    func stepwiseTeacherForcingEqualsTheExecutorsLoss(split: Bool) throws {
        let backends: [Backend] = [CPUBackend(), CPUBackend()]
        let devices = split ? TranslationModelTests.devices(([0, 1], [1, 0]), backends) : nil
        let model = try TranslationFixture.model(devices: devices)
        let batch = try TranslationFixture.batch()
        let (expected, tokens) = try TranslationExecutor(model: model).run(batch, training: false)

        let translator = ModelTranslator(model: model)
        var state = try translator.encode(TranslationFixture.pairs.map(\.source))
        let (b, v) = (batch.batch, translator.targetVocabularySize)
        var sum = 0.0, counted = 0
        for t in 0..<batch.targetSteps {
            let step = try translator.step(Array(batch.targetInputs[t * b..<(t + 1) * b]), from: state)
            state = step.state
            for row in 0..<b where batch.targetOutputs[t * b + row] != TranslationBatch.ignoreIndex {
                sum -= Double(step.logProbabilities[row * v + Int(batch.targetOutputs[t * b + row])])
                counted += 1
            }
        }
        #expect(counted == tokens)
        #expect(abs(sum - expected) <= 1e-4 * abs(expected), "stepwise \(sum) vs executor \(expected)")
    }

    /// `select` picks rows (repeats allowed): stepping the selection gives those rows of the whole step.
    @Test func selectedRowsStepAsTheirOriginals() throws {
        let translator = ModelTranslator(model: try TranslationFixture.model())
        let state = try translator.encode(TranslationFixture.pairs.map(\.source))
        let tokens: [Int32] = [2, 5, 7]
        let whole = try translator.step(tokens, from: state).logProbabilities
        let rows = [2, 0, 2]
        let selected = try translator.step(rows.map { tokens[$0] }, from: translator.select(rows, of: state)).logProbabilities
        let v = translator.targetVocabularySize
        for (k, row) in rows.enumerated() {
            #expect(Array(selected[k * v..<(k + 1) * v]) == Array(whole[row * v..<(row + 1) * v]), "row \(row)")
        }
        // Each row is a distribution.
        for row in 0..<3 { #expect(abs(whole[row * v..<(row + 1) * v].reduce(0.0) { $0 + exp(Double($1)) } - 1) < 1e-5) }
        #expect(throws: CLTrainError.self) { try translator.select([3], of: state) }
        #expect(throws: CLTrainError.self) { try translator.step([2, 2], from: state) }
        #expect(throws: CLTrainError.self) { try translator.encode([[4], []]) }
    }

    /// The task of the issue that only a working encoder–decoder learns: output the source reversed
    /// (random sequences of 5–15 tokens from a vocabulary of 20). The model reverses sources itself
    /// (the default), so its decoder writes the tokens in the order the encoder read them.
    ///
    /// Disabled until it is sized, and to be moved onto the release binary: in a debug build the
    /// CPU backend ran this configuration (E 16, H 128, L 1, batch 64, Adam 0.003) at 1.44 s a step
    /// and had not reached 99 % after 25 minutes. The release `cltrain` runs the same step in about
    /// 8 ms (178 000 words/s), and through `train --task translate` + `translate --beam 1` on 20 000
    /// random pairs (sources in reading order, `--no-reverse-source`) reached, on 200 held out:
    /// 89.5 % (1 × 128, 20 epochs, 50 s), 96.5 % (2 × 128, E 32, 24 epochs, 2.4 min), 98.0 %
    /// (2 × 128, batch 32, 16 epochs, halving after 8 every 2; 8.5 min beside the test suite).
    /// The plan: a CLI test on `.build/release/cltrain` (scripts/test.sh building it first) with a
    /// configuration that passes 99 % in a few minutes; this in-process loop then goes.
    @Test(.disabled("not yet sized to reach 99 % in a few minutes: see the comment"))
    func learnsToReverseSequences() throws {
        let words: ClosedRange<Int32> = 4...23   // 20 tokens after the four specials
        let configuration = TranslationConfiguration(sourceVocabularySize: 24, targetVocabularySize: 24, embeddingSize: 16,
                                                     hiddenSize: 128, layers: 1)
        let model = try TranslationModel(configuration: configuration, backend: CPUBackend(), seed: 11)
        let executor = TranslationExecutor(model: model)
        let translator = ModelTranslator(model: model)
        let optimizer = try makeOptimizer(.adam, parameters: model.parameters)
        var generator = SplitMix64(seed: 2024)
        func sequences(_ count: Int) -> [[Int32]] {
            (0..<count).map { _ in
                (0..<(5 + Int(generator.next() % 11))).map { _ in words.lowerBound + Int32(generator.next() % 20) }
            }
        }
        let heldOut = sequences(200)
        func accuracy() throws -> Double {
            let outputs = try translator.greedyTranslate(heldOut, maxLength: 20)
            return Double(zip(heldOut, outputs).count { $0.reversed() == $1 }) / Double(heldOut.count)
        }
        var reached = 0.0, steps = 0
        while steps < 3000 {
            let pairs = sequences(64).map { EncodedPair(source: $0, target: $0.reversed()) }
            let batch = try TranslationBatcher(pairs: pairs, batchSize: 64, seed: 0).batch(of: Array(pairs.indices))
            try model.zeroGradients()
            _ = try executor.run(batch, training: true)
            _ = try clipGradients(model.parameters, maxNorm: 5)
            try optimizer.step(model.parameters, learningRate: 0.003)
            steps += 1
            if steps % 100 == 0 {
                reached = try accuracy()
                if reached >= 0.99 { break }
            }
        }
        #expect(reached >= 0.99, "exact-match accuracy \(reached) after \(steps) steps")
    }
}
