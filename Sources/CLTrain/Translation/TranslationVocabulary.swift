/// One side's vocabulary for translation: token strings ↔ ids, with four special tokens at fixed
/// ids, then the training split's tokens by descending frequency (ties in code-point order, as
/// `Vocabulary` orders them), at most `maxSize` in all. Every token not in it maps to `<unk>`.
public struct TranslationVocabulary: Codable, Equatable, Sendable {
    public static let unknown = "<unk>", padding = "<pad>", beginning = "<bos>", end = "<eos>"
    /// The ids of the special tokens: `<unk>` 0 (as in `Vocabulary`), `<pad>` 1, `<bos>` 2, `<eos>` 3.
    public static let unknownID: Int32 = 0, paddingID: Int32 = 1, beginningID: Int32 = 2, endID: Int32 = 3
    public static let specials = [unknown, padding, beginning, end]
    /// What a decoder never writes (greedy and beam search skip them): `<pad>` and `<bos>`.
    public static let neverGenerated: Set<Int32> = [paddingID, beginningID]

    /// tokens[id]; the first four are `specials`.
    public let tokens: [String]
    private let ids: [String: Int32]

    public init(tokens: [String]) throws {
        guard tokens.starts(with: Self.specials) else {
            throw CLTrainError.invalidArgument("a translation vocabulary must start with \(Self.specials.joined(separator: " "))")
        }
        guard tokens.count <= Int(Int32.max) else {
            throw CLTrainError.invalidArgument("a translation vocabulary of \(tokens.count) tokens is too large; token ids are 32-bit")
        }
        var ids: [String: Int32] = [:]
        for (id, token) in tokens.enumerated() {
            guard ids.updateValue(Int32(id), forKey: token) == nil else {
                throw CLTrainError.invalidArgument("translation vocabulary lists '\(token)' twice")
            }
        }
        self.tokens = tokens
        self.ids = ids
    }

    /// The vocabulary of tokenized `sentences` (the training split's side), capped at `maxSize`
    /// tokens in all, the four specials included (so at least 5: the specials and one word).
    /// `name` names the flag in errors ("--source-vocab").
    public static func build(from sentences: [[String]], maxSize: Int?, name: String = "vocabulary size") throws -> TranslationVocabulary {
        if let maxSize {
            try InputNumber.check(maxSize, name, in: (specials.count + 1)...Int(Int32.max),
                                  why: "the four special tokens (\(specials.joined(separator: " "))) and at least one word")
        }
        var counts: [String: Int] = [:]
        for sentence in sentences {
            for token in sentence { counts[token, default: 0] += 1 }
        }
        for special in specials { counts[special] = nil }
        var ranked = counts.sorted {
            $0.value != $1.value ? $0.value > $1.value : $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars)
        }
        if let maxSize { ranked = Array(ranked.prefix(maxSize - specials.count)) }
        return try TranslationVocabulary(tokens: specials + ranked.map(\.key))
    }

    public var count: Int { tokens.count }

    public func id(of token: String) -> Int32 { ids[token] ?? Self.unknownID }

    /// The ids of `tokens`, no `<bos>` or `<eos>` added.
    public func encode(_ tokens: [String]) -> [Int32] { tokens.map(id(of:)) }

    /// The tokens of `ids`; an id out of range reads as `<unk>`.
    public func decode(_ ids: [Int32]) -> [String] {
        ids.map { tokens.indices.contains(Int($0)) ? tokens[Int($0)] : Self.unknown }
    }

    /// A decoder's output as a hypothesis line for `CorpusBLEU`: the tokens before the first
    /// `<eos>`, `<bos>` and `<pad>` left out, joined by single spaces. 13a tokenization of such a
    /// line gives back the same tokens (it is idempotent), so it scores as the detokenized text
    /// would against the references' raw lines.
    public func hypothesisLine(_ ids: [Int32]) -> String {
        ids.prefix { $0 != Self.endID }.filter { $0 != Self.beginningID && $0 != Self.paddingID }
            .map { tokens.indices.contains(Int($0)) ? tokens[Int($0)] : Self.unknown }
            .joined(separator: " ")
    }

    // Codable: the token list; the lookup table is rebuilt.
    private enum CodingKeys: String, CodingKey { case tokens }

    public init(from decoder: Decoder) throws {
        try self.init(tokens: decoder.container(keyedBy: CodingKeys.self).decode([String].self, forKey: .tokens))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tokens, forKey: .tokens)
    }

    public static func == (a: TranslationVocabulary, b: TranslationVocabulary) -> Bool { a.tokens == b.tokens }
}
