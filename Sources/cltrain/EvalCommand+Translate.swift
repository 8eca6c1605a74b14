import ArgumentParser
import CLTrain
import Foundation

/// `cltrain eval` on a translation checkpoint: test perplexity per target token.
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
        // BLEU goes here once beam search exists (`cltrain translate`): decode `encoded.test`'s sources
        // with --beam, score the hypotheses against `pairs`' targets with `CorpusBLEU`, print it and
        // add "bleu" to the JSON.
        if let json { try EvalResult(loss: loss, perplexity: perplexity, tokens: tokens, split: split, data: name).write(to: json) }
    }
}
