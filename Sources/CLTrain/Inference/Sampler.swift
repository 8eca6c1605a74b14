import Foundation

/// Generates text from a language model: feeds the prompt, then draws each next token from
/// softmax(logits / temperature) and feeds it back. Batch of one; the model's carried state is reset.
public struct Sampler {
    public let model: LanguageModel
    public let vocabulary: Vocabulary

    public init(model: LanguageModel, vocabulary: Vocabulary) throws {
        guard vocabulary.count == model.configuration.vocabularySize else {
            throw CLTrainError.invalidArgument("vocabulary of \(vocabulary.count) tokens for a model of \(model.configuration.vocabularySize)")
        }
        self.model = model
        self.vocabulary = vocabulary
    }

    /// The prompt followed by `length` generated tokens, as text.
    /// An empty prompt starts from a line break. Temperature 0 picks the most likely token.
    public func generate(prompt: String, length: Int, temperature: Float, seed: UInt64) throws -> String {
        guard temperature >= 0, temperature.isFinite else {
            throw CLTrainError.invalidArgument("temperature must be ≥ 0, got \(temperature)")
        }
        guard length >= 0 else { throw CLTrainError.invalidArgument("length must be ≥ 0, got \(length)") }
        var generator = SplitMix64(seed: seed)
        let start = vocabulary.level == .char ? "\n" : Vocabulary.endOfLine
        let encoded = vocabulary.encode(prompt)
        let promptIDs = encoded.isEmpty ? [vocabulary.id(of: start)] : encoded   // e.g. "" or only spaces
        try model.resetState(batch: 1)
        var ids: [Int32] = []
        // The prompt goes in as one window; each generated token as a window of one step.
        var window = try TokenWindow(inputs: promptIDs, targets: promptIDs, steps: promptIDs.count, batch: 1)
        for _ in 0..<length {
            let logits = try model.logits(after: window)
            let next = Int32(Self.draw(from: logits, temperature: temperature, using: &generator))
            ids.append(next)
            window = try TokenWindow(inputs: [next], targets: [next], steps: 1, batch: 1)
        }
        return prompt + (vocabulary.level == .word && !encoded.isEmpty ? " " : "") + vocabulary.decode(ids)
    }

    /// An index drawn with probability softmax(logits / temperature); argmax at temperature 0.
    static func draw(from logits: [Float], temperature: Float, using generator: inout SplitMix64) -> Int {
        guard temperature > 0 else { return logits.indices.max { logits[$0] < logits[$1] } ?? 0 }
        let scaled = logits.map { Double($0) / Double(temperature) }
        let top = scaled.max() ?? 0
        let weights = scaled.map { exp($0 - top) }
        var r = Double(generator.next() >> 11) * 0x1p-53 * weights.reduce(0, +)
        for (i, w) in weights.enumerated() {
            r -= w
            if r < 0 { return i }
        }
        return weights.count - 1
    }
}
