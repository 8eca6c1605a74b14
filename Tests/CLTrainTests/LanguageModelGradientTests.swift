import Testing
@testable import CLTrain

/// The whole model's hand-written backward pass against central finite differences of its loss.
@Suite("Language model gradients")
struct LanguageModelGradientTests {
    static let window = try! TokenWindow(inputs: [1, 2, 3, 4, 5, 6], targets: [2, 3, 4, 5, 6, 0], steps: 3, batch: 2)

    /// The loss from a fixed initial state (and a fixed dropout draw): a pure function of the weights.
    func loss(_ model: LanguageModel, generator: UInt64) throws -> Double {
        try model.resetState(batch: Self.window.batch)
        model.dropoutGenerator = SplitMix64(seed: generator)
        return try SequentialExecutor(model: model).trainingStep(Self.window)
    }

    @Test(arguments: [Float(0), 0.3])
    func everyParameterGradientMatchesFiniteDifferences(dropout: Float) throws {
        let backend = CPUBackend()
        let configuration = ModelConfiguration(vocabularySize: 7, embeddingSize: 3, hiddenSize: 4, layers: 2, dropout: dropout)
        // Larger weights than the 0.08 default, so every path carries a gradient worth checking.
        let model = try LanguageModel(configuration: configuration, backend: backend, seed: 3)
        try model.initializeWeights(seed: 3, range: 0.5)
        let generator = model.dropoutGenerator.state

        try model.zeroGradients()
        _ = try loss(model, generator: generator)
        // Central differences in float32 with h = 1e-2: truncation O(h²·f''') ≈ 1e-5 and rounding
        // ε·|L|/h ≈ 3e-5 for a loss near 2, so 2e-4 absolute plus 1% relative separates rounding
        // from any real error (a missing term changes a gradient by far more).
        let h: Float = 1e-2
        // Read every gradient first: each loss evaluation below runs a backward pass too.
        let gradients = try model.parameters.map { try backend.download($0.gradient) }
        for (parameter, analytic) in zip(model.parameters, gradients) {
            var values = try backend.download(parameter.value)
            for i in values.indices {
                let original = values[i]
                values[i] = original + h
                try backend.upload(values, to: parameter.value)
                let plus = try loss(model, generator: generator)
                values[i] = original - h
                try backend.upload(values, to: parameter.value)
                let minus = try loss(model, generator: generator)
                values[i] = original
                try backend.upload(values, to: parameter.value)
                let numeric = (plus - minus) / Double(2 * h)
                #expect(abs(Double(analytic[i]) - numeric) <= 2e-4 + 1e-2 * abs(numeric),
                        "\(parameter.name)[\(i)]: analytic \(analytic[i]), numeric \(numeric)")
            }
        }
    }
}

/// The carried state: a sequence fed as one window or one token at a time gives the same logits.
@Suite("Language model state")
struct LanguageModelStateTests {
    @Test func feedingTokensOneAtATimeEqualsOneWindow() throws {
        let configuration = ModelConfiguration(vocabularySize: 9, embeddingSize: 5, hiddenSize: 6, layers: 2)
        let model = try LanguageModel(configuration: configuration, backend: CPUBackend(), seed: 5)
        try model.initializeWeights(seed: 5, range: 0.5)
        let executor = SequentialExecutor(model: model)
        let tokens: [Int32] = [3, 1, 4, 1, 5, 8, 2, 6]

        try model.resetState(batch: 1)
        let whole = try executor.logits(after: TokenWindow(inputs: tokens, targets: tokens, steps: tokens.count, batch: 1))
        try model.resetState(batch: 1)
        var stepwise: [Float] = []
        for token in tokens {
            stepwise = try executor.logits(after: TokenWindow(inputs: [token], targets: [token], steps: 1, batch: 1))
        }
        #expect(whole.count == 9)
        for (a, b) in zip(whole, stepwise) { #expect(abs(a - b) <= 1e-5 * max(1, abs(a)), "\(whole) vs \(stepwise)") }
        // And the state matters: from a fresh state the last token alone gives other logits.
        try model.resetState(batch: 1)
        let alone = try executor.logits(after: TokenWindow(inputs: [tokens.last!], targets: [0], steps: 1, batch: 1))
        #expect(zip(whole, alone).contains { abs($0 - $1) > 1e-3 })
    }
}
