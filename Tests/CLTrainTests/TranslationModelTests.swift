import Testing
@testable import CLTrain

/// Small sentence pairs of different lengths, so a batch of them has padding on both sides.
enum TranslationFixture {
    static func configuration(dropout: Float = 0, reverseSource: Bool = true) -> TranslationConfiguration {
        TranslationConfiguration(sourceVocabularySize: 9, targetVocabularySize: 8, embeddingSize: 3, hiddenSize: 4, layers: 2,
                                 dropout: dropout, reverseSource: reverseSource)
    }

    /// Sources of 3, 1 and 2 tokens; targets of 2, 3 and 1 (+ `<eos>`).
    static let pairs = [
        EncodedPair(source: [4, 5, 6], target: [5, 6]),
        EncodedPair(source: [7], target: [4, 7, 0]),
        EncodedPair(source: [8, 4], target: [6]),
    ]

    /// The pairs at `indices` as one batch, sources reversed as the model reads them.
    static func batch(_ indices: [Int] = [0, 1, 2], reverseSource: Bool = true) throws -> TranslationBatch {
        try TranslationBatcher(pairs: pairs, batchSize: pairs.count, reverseSource: reverseSource, seed: 1).batch(of: indices)
    }

    /// A model with weights larger than the 0.08 default, so every path carries a gradient worth checking.
    static func model(dropout: Float = 0, devices: ModelDevices? = nil, backend: Backend = CPUBackend()) throws -> TranslationModel {
        let c = configuration(dropout: dropout)
        let model = try devices.map { try TranslationModel(configuration: c, devices: $0, seed: 3) }
            ?? TranslationModel(configuration: c, backend: backend, seed: 3)
        try model.initializeWeights(seed: 3, range: 0.5)
        return model
    }

    /// The loss sum, token count and every whole gradient after one training run from zeroed gradients.
    static func gradients(_ model: TranslationModel, _ batch: TranslationBatch, dropoutState: UInt64? = nil) throws
        -> (loss: Double, tokens: Int, gradients: [[Float]]) {
        try model.zeroGradients()
        if let dropoutState { model.dropoutGenerator = SplitMix64(seed: dropoutState) }
        let (loss, tokens) = try TranslationExecutor(model: model).run(batch, training: true)
        return (loss, tokens, try model.parameters.logicalTensors.map { try $0.gather(\.gradient) })
    }
}

@Suite("Translation model")
struct TranslationModelTests {
    @Test func parametersHavePyTorchNamesInStateDictOrder() throws {
        let backends: [Backend] = [CPUBackend(), CPUBackend()]
        let devices = ModelDevices(layers: backends, softmaxShards: [(backends[1], 0..<5), (backends[0], 5..<8)])
        let model = try TranslationFixture.model(devices: devices)
        let rnn = { (module: String) in
            (0..<2).flatMap { l in ["weight_ih_l\(l)", "weight_hh_l\(l)", "bias_ih_l\(l)", "bias_hh_l\(l)"].map { "\(module).rnn.\($0)" } }
        }
        let expected = ["encoder.embedding.weight"] + rnn("encoder") + ["decoder.embedding.weight"] + rnn("decoder")
            + ["decoder.output.weight", "decoder.output.bias"]
        let logical = model.parameters.logicalTensors
        #expect(logical.map(\.name) == expected)
        #expect(logical.first { $0.name == "decoder.output.weight" }?.shape == [8, 4])
        #expect(logical.first { $0.name == "encoder.rnn.weight_ih_l0" }?.shape == [16, 3])
        // Every placement starts from the same weights.
        let single = try TranslationFixture.model()
        for (a, b) in zip(logical, single.parameters.logicalTensors) { #expect(try a.gather(\.value) == b.gather(\.value), "\(a.name)") }
    }

    /// The hand-written backward of the whole encoder–decoder against central finite differences of
    /// the mean loss, on a batch with padding on both sides and reversed sources.
    @Test(arguments: [Float(0), 0.3])
    func everyParameterGradientMatchesFiniteDifferences(dropout: Float) throws {
        let backend = CPUBackend()
        let model = try TranslationFixture.model(dropout: dropout, backend: backend)
        let batch = try TranslationFixture.batch()
        #expect(batch.sourceLengths == [3, 1, 2] && batch.sourceSteps == 3 && batch.targetSteps == 4)
        let dropoutState = model.dropoutGenerator.state
        let executor = TranslationExecutor(model: model)
        func loss() throws -> Double {
            model.dropoutGenerator = SplitMix64(seed: dropoutState)
            let (sum, tokens) = try executor.run(batch, training: true)   // training: the dropout masks apply
            return sum / Double(tokens)
        }
        let analytic = try TranslationFixture.gradients(model, batch, dropoutState: dropoutState).gradients
        // The tolerance of LanguageModelGradientTests: central differences in float32 with h = 1e-2
        // (truncation ≈ 1e-5, rounding ≈ 3e-5 for a loss near 2), 2e-4 absolute plus 1% relative.
        let h: Float = 1e-2
        for (parameter, gradient) in zip(model.parameters, analytic) {
            #expect(gradient.contains { $0 != 0 }, "\(parameter.name) has no gradient at all")
            var values = try backend.download(parameter.value)
            for i in values.indices {
                let original = values[i]
                values[i] = original + h
                try backend.upload(values, to: parameter.value)
                let plus = try loss()
                values[i] = original - h
                try backend.upload(values, to: parameter.value)
                let minus = try loss()
                values[i] = original
                try backend.upload(values, to: parameter.value)
                let numeric = (plus - minus) / Double(2 * h)
                #expect(abs(Double(gradient[i]) - numeric) <= 2e-4 + 1e-2 * abs(numeric),
                        "\(parameter.name)[\(i)]: analytic \(gradient[i]), numeric \(numeric)")
            }
        }
    }

