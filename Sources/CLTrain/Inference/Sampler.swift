import Foundation

/// Generates text from a language model: feeds the prompt, then draws each next token from
/// softmax(logits / temperature) and feeds it back. Batch of one; the model's carried state is reset.
public struct Sampler {
    public let model: LanguageModel
    public let vocabulary: Vocabulary
    /// Sampling feeds short windows one after another: one part after another on the calling thread.
    private let executor: SequentialExecutor

    public init(model: LanguageModel, vocabulary: Vocabulary) throws {
        guard vocabulary.count == model.configuration.vocabularySize else {
            throw CLTrainError.invalidArgument("vocabulary of \(vocabulary.count) tokens for a model of \(model.configuration.vocabularySize)")
        }
        self.model = model
        self.vocabulary = vocabulary
        executor = SequentialExecutor(model: model)
    }

    /// The most tokens one call generates: each is a forward step, and 10 million of them take
    /// hours on any device, so more is a typo rather than a request.
    public static let maxLength = 10_000_000
    public static let maxLengthReason = "tokens to generate, one forward step each"

    /// The prompt followed by `length` generated tokens, as text.
    /// An empty prompt starts from a line break. Temperature 0 picks the most likely token.
    public func generate(prompt: String, length: Int, temperature: Float, seed: UInt64) throws -> String {
        var text = ""
        try generate(prompt: prompt, length: length, temperature: temperature, seed: seed) { text += $0 }
        return text
    }

    /// As `generate(prompt:length:temperature:seed:)`, handing the text to `emit` piece by piece as
    /// it is generated (the prompt first, then each token as it is drawn); the pieces joined are
    /// that function's result.
    public func generate(prompt: String, length: Int, temperature: Float, seed: UInt64,
                         emit: (String) -> Void) throws {
        try InputNumber.check(temperature, "--temperature", in: .nonNegative,
                              why: "softmax(logits / temperature); 0 picks the most likely token")
        try InputNumber.check(length, "--length", in: 0...Self.maxLength, why: Self.maxLengthReason)
        var generator = SplitMix64(seed: seed)
        let start = vocabulary.level == .char ? "\n" : Vocabulary.endOfLine
        let encoded = vocabulary.encode(prompt)
        let promptIDs = encoded.isEmpty ? [vocabulary.id(of: start)] : encoded   // e.g. "" or only spaces
        try model.resetState(batch: 1)
        emit(prompt)
        // Word-level text puts a space before every word that does not start a line (as
        // `TokenLevel.detokenize` joins them); a prompt of words counts as a word before the first.
        var atLineStart = vocabulary.level == .char || encoded.isEmpty
        // The prompt goes in as one window; each generated token as a window of one step.
        var window = try TokenWindow(inputs: promptIDs, targets: promptIDs, steps: promptIDs.count, batch: 1)
        for _ in 0..<length {
            let logits = try executor.logits(after: window)
            let next = Int32(Self.draw(from: logits, temperature: temperature, using: &generator))
            let token = vocabulary.decode([next])
            if vocabulary.level != .char {   // words, however they were split
                let endOfLine = token == "\n"
                emit(endOfLine || atLineStart ? token : " " + token)
                atLineStart = endOfLine
            } else {
                emit(token)
            }
            window = try TokenWindow(inputs: [next], targets: [next], steps: 1, batch: 1)
        }
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
