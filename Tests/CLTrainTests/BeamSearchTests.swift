import Foundation
import Testing
@testable import CLTrain

/// A translator whose every next-token distribution is a fixed pseudo-random function of the
/// source and the whole prefix fed so far: small enough (a few words) that every output can be
/// enumerated, and each row independent of the others, as a real model's are.
final class TableTranslator: StepwiseTranslator {
    /// One row of a batch: a hash of the source and of the tokens fed so far.
    typealias DecoderState = [UInt64]

    let targetVocabularySize: Int
    let seed: UInt64
    /// Added to `<eos>`'s logit: negative makes outputs long.
    let endBias: Float
    /// Added to `<pad>`'s and `<bos>`'s logits: positive makes them the most likely tokens.
    let neverGeneratedBias: Float
    /// `step` calls so far.
    private(set) var steps = 0

    init(vocabularySize: Int = 7, seed: UInt64 = 1, endBias: Float = 0, neverGeneratedBias: Float = 0) {
        targetVocabularySize = vocabularySize
        self.seed = seed
        self.endBias = endBias
        self.neverGeneratedBias = neverGeneratedBias
    }

    func encode(_ sources: [[Int32]]) throws -> [UInt64] {
        sources.map { $0.reduce(seed) { Self.combine($0, $1) } }
    }

    func step(_ tokens: [Int32], from state: [UInt64]) throws -> (logProbabilities: [Float], state: [UInt64]) {
        guard tokens.count == state.count else { throw CLTrainError.invalidArgument("\(tokens.count) tokens for \(state.count) rows") }
        steps += 1
        let next = zip(state, tokens).map { Self.combine($0, $1) }
        return (next.flatMap(logProbabilities(after:)), next)
    }

    func select(_ rows: [Int], of state: [UInt64]) throws -> [UInt64] {
        guard rows.allSatisfy(state.indices.contains) else { throw CLTrainError.invalidArgument("rows \(rows) of \(state.count)") }
        return rows.map { state[$0] }
    }

    /// log softmax of logits drawn in [−2, 2) from the prefix's hash, `endBias` on `<eos>`.
    func logProbabilities(after key: UInt64) -> [Float] {
        var generator = SplitMix64(seed: key)
        var logits = generator.floats(targetVocabularySize, scale: 2)
        logits[Int(TranslationVocabulary.endID)] += endBias
        for token in TranslationVocabulary.neverGenerated { logits[Int(token)] += neverGeneratedBias }
        let top = logits.max() ?? 0
        let logSum = Float(log(Double(logits.reduce(0) { $0 + exp($1 - top) })))
        return logits.map { $0 - top - logSum }
    }

    static func combine(_ key: UInt64, _ token: Int32) -> UInt64 {
        SplitMix64.draw(1, fromState: key ^ (UInt64(UInt32(bitPattern: token)) &* 0x100_0000_01b3))
    }
}

/// The search's rules applied by brute force: every output, scored, sorted.
enum Reference {
    /// The tokens a hypothesis may take next (rule 1): all but <pad> and <bos>.
    static func allowed(_ vocabularySize: Int) -> [Int32] {
        (0..<Int32(vocabularySize)).filter { !BeamSearch<TableTranslator>.blockedTokens.contains($0) }
    }

    /// Every output of `source` under `logProbabilities` (given the model's state after a prefix),
    /// best first: exhaustive search.
    static func exhaustive<M: StepwiseTranslator>(_ model: M, source: [Int32], options: BeamSearchOptions) throws -> [TranslationHypothesis] {
        let maxLength = options.maxLength(sourceLength: source.count)
        var results: [TranslationHypothesis] = []
        func extend(_ prefix: [Int32], _ logProbability: Double, _ state: M.DecoderState) throws {
            let (row, next) = try model.step([prefix.last ?? TranslationVocabulary.beginningID], from: state)
            let length = prefix.count + 1
            for token in allowed(model.targetVocabularySize) where length < maxLength || token == TranslationVocabulary.endID {
                let total = logProbability + Double(min(row[Int(token)], 0))
                if token == TranslationVocabulary.endID {
                    results.append(TranslationHypothesis(tokens: prefix, logProbability: total,
                                                         score: total / options.lengthNormaliser(tokens: length)))
                } else {
                    try extend(prefix + [token], total, next)
                }
            }
        }
        try extend([], 0, try model.encode([source]))
        return results.sorted(by: TranslationHypothesis.ranksBefore)
    }

