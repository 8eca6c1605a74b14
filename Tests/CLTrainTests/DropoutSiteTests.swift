import Foundation
import Testing
@testable import CLTrain

/// Zaremba et al.'s dropout placement (`DropoutSite`), checked against one step worked by hand.
@Suite("Dropout sites")
struct DropoutSiteTests {
    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    /// V 2, E 2, H 2, one layer, one step of one sequence (token 1, target 0), dropout 0.5 at the
    /// embedding's output and at the decoder's input. The weights are chosen so each quantity is a
    /// short formula; the generator is chosen so the embedding mask is [2, 0] and the output's [0, 2].
    @Test func embeddingAndOutputDropoutMatchAStepWorkedByHand() throws {
        let c = ModelConfiguration(vocabularySize: 2, embeddingSize: 2, hiddenSize: 2, layers: 1, dropout: 0.5,
                                   dropoutSites: DropoutSite.zaremba)
        let model = try LanguageModel(configuration: c, backend: CPUBackend(), seed: 1)
        func set(_ name: String, _ values: [Float]) throws {
            let p = try #require(model.parameters.first { $0.name == name })
            try p.backend.upload(values, to: p.value)
        }
        try set("embedding.weight", [7, 7, /* token 1: */ 0.5, -1])
        // Rows i0 i1 f0 f1 g0 g1 o0 o1, columns x0 x1: only g reads x0; x1 (dropped) would move every gate.
        try set("rnn.weight_ih_l0", [0, 9, 0, 9, 0, 9, 0, 9, 1, 9, 0.5, 9, 0, 9, 0, 9])
        try set("rnn.weight_hh_l0", [Float](repeating: 3, count: 16))   // h0 = 0: never read
        try set("rnn.bias_ih_l0", [Float](repeating: 0, count: 8))
        try set("rnn.bias_hh_l0", [Float](repeating: 0, count: 8))
        try set("decoder.weight", [1, 3, -1, 2])
        try set("decoder.bias", [0.1, -0.1])
        // The first seed whose draws give masks [keep, drop] then [drop, keep] (keep: unit float < 0.5).
        var seed: UInt64 = 0
        while true {
            var g = SplitMix64(seed: seed)
            let d = (0..<4).map { _ in g.unitFloat() }
            if d[0] < 0.5, d[1] >= 0.5, d[2] >= 0.5, d[3] < 0.5 { break }
            seed += 1
        }
        model.dropoutGenerator = SplitMix64(seed: seed)

        let window = try TokenWindow(inputs: [1], targets: [0], steps: 1, batch: 1)
        try model.zeroGradients()
        let loss = try SequentialExecutor(model: model).trainingStep(window)

        // By hand. x = [0.5·2, −1·0] = [1, 0]; gate pre-activations: g = [1, 0.5], all others 0.
        let i = 0.5, o = 0.5   // σ(0)
        let g1 = tanh(0.5)
        let c1 = i * g1                          // c = f·c0 + i·g with c0 = 0
        let h1 = o * tanh(c1)                    // unit 0's h is dropped before the decoder
        let top = [0, 2 * h1]
        let logits = [1 * top[0] + 3 * top[1] + 0.1, -1 * top[0] + 2 * top[1] - 0.1]
        let logZ = log(exp(logits[0]) + exp(logits[1]))
        #expect(abs(loss - (logZ - logits[0])) <= 1e-6, "loss \(loss)")
        let dLogits = [exp(logits[0] - logZ) - 1, exp(logits[1] - logZ)]
        // ∂L/∂h1 through the output mask (2), then the cell: only g1 reads x0 (weight 0.5).
        let dh1 = 2 * (dLogits[0] * 3 + dLogits[1] * 2)
        let dc1 = dh1 * o * (1 - tanh(c1) * tanh(c1))
        let dg1 = dc1 * i * (1 - g1 * g1)
        let dx0 = 0.5 * dg1

        func gradient(_ name: String) throws -> [Float] {
            let p = try #require(model.parameters.first { $0.name == name })
            return try p.backend.download(p.gradient)
        }
        func close(_ a: [Float], _ b: [Double]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { abs(Double($0) - $1) <= 1e-6 * max(1, abs($1)) }
        }
        let decoderWeight = try gradient("decoder.weight")
        #expect(close(decoderWeight, [dLogits[0] * top[0], dLogits[0] * top[1], dLogits[1] * top[0], dLogits[1] * top[1]]),
                "\(decoderWeight)")
        #expect(decoderWeight[0] == 0 && decoderWeight[2] == 0, "the dropped top unit feeds the decoder nothing")
        // The embedding: token 1's row gets the mask times ∂L/∂x; the dropped unit exactly 0.
        let embedding = try gradient("embedding.weight")
        #expect(close(embedding, [0, 0, 2 * dx0, 0]), "\(embedding)")
        #expect(embedding[3] == 0)
        // W_ih's gradient is ∂L/∂gates ⊗ x: the dropped input's column is 0.
        let weightIH = try gradient("rnn.weight_ih_l0")
        #expect(stride(from: 1, to: 16, by: 2).allSatisfy { weightIH[$0] == 0 }, "\(weightIH)")
        #expect(abs(Double(weightIH[10]) - dg1) <= 1e-6 * max(1, abs(dg1)), "g1's row, x0's column")
    }

    @Test func theDefaultSiteIsBetweenLayersAndDrawsWhatItAlwaysDrew() throws {
        // One layer, default sites: no mask at all, so dropout changes nothing (as before).
        let window = try TokenWindow(inputs: [1, 0, 1], targets: [0, 1, 1], steps: 3, batch: 1)
        func loss(_ dropout: Float, _ sites: [DropoutSite]?, layers: Int = 1) throws -> Double {
            let c = ModelConfiguration(vocabularySize: 2, embeddingSize: 3, hiddenSize: 3, layers: layers, dropout: dropout,
                                       dropoutSites: sites)
            return try SequentialExecutor(model: LanguageModel(configuration: c, backend: CPUBackend(), seed: 4)).trainingStep(window)
        }
        #expect(try loss(0.5, nil) == loss(0, nil))
        #expect(try loss(0.5, [.between]) == loss(0.5, nil))
        #expect(try loss(0.5, [.between], layers: 2) == loss(0.5, nil, layers: 2))
        #expect(try loss(0.5, [.embedding]) != loss(0, nil))
        #expect(try loss(0.5, [.output]) != loss(0, nil))
        // Nil stays out of the checkpoint's JSON, so old checkpoints and new ones of the same run agree.
        let encoded = String(decoding: try JSONEncoder().encode(ModelConfiguration(vocabularySize: 2, embeddingSize: 3, hiddenSize: 3, layers: 1)),
                             as: UTF8.self)
        #expect(!encoded.contains("dropoutSites"))
    }

    @Test func sitesParseInCanonicalOrderAndUnknownOnesAreRefused() throws {
        #expect(try DropoutSite.parseList("output,embedding,between,output") == DropoutSite.zaremba)
        #expect(try DropoutSite.parseList("between") == [.between])
        #expect(throws: CLTrainError.self) { try DropoutSite.parseList("embedding,recurrent") }
        #expect(throws: CLTrainError.self) { try DropoutSite.parseList("") }
    }

    @Test func outputDropoutIsRefusedInThePipelineRatherThanIgnored() throws {
        let c = ModelConfiguration(vocabularySize: 4, embeddingSize: 2, hiddenSize: 2, layers: 2, dropout: 0.5, dropoutSites: [.output])
        let devices = ModelDevices(layers: [CPUBackend(), CPUBackend()], softmaxShards: [(CPUBackend(), 0..<4)])
        let model = try LanguageModel(configuration: c, devices: devices, seed: 1)
        let executor = ExecutionSchedule.wavefront(stepsPerRun: 1, microBatches: 1).makeExecutor(for: model)
        let window = try TokenWindow(inputs: [1, 2], targets: [2, 3], steps: 2, batch: 1)
        let error = #expect(throws: CLTrainError.self) { _ = try executor.trainingStep(window) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("not pipelined"))
    }
}
