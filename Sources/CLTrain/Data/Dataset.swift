/// A corpus tokenized with one vocabulary and laid out as BPTT streams for each split.
public struct Dataset: Sendable {
    public let source: String
    public let vocabulary: Vocabulary
    public let train: TokenStream
    public let validation: TokenStream
    public let test: TokenStream
    public var trainTokens: Int { train.tokens.count }

    /// Loads `data` (see `Corpus.load`, or "synthetic"). The vocabulary is built from the training
    /// split unless one is given (a resumed run or a checkpoint being evaluated keeps its own).
    /// Validation and test use the same batch, so their last partial windows are the only tokens
    /// not scored.
    public static func load(_ data: String, level: TokenLevel, vocabularySize: Int?, vocabulary given: Vocabulary? = nil,
                            batch: Int, bptt: Int, syntheticWindows: Int, seed: UInt64) throws -> Dataset {
        if data == "synthetic" {
            let vocabulary = try given ?? SyntheticData.vocabulary(size: vocabularySize ?? 0)
            func stream(_ windows: Int, _ salt: UInt64) throws -> TokenStream {
                try TokenStream(tokens: SyntheticData.tokens(vocabularySize: vocabulary.count, batch: batch, bptt: bptt,
                                                             windows: windows, seed: seed &+ salt),
                                batch: batch, steps: bptt)
            }
            return Dataset(source: "synthetic", vocabulary: vocabulary, train: try stream(syntheticWindows, 0),
                           validation: try stream(max(syntheticWindows / 10, 1), 1), test: try stream(max(syntheticWindows / 10, 1), 2))
        }
        let corpus = try Corpus.load(data)
        let vocabulary = try given ?? Vocabulary.build(from: corpus.train.map(\.text), level: level, maxSize: vocabularySize)
        guard vocabulary.level == level else {
            throw CLTrainError.invalidArgument("the checkpoint's vocabulary is \(vocabulary.level.rawValue)-level, not \(level.rawValue)-level")
        }
        func stream(_ documents: [Corpus.Document], _ split: String) throws -> TokenStream {
            let tokens = documents.flatMap { vocabulary.encode($0.text) }
            do {
                return try TokenStream(tokens: tokens, batch: batch, steps: bptt)
            } catch {
                throw CLTrainError.invalidArgument("the \(split) split of '\(data)' is too small: \(error)")
            }
        }
        return Dataset(source: corpus.source, vocabulary: vocabulary, train: try stream(corpus.train, "training"),
                       validation: try stream(corpus.validation, "validation"), test: try stream(corpus.test, "test"))
    }
}