    /// The most likely token at every step (the first of equals), until <eos> or the length limit.
    static func greedy<M: StepwiseTranslator>(_ model: M, source: [Int32], options: BeamSearchOptions) throws -> TranslationHypothesis {
        let maxLength = options.maxLength(sourceLength: source.count)
        var state = try model.encode([source])
        var tokens: [Int32] = [], logProbability = 0.0
        while true {
            let (row, next) = try model.step([tokens.last ?? TranslationVocabulary.beginningID], from: state)
            state = next
            let choices = tokens.count + 1 < maxLength ? allowed(model.targetVocabularySize) : [TranslationVocabulary.endID]
            var best = choices[0]
            for token in choices where min(row[Int(token)], 0) > min(row[Int(best)], 0) { best = token }
            logProbability += Double(min(row[Int(best)], 0))
            if best == TranslationVocabulary.endID {
                return TranslationHypothesis(tokens: tokens, logProbability: logProbability,
                                             score: logProbability / options.lengthNormaliser(tokens: tokens.count + 1))
            }
            tokens.append(best)
        }
    }
}

@Suite struct BeamSearchTests {
    /// Sources of 1 token and R = 0.1: T_max = 10, so outputs have at most 9 tokens before their
    /// <eos>. A vocabulary of 5 (the four specials and one word) leaves two choices for each,
    /// <unk> and the word: 2⁰ + … + 2⁹ = 1 023 outputs, which a beam of 1 024 holds.
    static let outputs = 1023

    /// Across tables, sources and N: with A = 2, stopping on a bound computed at the current
    /// length (OpenNMT's and Hugging Face's default heuristic) misses the best output for most of
    /// these tables, so this also checks the bound of rule 4.
    @Test(arguments: [0.0, 0.6, 2.0])
    func aBeamAsLargeAsTheOutputsIsExhaustiveSearch(lengthPenalty: Double) throws {
        for seed: UInt64 in 1...6 {
            let table = TableTranslator(vocabularySize: 5, seed: seed)
            for source: [Int32] in [[4], [0]] {
                for nBest in [1, 3] {
                    let options = BeamSearchOptions(beam: Self.outputs + 1, nBest: nBest, lengthPenalty: lengthPenalty, maxLengthRatio: 0.1)
                    let all = try Reference.exhaustive(table, source: source, options: options)
                    #expect(all.count == Self.outputs)
                    let found = try BeamSearch(model: table, options: options).translate([source])
                    #expect(found == [Array(all.prefix(nBest))], "seed \(seed), source \(source), N \(nBest), A \(lengthPenalty)")
                }
            }
        }
    }

    @Test func theLengthPenaltyChangesWhatWins() throws {
        // Not a test of the penalty's formula (exhaustive search above uses the same one) but that
        // this table is one where it matters, so the test above sees both regimes.
        let table = TableTranslator(vocabularySize: 5, seed: 7)
        let plain = try Reference.exhaustive(table, source: [4], options: BeamSearchOptions(maxLengthRatio: 0.1))
        let penalised = try Reference.exhaustive(table, source: [4], options: BeamSearchOptions(lengthPenalty: 2, maxLengthRatio: 0.1))
        #expect(plain[0].tokens != penalised[0].tokens)
        #expect(penalised[0].tokens.count > plain[0].tokens.count)
    }

