import Testing
@testable import CLTrain

/// The beam search on a real translation model: a tiny random `TranslationModel` on the CPU seen
/// through `ModelTranslator` (seconds).
@Suite struct BeamSearchModelTests {
    static func translator(seed: UInt64 = 3) throws -> ModelTranslator {
        let configuration = TranslationConfiguration(sourceVocabularySize: 9, targetVocabularySize: 8, embeddingSize: 3,
                                                     hiddenSize: 4, layers: 2)
        let model = try TranslationModel(configuration: configuration, backend: CPUBackend(), seed: seed)
        try model.initializeWeights(seed: seed, range: 0.5)   // larger than 0.08, so the outputs differ between sources
        return ModelTranslator(model: model)
    }

    /// Sources of 1 to 6 tokens (the longest's limit is ⌊2·6⌋ + 10 = 22).
    static let sources: [[Int32]] = [[4, 5, 6], [7], [8, 4], [4, 4, 5, 6, 7, 8], [0, 5]]

    /// Seeds whose models never take <pad> or <bos> greedily (a trained model does not either).
    @Test(arguments: [1, 2, 4] as [UInt64])
    func beamOneIsGreedy(seed: UInt64) throws {
        let translator = try Self.translator(seed: seed)
        let options = BeamSearchOptions(beam: 1)
        let search = try BeamSearch(model: translator, options: options)
        var words = 0
        for source in Self.sources {
            let found = try search.translate([source])
            #expect(found == [[try Reference.greedy(translator, source: source, options: options)]], "source \(source)")
            // The model's own greedy decoder stops after maxLength tokens where the search ends
            // with <eos> one earlier; neither writes <pad> or <bos>.
            let greedy = try translator.greedyTranslate([source], maxLength: options.maxLength(sourceLength: source.count) - 1)[0]
            try #require(!greedy.contains(TranslationVocabulary.paddingID) && !greedy.contains(TranslationVocabulary.beginningID),
                         "seed \(seed): greedy wrote <pad> or <bos>")
            #expect(found.first?.first?.tokens == greedy, "source \(source)")
            words += greedy.count
        }
        #expect(words > 0, "the outputs are not all empty")
    }

    @Test func aBatchGivesWhatEachSentenceGivesAlone() throws {
        let translator = try Self.translator(seed: 5)
        let search = try BeamSearch(model: translator, options: BeamSearchOptions(beam: 3, nBest: 2, lengthPenalty: 0.6))
        let batched = try search.translate(Self.sources)
        for (source, together) in zip(Self.sources, batched) {
            let alone = try search.translate([source])[0]
            #expect(together.map(\.tokens) == alone.map(\.tokens), "source \(source)")
            // Rows of a larger gemm may round differently.
            expectClose(together.map { Float($0.score) }, alone.map(\.score), atol: 1e-5, rtol: 1e-5, "scores of \(source)")
        }
    }
}
