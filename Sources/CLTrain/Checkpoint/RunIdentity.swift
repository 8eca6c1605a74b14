import Foundation

/// What a training state must agree with to be resumed: which run wrote it, on which data.
/// Recorded in both checkpoint files, so that a state file copied from another run (another seed,
/// another batch size, another folder) or a model file replaced by another run's is refused.
public struct RunIdentity: Codable, Equatable, Sendable {
    /// Random, made when a run starts; a resumed run keeps its predecessor's.
    public let id: String

    public init(id: String) { self.id = id }

    /// A new random identity (128 bits, hex).
    public static func random() -> RunIdentity {
        var generator = SystemRandomNumberGenerator()
        return RunIdentity(id: (0..<2).map { _ in generator.next() as UInt64 }.map(\.hexString).joined())
    }
}

/// The training data a run saw: where it came from, how many tokens, and a fingerprint of the
/// token ids (which also changes with the vocabulary that encoded them).
public struct DataIdentity: Codable, Equatable, Sendable {
    /// The `--data` source as the run named it ("synthetic", a path, "shakespeare").
    public let source: String
    /// Tokens in the training split.
    public let tokens: Int
    /// FNV-1a over the training split's token ids (little-endian Int32), hex.
    public let fingerprint: String
    /// Tokens in the vocabulary (a translation run's: the source side's).
    public let vocabularySize: Int
    /// A translation run's target vocabulary (nil, and absent from the JSON, for a language model).
    public let targetVocabularySize: Int?

    public init(source: String, train: TokenStream, vocabularySize: Int) {
        self.source = source
        tokens = train.tokens.count
        var hash = FNV1a()
        Self.combine(train.tokens, into: &hash)
        fingerprint = hash.value.hexString
        self.vocabularySize = vocabularySize
        targetVocabularySize = nil
    }

    /// A translation run's training pairs: `tokens` counts both sides, the fingerprint runs over
    /// each pair's source ids, a −1, its target ids, a −1 (so that a token moved across the
    /// boundary changes it).
    public init(source: String, pairs: [EncodedPair], sourceVocabularySize: Int, targetVocabularySize: Int) {
        self.source = source
        var hash = FNV1a(), count = 0
        for pair in pairs {
            Self.combine(pair.source + [-1] + pair.target + [-1], into: &hash)
            count += pair.source.count + pair.target.count
        }
        tokens = count
        fingerprint = hash.value.hexString
        vocabularySize = sourceVocabularySize
        self.targetVocabularySize = targetVocabularySize
    }

    /// Each id as little-endian Int32 bytes.
    private static func combine(_ ids: [Int32], into hash: inout FNV1a) {
        ids.withUnsafeBufferPointer { tokens in
            for token in tokens {
                let bits = UInt32(bitPattern: token)
                hash.combine(CollectionOfOne(UInt8(truncatingIfNeeded: bits)))
                hash.combine(CollectionOfOne(UInt8(truncatingIfNeeded: bits >> 8)))
                hash.combine(CollectionOfOne(UInt8(truncatingIfNeeded: bits >> 16)))
                hash.combine(CollectionOfOne(UInt8(truncatingIfNeeded: bits >> 24)))
            }
        }
    }

    /// "'synthetic' (480 training tokens, vocabulary 16, fingerprint 0123…)".
    public var summary: String {
        let vocabulary = targetVocabularySize.map { "vocabularies \(vocabularySize) → \($0)" } ?? "vocabulary \(vocabularySize)"
        return "'\(source)' (\(tokens) training tokens, \(vocabulary), fingerprint \(fingerprint))"
    }

    /// Whether a run on `other` continues one on this data: the same tokens, wherever they were read.
    func matches(_ other: DataIdentity) -> Bool {
        tokens == other.tokens && fingerprint == other.fingerprint && vocabularySize == other.vocabularySize
            && targetVocabularySize == other.targetVocabularySize
    }
}