    @Test func nBestIsInScoreOrderWithScoresThatAddUp() throws {
        let table = TableTranslator(seed: 3)
        let options = BeamSearchOptions(beam: 8, nBest: 8, lengthPenalty: 0.6)
        let best = try BeamSearch(model: table, options: options).translate([[4, 5, 6]])[0]
        #expect(best.count == 8)
        #expect(zip(best, best.dropFirst()).allSatisfy { TranslationHypothesis.ranksBefore($0, $1) })
        #expect(Set(best.map(\.tokens)).count == 8)
        for hypothesis in best {   // each score is its tokens' log-probabilities under the table
            var key = try table.encode([[4, 5, 6]])[0], previous = TranslationVocabulary.beginningID, sum = 0.0
            for token in hypothesis.tokens + [TranslationVocabulary.endID] {
                key = TableTranslator.combine(key, previous)
                sum += Double(min(table.logProbabilities(after: key)[Int(token)], 0))
                previous = token
            }
            #expect(hypothesis.logProbability == sum)
            #expect(hypothesis.score == sum / options.lengthNormaliser(tokens: hypothesis.tokens.count + 1))
        }
    }

    @Test func beamOneIsGreedy() throws {
        for seed: UInt64 in 1...20 {
            let table = TableTranslator(seed: seed, endBias: -1)
            let options = BeamSearchOptions(beam: 1)
            let source: [Int32] = [4, 5, Int32(seed % 3) + 4]
            let found = try BeamSearch(model: table, options: options).translate([source])
            #expect(found == [[try Reference.greedy(table, source: source, options: options)]], "seed \(seed)")
        }
    }

    /// Where `<pad>` and `<bos>` are the likeliest tokens, greedy decoding (like the search) writes
    /// the likeliest of the others, and the two agree.
    @Test func greedyNeverWritesPaddingOrBeginning() throws {
        for seed: UInt64 in 1...10 {
            let table = TableTranslator(seed: seed, endBias: -1, neverGeneratedBias: 10)
            let options = BeamSearchOptions(beam: 1)
            let source: [Int32] = [4, Int32(seed % 3) + 4]
            let greedy = try table.greedyTranslate([source], maxLength: options.maxLength(sourceLength: source.count) - 1)[0]
            #expect(!greedy.isEmpty && greedy.allSatisfy { !TranslationVocabulary.neverGenerated.contains($0) }, "seed \(seed): \(greedy)")
            let found = try BeamSearch(model: table, options: options).translate([source])
            #expect(found.first?.first?.tokens == greedy, "seed \(seed)")
        }
    }

    @Test func aBatchGivesWhatEachSentenceGivesAlone() throws {
        let table = TableTranslator(seed: 11, endBias: -0.5)
        let options = BeamSearchOptions(beam: 4, nBest: 3, lengthPenalty: 0.8)
        let sources: [[Int32]] = [[4], [5, 6, 4, 4, 5], [6, 6], [4, 5, 6, 0, 0, 4, 5, 6, 4]]
        let search = try BeamSearch(model: table, options: options)
        var alone: [[TranslationHypothesis]] = [], stepsAlone: [Int] = []
        for source in sources {
            let before = table.steps
            alone += try search.translate([source])
            stepsAlone.append(table.steps - before)
        }
        let before = table.steps
        #expect(try search.translate(sources) == alone)
        // All hypotheses of all sentences advance together: one step call per time step.
        #expect(table.steps - before == stepsAlone.max())
    }

    @Test func theMaxLengthRuleEndsEveryOutputWithinRTimesTheSourcePlusTen() throws {
        let table = TableTranslator(seed: 5, endBias: -30)   // <eos> all but never chosen
        for (ratio, source) in [(0.5, [Int32](repeating: 4, count: 3)), (1.5, [4, 5, 6, 4])] {
            let options = BeamSearchOptions(beam: 3, nBest: 3, maxLengthRatio: ratio)
            let maxLength = Int((ratio * Double(source.count)).rounded(.down)) + 10
            #expect(options.maxLength(sourceLength: source.count) == maxLength)
            let found = try BeamSearch(model: table, options: options).translate([source])[0]
            #expect(found.count == 3)
            // Forced to <eos> at T_max: T_max − 1 words, the forced <eos>'s log-probability counted.
            #expect(found.allSatisfy { $0.tokens.count == maxLength - 1 })
            #expect(found.allSatisfy { $0.logProbability < -30 })
        }
    }

