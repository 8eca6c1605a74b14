/// One finished translation of a source.
public struct TranslationHypothesis: Equatable, Sendable {
    /// The output's tokens, its `<eos>` left out.
    public let tokens: [Int32]
    /// log P(Y | X): the sum of the step log-probabilities of its tokens and of its `<eos>`.
    public let logProbability: Double
    /// What hypotheses are ranked by: `logProbability / lp(tokens.count + 1)` (GNMT's length
    /// normalisation, the `<eos>` counted in |Y|; `logProbability` itself when A = 0).
    public let score: Double

    public init(tokens: [Int32], logProbability: Double, score: Double) {
        self.tokens = tokens
        self.logProbability = logProbability
        self.score = score
    }

    /// The final order, total and deterministic: higher score first, then the shorter, then the
    /// lexicographically smaller token ids.
    public static func ranksBefore(_ a: TranslationHypothesis, _ b: TranslationHypothesis) -> Bool {
        if a.score != b.score { return a.score > b.score }
        if a.tokens.count != b.tokens.count { return a.tokens.count < b.tokens.count }
        return a.tokens.lexicographicallyPrecedes(b.tokens)
    }
}

/// Left-to-right beam search over any `StepwiseTranslator` (a model, an ensemble), batched: every
/// live hypothesis of every unfinished sentence advances in the same `step` call, so one time step
/// of the whole batch is one step of device work. The rules, per sentence, with B = `beam`,
/// N = `nBest`, T_max = `options.maxLength(sourceLength:)`:
///
/// 1. The beam starts as the empty hypothesis, fed `<bos>`. At each step every live hypothesis of
///    t tokens is extended by every token but `<pad>` and `<bos>` (never a training target, so
///    their rows are untrained), scored by log P (the sum in Double of the step's log-probabilities,
///    each capped at 0 so that a score never rises). At t + 1 = T_max only `<eos>` may be taken.
/// 2. The candidates are ranked by log P (all have t + 1 tokens, so the length normalisation
///    would not change their order), ties broken by the parent's rank, then the lower token id.
/// 3. An `<eos>` candidate among the first B leaves the beam into the sentence's finished set
///    (Sutskever et al. 2014, §3.3: "removed from the beam and added to the set of complete
///    hypotheses"), scored log P / ((5 + t + 1)/6)^A. The best B candidates that are not `<eos>`
///    are the next beam, so the beam stays full while it can (fairseq's rule: the top 2B, `<eos>`
///    among the first B finalised).
/// 4. A sentence is done when its beam is empty, or when it has N finished hypotheses and no live
///    one can reach the N-th best's score: the best live log P divided by lp(T_max) is below it.
///    That bound is exact: log P only falls as tokens are added, and for A > 0 the normaliser is
///    largest at the longest output, so log P / lp(T_max) is the most any completion can score
///    (Hugging Face's `early_stopping="never"` bound). OpenNMT-py instead stops once the top
///    candidate is finished, and fairseq once B hypotheses are, both before that is certain when
///    A > 0; this search stops only when more steps cannot change the N best.
/// 5. The result is the N best finished hypotheses in `TranslationHypothesis.ranksBefore` order
///    (fewer only when fewer outputs exist at all).
///
/// With B ≥ the number of possible outputs nothing is ever pruned, so the result is exhaustive
/// search's. Beam 1 with A = 0 is greedy decoding: the most likely token at every step, ties to
/// the lower id, stopping at the first `<eos>` (with A > 0 the one live hypothesis may go on past
/// an `<eos>` that a longer output could outscore).
public struct BeamSearch<Model: StepwiseTranslator> {
    public let model: Model
    public let options: BeamSearchOptions

    /// Tokens never proposed: `<pad>` and `<bos>` (`TranslationVocabulary.neverGenerated`).
    public static var blockedTokens: Set<Int32> { TranslationVocabulary.neverGenerated }

    public init(model: Model, options: BeamSearchOptions) throws {
        try options.validate()
        guard model.targetVocabularySize > TranslationVocabulary.specials.count else {
            throw CLTrainError.invalidArgument(
                "beam search: a target vocabulary of \(model.targetVocabularySize) tokens has no word besides the four specials")
        }
        self.model = model
        self.options = options
    }

    /// The N best translations of each of `sources` (token ids in reading order, none empty),
    /// best first, in the order of `sources`. Each sentence's result is the same as when it is
    /// searched alone, for a model whose rows do not depend on each other.
    public func translate(_ sources: [[Int32]]) throws -> [[TranslationHypothesis]] {
        if let empty = sources.firstIndex(where: \.isEmpty) {
            throw CLTrainError.invalidArgument("beam search: source \(empty) is empty; an empty line has nothing to translate")
        }
        guard !sources.isEmpty else { return [] }
        let vocabularySize = model.targetVocabularySize
        var searches = sources.map { SentenceSearch(maxLength: options.maxLength(sourceLength: $0.count)) }
        var state = try model.encode(sources)   // one row per source, in order: the first beams
        var survivors: [Int]?   // rows of `state` the next beams continue; nil while they are its rows
        while true {
            let active = searches.indices.filter { !searches[$0].isDone }
            if active.isEmpty { break }
            if let survivors { state = try model.select(survivors, of: state) }
            let tokens = active.flatMap { searches[$0].live.map { $0.tokens.last ?? TranslationVocabulary.beginningID } }
            let (logProbabilities, next) = try model.step(tokens, from: state)   // (R×V)
            guard logProbabilities.count == tokens.count * vocabularySize else {
                throw CLTrainError.shapeMismatch(operation: "beam search step",
                                                 detail: "\(logProbabilities.count) log-probabilities for \(tokens.count) rows of \(vocabularySize)")
            }
            state = next
            var nextSurvivors: [Int] = []
            var row = 0
            try logProbabilities.withUnsafeBufferPointer { values in
                for sentence in active {
                    let parents = try searches[sentence].advance(values, firstRow: row, vocabularySize: vocabularySize, options: options)
                    nextSurvivors += parents.map { row + $0 }
                    row += searches[sentence].previousBeamSize
                }
            }
            survivors = nextSurvivors
        }
        return searches.map { Array($0.finished.prefix(options.nBest)) }
    }
}