    /// Padding changes nothing: a padded batch's loss and gradient sums are those of each pair run alone.
    @Test(arguments: [true, false])
    func aPaddedBatchEqualsEachPairAlone(reverseSource: Bool) throws {
        let model = try TranslationFixture.model()
        let together = try TranslationFixture.gradients(model, TranslationFixture.batch(reverseSource: reverseSource))
        var loss = 0.0, tokens = 0
        var sums = together.gradients.map { [Double](repeating: 0, count: $0.count) }
        for i in TranslationFixture.pairs.indices {
            let alone = try TranslationFixture.gradients(model, TranslationFixture.batch([i], reverseSource: reverseSource))
            loss += alone.loss
            tokens += alone.tokens
            // Gradients are of each run's mean: times its tokens, they add up to the sum's.
            for (k, g) in alone.gradients.enumerated() {
                for j in g.indices { sums[k][j] += Double(g[j]) * Double(alone.tokens) }
            }
        }
        #expect(together.tokens == tokens && tokens == 9)
        #expect(abs(together.loss - loss) <= 1e-5 * abs(loss), "\(together.loss) vs \(loss)")
        for (k, tensor) in model.parameters.logicalTensors.enumerated() {
            let batched = together.gradients[k].map { $0 * Float(together.tokens) }
            let comparison = compare(batched, to: sums[k].map { Float($0) }, reductionLength: 4 * 3 * 16)
            #expect(comparison.passed, "\(tensor.name): \(comparison)")
        }
    }

    /// The state handed over is each sequence's own: a source's padding cannot reach the decoder.
    @Test func theEncoderStateIsTakenAtTheLastRealToken() throws {
        let batch = try TranslationFixture.batch()
        // Row (length − 1)·B + b: sequence 0 at step 2, sequence 1 at step 0, sequence 2 at step 1.
        let rows: [Int32] = try TranslationExecutor.finalStateRows(batch)
        #expect(rows == [6, 1, 5])
        var broken = batch.sourceLengths
        broken[1] = 4
        let bad = TranslationBatch(batch: 3, sourceSteps: 3, targetSteps: batch.targetSteps, sourceTokens: batch.sourceTokens,
                                   sourceLengths: broken, targetInputs: batch.targetInputs, targetOutputs: batch.targetOutputs,
                                   targetLengths: batch.targetLengths, pairIndices: batch.pairIndices)
        #expect(throws: CLTrainError.self) { try TranslationExecutor(model: try TranslationFixture.model()).run(bad, training: true) }
    }

    /// (layer devices, softmax devices) as device numbers over 2 layers: the paper's layout in small.
    static let placements: [([Int], [Int])] = [
        ([0, 1], [1]),       // layer 0 on one device, layer 1 and the softmax on the other
        ([0, 1], [1, 0]),    // the softmax split over both
        ([0, 1], [2]),       // the softmax on a third
    ]

    static func devices(_ placement: ([Int], [Int]), _ backends: [Backend]) -> ModelDevices {
        let rows = Placement.evenShards(vocabularySize: 8, count: placement.1.count)
        return ModelDevices(layers: placement.0.map { backends[$0] }, softmaxShards: zip(placement.1, rows).map { (backends[$0], $1) })
    }

    /// Loss and gradients on `devices` against one CPU backend, with dropout on.
    func expectSameAsOneCPU(_ devices: ModelDevices, _ label: String) throws {
        let batch = try TranslationFixture.batch()
        let reference = try TranslationFixture.gradients(TranslationFixture.model(dropout: 0.3), batch, dropoutState: 7)
        let result = try TranslationFixture.gradients(TranslationFixture.model(dropout: 0.3, devices: devices), batch, dropoutState: 7)
        let n = 4 * 3 * 16   // the longest reduction behind a gradient: T·B rows × 4H
        #expect(compare([Float(result.loss)], to: [Float(reference.loss)], reductionLength: n).passed,
                "\(label): loss \(result.loss) vs \(reference.loss)")
        for (k, tensor) in try TranslationFixture.model().parameters.logicalTensors.enumerated() {
            let comparison = compare(result.gradients[k], to: reference.gradients[k], reductionLength: n)
            #expect(comparison.passed, "\(label) \(tensor.name): \(comparison)")
        }
    }

    @Test(arguments: placements.indices)
    func cpuBackendsAsDevicesEqualOneBackend(placement: Int) throws {
        let backends: [Backend] = (0..<3).map { _ in CPUBackend() }
        try expectSameAsOneCPU(Self.devices(Self.placements[placement], backends), "CPU placement \(Self.placements[placement])")
    }

    @Test(.enabled(if: DeviceRegistry.shared.openCLDevices.count >= 2, "fewer than two OpenCL devices: POCL_DEVICES=\"pthread pthread\" gives two"),
          arguments: placements.indices)
    func openCLDevicesEqualTheCPU(placement: Int) throws {
        let available = DeviceRegistry.shared.openCLDevices.count
        let backends: [Backend] = try (0..<3).map { try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: $0 % available)) }
        try expectSameAsOneCPU(Self.devices(Self.placements[placement], backends), "OpenCL placement \(Self.placements[placement])")
    }
}