    @Test func anEnsembleOfOneIsThatModel() throws {
        let table = TableTranslator(seed: 9)
        let ensemble = try EnsembleTranslator([table])
        let options = BeamSearchOptions(beam: 5, nBest: 2, lengthPenalty: 0.6)
        let sources: [[Int32]] = [[4, 5], [6]]
        #expect(try BeamSearch(model: ensemble, options: options).translate(sources)
                == BeamSearch(model: table, options: options).translate(sources))
    }

    @Test func anEnsembleOfTwoAveragesTheirLogProbabilities() throws {
        let a = TableTranslator(vocabularySize: 5, seed: 21), b = TableTranslator(vocabularySize: 5, seed: 22)
        let ensemble = try EnsembleTranslator([a, b])
        let state = try ensemble.encode([[4, 5]])
        let (row, _) = try ensemble.step([TranslationVocabulary.beginningID], from: state)
        let (rowA, _) = try a.step([TranslationVocabulary.beginningID], from: try a.encode([[4, 5]]))
        let (rowB, _) = try b.step([TranslationVocabulary.beginningID], from: try b.encode([[4, 5]]))
        #expect(row == zip(rowA, rowB).map { Float((Double($0) + Double($1)) / 2) })
        // And its search is exhaustive search over the averaged table.
        let options = BeamSearchOptions(beam: Self.outputs + 1, nBest: 3, lengthPenalty: 0.6, maxLengthRatio: 0.1)
        let all = try Reference.exhaustive(ensemble, source: [4], options: options)
        #expect(try BeamSearch(model: ensemble, options: options).translate([[4]]) == [Array(all.prefix(3))])
    }

    @Test func anEnsembleRefusesMembersOfDifferentVocabularies() throws {
        #expect(throws: CLTrainError.self) { try EnsembleTranslator([TableTranslator(vocabularySize: 6), TableTranslator(vocabularySize: 7)]) }
        #expect(throws: CLTrainError.self) { try EnsembleTranslator([TableTranslator]()) }
    }

    @Test func badOptionsAreRefusedByName() throws {
        let table = TableTranslator()
        for (options, flag) in [(BeamSearchOptions(beam: 0), "--beam"), (BeamSearchOptions(beam: 2, nBest: 3), "--n-best"),
                                (BeamSearchOptions(nBest: 0), "--n-best"),
                                (BeamSearchOptions(lengthPenalty: -1), "--length-penalty"),
                                (BeamSearchOptions(lengthPenalty: .nan), "--length-penalty"),
                                (BeamSearchOptions(lengthPenalty: .infinity), "--length-penalty"),
                                (BeamSearchOptions(maxLengthRatio: 0), "--max-length-ratio"),
                                (BeamSearchOptions(maxLengthRatio: 101), "--max-length-ratio")] {
            let error = #expect(throws: CLTrainError.self) { try BeamSearch(model: table, options: options) }
            guard case .invalidNumber(let number)? = error else { Issue.record("\(flag): \(String(describing: error))"); continue }
            #expect(number.name == flag)
        }
        #expect(throws: CLTrainError.self) { try BeamSearch(model: TableTranslator(vocabularySize: 4), options: BeamSearchOptions()) }
        #expect(throws: CLTrainError.self) { try BeamSearch(model: table, options: BeamSearchOptions()).translate([[4], []]) }
        #expect(try BeamSearch(model: table, options: BeamSearchOptions()).translate([]) == [])
    }
}
