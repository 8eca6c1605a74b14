/// Token strings ↔ ids. Built from the training split; id 0 is the unknown token, which every
/// token not in the vocabulary maps to.
public struct Vocabulary: Codable, Equatable, Sendable {
    public static let unknown = "<unk>"
    public static let endOfLine = "<eos>"

    public let level: TokenLevel
    /// tokens[id]; tokens[0] is `<unk>`.
    public let tokens: [String]
    private let ids: [String: Int32]

    public init(level: TokenLevel, tokens: [String]) throws {
        guard tokens.first == Vocabulary.unknown else {
            throw CLTrainError.invalidArgument("a vocabulary must start with \(Vocabulary.unknown)")
        }
        var ids: [String: Int32] = [:]
        for (id, token) in tokens.enumerated() {
            guard ids.updateValue(Int32(id), forKey: token) == nil else {
                throw CLTrainError.invalidArgument("vocabulary lists '\(token)' twice")
            }
        }
        self.level = level
        self.tokens = tokens
        self.ids = ids
    }

    /// The vocabulary of `texts`: the unknown token, then tokens by descending frequency (ties in
    /// code-point order, so the result never depends on hashing), at most `maxSize` in all.
    public static func build(from texts: [String], level: TokenLevel, maxSize: Int? = nil) throws -> Vocabulary {
        var counts: [String: Int] = [:]
        for text in texts {
            for token in level.tokenize(text) { counts[token, default: 0] += 1 }
        }
        counts[unknown] = nil
        var ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
        if let maxSize { ranked = Array(ranked.prefix(maxSize > 0 ? maxSize - 1 : 0)) }   // Int.min − 1 would trap
        return try Vocabulary(level: level, tokens: [unknown] + ranked.map(\.key))
    }

    public var count: Int { tokens.count }

    public func id(of token: String) -> Int32 { ids[token] ?? 0 }

    public func encode(_ text: String) -> [Int32] { level.tokenize(text).map(id(of:)) }

    public func decode(_ ids: [Int32]) -> String {
        level.detokenize(ids.map { tokens.indices.contains(Int($0)) ? tokens[Int($0)] : Vocabulary.unknown })
    }

    // Codable: the level and the token list; the lookup table is rebuilt.
    private enum CodingKeys: String, CodingKey { case level, tokens }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(level: container.decode(TokenLevel.self, forKey: .level),
                      tokens: container.decode([String].self, forKey: .tokens))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(level, forKey: .level)
        try container.encode(tokens, forKey: .tokens)
    }

    public static func == (a: Vocabulary, b: Vocabulary) -> Bool { a.level == b.level && a.tokens == b.tokens }
}