/// One sentence's beam and finished set during `BeamSearch.translate`.
private struct SentenceSearch {
    struct Live {
        var tokens: [Int32]
        var logProbability: Double
    }

    /// A continuation of live hypothesis `parent` by `token`.
    struct Candidate {
        let logProbability: Double
        let parent: Int
        let token: Int32

        /// Rule 2's order.
        static func ranksBefore(_ a: Candidate, _ b: Candidate) -> Bool {
            if a.logProbability != b.logProbability { return a.logProbability > b.logProbability }
            if a.parent != b.parent { return a.parent < b.parent }
            return a.token < b.token
        }
    }

    let maxLength: Int
    /// Best first (rule 2's order); empty once the sentence is done.
    var live = [Live(tokens: [], logProbability: 0)]
    /// In `TranslationHypothesis.ranksBefore` order, at most N once N are there.
    var finished: [TranslationHypothesis] = []
    var isDone = false
    /// Rows the last `advance` read: the beam before it.
    private(set) var previousBeamSize = 0

    init(maxLength: Int) { self.maxLength = maxLength }

    /// Applies rules 1–4 to this step's log-probabilities (rows `firstRow…` of `values`, one per
    /// live hypothesis) and returns, for each hypothesis of the new beam, the row (counted from
    /// `firstRow`) it continues.
    mutating func advance(_ values: UnsafeBufferPointer<Float>, firstRow: Int, vocabularySize: Int,
                          options: BeamSearchOptions) throws -> [Int] {
        let end = TranslationVocabulary.endID
        let length = live[0].tokens.count + 1   // tokens after this step, an <eos> counted
        let forced = length >= maxLength
        previousBeamSize = live.count
        var candidates: [Candidate] = []
        for (parent, hypothesis) in live.enumerated() {
            let row = UnsafeBufferPointer(rebasing: values[((firstRow + parent) * vocabularySize)...].prefix(vocabularySize))
            if let nan = row.firstIndex(where: \.isNaN) {
                throw CLTrainError.invalidArgument("beam search: the model gave a NaN log-probability (token \(nan)); its weights are not usable")
            }
            let tokens: [(value: Float, token: Int32)] = forced
                ? [(min(row[Int(end)], 0), end)]
                : Self.best(options.beam + 1, of: row)   // B words and an <eos> at most can be used from one row
            for (value, token) in tokens {
                candidates.append(Candidate(logProbability: hypothesis.logProbability + Double(value), parent: parent, token: token))
            }
        }
        candidates.sort(by: Candidate.ranksBefore)
        var next: [Live] = [], parents: [Int] = []
        for (position, candidate) in candidates.enumerated() {
            if next.count == options.beam && position >= options.beam { break }
            let tokens = live[candidate.parent].tokens
            if candidate.token == end {
                guard position < options.beam else { continue }
                finished.append(TranslationHypothesis(tokens: tokens, logProbability: candidate.logProbability,
                                                      score: candidate.logProbability / options.lengthNormaliser(tokens: length)))
            } else if next.count < options.beam {
                next.append(Live(tokens: tokens + [candidate.token], logProbability: candidate.logProbability))
                parents.append(candidate.parent)
            }
        }
        finished.sort(by: TranslationHypothesis.ranksBefore)
        if finished.count > options.nBest { finished.removeLast(finished.count - options.nBest) }   // can never rise again
        live = next
        if let best = live.first, finished.count == options.nBest {
            let bound = best.logProbability / options.lengthNormaliser(tokens: maxLength)
            isDone = bound < finished[options.nBest - 1].score
        } else {
            isDone = live.isEmpty
        }
        if isDone { live = []; return [] }
        return parents
    }

    /// The `count` highest values of `row` (capped at 0) with their tokens, `BeamSearch.blockedTokens`
    /// left out, highest first, ties to the lower token.
    static func best(_ count: Int, of row: UnsafeBufferPointer<Float>) -> [(value: Float, token: Int32)] {
        let blocked = TranslationVocabulary.neverGenerated
        var best: [(value: Float, token: Int32)] = []
        best.reserveCapacity(count + 1)
        for (index, raw) in row.enumerated() {
            let value = min(raw, 0)
            guard best.count < count || value > best[best.count - 1].value else { continue }
            let token = Int32(index)   // the vocabulary's size is 32-bit
            if blocked.contains(token) { continue }
            // After every equal value already there: a later token loses the tie.
            let position = best.firstIndex { $0.value < value } ?? best.count
            best.insert((value, token), at: position)
            if best.count > count { best.removeLast() }
        }
        return best
    }
}
