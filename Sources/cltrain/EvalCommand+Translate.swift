import ArgumentParser
import CLTrain
import Foundation

/// `cltrain eval` on a translation checkpoint: test perplexity per target token, and BLEU.
extension EvalCommand {
    func evaluateTranslation(_ modelFile: URL) throws {
        if bptt != nil { throw ValidationError("--bptt: a translation model reads whole sentences; leave it out") }
        let backend = try DeviceChoice.backend(for: device)
        let (model, description) = try TranslationCheckpoint.load(from: modelFile, backend: backend)
        let trainedOn = TranslationDirection(rawValue: description.data?.source ?? "")
        let pairs: [SentencePair], name: String
        if parallel.source == nil, parallel.target == nil, let testSource = parallel.testSource, let testTarget = parallel.testTarget {
            // A held-out pair of files, scored whole.
            guard split == .test || split == .all else { throw ValidationError("--test-source/--test-target are scored whole: leave out --split \(split.rawValue)") }
            pairs = try ParallelCorpus.read(source: testSource, target: testTarget).pairs
            name = "\(testSource) → \(testTarget)"
        } else {
            let data = dataFlag ?? (parallel.source == nil && trainedOn != nil ? GermanEnglishData.name : nil)
            let corpus = try parallel.corpus(data: data, defaultDirection: trainedOn ?? .deEn)
            pairs = switch split {
            case .train: corpus.train
            case .validation: corpus.validation
            case .test: corpus.test
            case .all: corpus.train + corpus.validation + corpus.test
            }
            name = corpus.name
        }
        let encoded = try TranslationDataset.build(ParallelCorpus(name: name, train: [], validation: [], test: pairs),
                                                   sourceVocabularySize: nil, targetVocabularySize: nil,
                                                   vocabularies: (description.sourceVocabulary, description.targetVocabulary))
        let batch = batch ?? description.options?.batch ?? 64
        try flagCheck { try InputNumber.check(batch, "--batch", in: 1...Int(Int32.max)) }
        let batcher = try TranslationBatcher(pairs: encoded.test, batchSize: batch, reverseSource: model.configuration.reverseSource,
                                             seed: description.options?.seed ?? 1)
        let (loss, tokens) = try TranslationExecutor(model: model).meanLoss(over: batcher)
        let perplexity = exp(loss)
        print("\(split.rawValue) loss \(loss), perplexity \(perplexity) (\(tokens) target tokens of \(pairs.count) sentence pairs of \(name), \(split.noun))")
        let bleu = try Self.bleu(model, description: description, sources: encoded.test.map(\.source), references: pairs.map(\.target),
                                 options: decoding.options(), batch: batch)
        print("\(split.rawValue) \(bleu.line) (beam \(decoding.options().beam))")
        print(bleu.signature)
        if let json {
            try EvalResult(loss: loss, perplexity: perplexity, tokens: tokens, split: split, data: name,
                           bleu: (bleu, decoding.options().beam)).write(to: json)
        }
    }

    /// Corpus BLEU of `model`'s translations of `sources` (encoded, reading order) against
    /// `references` (the raw target lines), `batch` sentences searched at a time.
    static func bleu(_ model: TranslationModel, description: TranslationCheckpoint.Description, sources: [[Int32]],
                     references: [String], options: BeamSearchOptions, batch: Int) throws -> BLEUScore {
        let search = try BeamSearch(model: try TranslationDecoding.translator(model), options: options)
        let translator = try SentenceTranslator(search: search, sourceVocabulary: description.sourceVocabulary,
                                                targetVocabulary: description.targetVocabulary)
        var hypotheses: [String] = []
        for start in stride(from: 0, to: sources.count, by: batch) {
            let found = try translator.translate(encoded: Array(sources[start..<min(start + batch, sources.count)]))
            hypotheses += found.map { description.targetVocabulary.hypothesisLine($0.first?.tokens ?? []) }
        }
        return try CorpusBLEU.score(hypotheses: hypotheses, references: [references])
    }
}
