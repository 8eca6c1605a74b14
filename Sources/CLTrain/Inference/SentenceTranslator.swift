/// Text in, text out: each line tokenized as training tokenized it (`Tokenizer13a`, words the
/// source vocabulary lacks read as `<unk>`), searched by `BeamSearch`, and each hypothesis written
/// back as its target tokens joined by single spaces (`TranslationVocabulary.hypothesisLine`:
/// 13a-tokenized text, `<unk>` as is), which is what `CorpusBLEU` scores against raw references.
public struct SentenceTranslator<Model: StepwiseTranslator> {
    /// One hypothesis of a line, as text.
    public struct Line: Equatable, Sendable {
        public let text: String
        public let hypothesis: TranslationHypothesis
    }

    public let search: BeamSearch<Model>
    public let sourceVocabulary: TranslationVocabulary
    public let targetVocabulary: TranslationVocabulary

    /// Refuses a target vocabulary whose size is not the model's rows: its ids would name other words.
    public init(search: BeamSearch<Model>, sourceVocabulary: TranslationVocabulary, targetVocabulary: TranslationVocabulary) throws {
        guard targetVocabulary.count == search.model.targetVocabularySize else {
            throw CLTrainError.invalidArgument(
                "a target vocabulary of \(targetVocabulary.count) tokens for a model of \(search.model.targetVocabularySize) output rows")
        }
        self.search = search
        self.sourceVocabulary = sourceVocabulary
        self.targetVocabulary = targetVocabulary
    }

    /// The N best translations of each line, best first; none for a line without tokens (empty or
    /// white space only), which has nothing to translate.
    public func translate(_ lines: [String]) throws -> [[Line]] {
        try translate(encoded: lines.map { sourceVocabulary.encode(Tokenizer13a.tokenize($0)) }).map { hypotheses in
            hypotheses.map { Line(text: targetVocabulary.hypothesisLine($0.tokens), hypothesis: $0) }
        }
    }

    /// As `translate(_:)` for sources already encoded; an empty one gets no hypotheses.
    public func translate(encoded sources: [[Int32]]) throws -> [[TranslationHypothesis]] {
        let searched = try search.translate(sources.filter { !$0.isEmpty })
        var next = searched.makeIterator()
        return sources.map { $0.isEmpty ? [] : next.next() ?? [] }
    }
}
