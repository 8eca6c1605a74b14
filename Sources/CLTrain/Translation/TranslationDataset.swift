/// A parallel corpus tokenized (13a: words with punctuation split off) and encoded with one
/// vocabulary per side, each built from the training split: what a translation model trains on.
public struct TranslationDataset: Sendable {
    public let corpus: ParallelCorpus
    public let sourceVocabulary: TranslationVocabulary
    public let targetVocabulary: TranslationVocabulary
    /// The splits' pairs as ids, in the corpus's order (`pairIndices` of a batch index these).
    public let train: [EncodedPair]
    public let validation: [EncodedPair]
    public let test: [EncodedPair]

    /// Tokenizes `corpus`; `sourceVocabularySize` and `targetVocabularySize` cap each side's
    /// vocabulary (specials included, at least 5; nil: every training token). The vocabularies
    /// of a checkpoint can be given instead, so that a resumed or evaluated model keeps its own.
    public static func build(_ corpus: ParallelCorpus, sourceVocabularySize: Int?, targetVocabularySize: Int?,
                             vocabularies given: (source: TranslationVocabulary, target: TranslationVocabulary)? = nil) throws
        -> TranslationDataset {
        func tokenized(_ pairs: [SentencePair]) -> [(source: [String], target: [String])] {
            pairs.map { (Tokenizer13a.tokenize($0.source), Tokenizer13a.tokenize($0.target)) }
        }
        let train = tokenized(corpus.train)
        let source = try given?.source ?? TranslationVocabulary.build(from: train.map(\.source), maxSize: sourceVocabularySize,
                                                                        name: "--source-vocab")
        let target = try given?.target ?? TranslationVocabulary.build(from: train.map(\.target), maxSize: targetVocabularySize,
                                                                        name: "--target-vocab")
        func encoded(_ pairs: [(source: [String], target: [String])]) -> [EncodedPair] {
            pairs.map { EncodedPair(source: source.encode($0.source), target: target.encode($0.target)) }
        }
        return TranslationDataset(corpus: corpus, sourceVocabulary: source, targetVocabulary: target, train: encoded(train),
                                  validation: encoded(tokenized(corpus.validation)), test: encoded(tokenized(corpus.test)))
    }
}
