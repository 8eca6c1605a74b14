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
}
