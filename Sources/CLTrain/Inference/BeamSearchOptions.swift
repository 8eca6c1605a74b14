import Foundation

/// How `BeamSearch` searches: the beam, how many results it returns, the length normalisation and
/// the longest output. Each field is named by the `cltrain translate` flag that sets it.
public struct BeamSearchOptions: Sendable, Equatable {
    /// B (`--beam`): live hypotheses kept per sentence at every step. 1 is greedy decoding.
    public var beam: Int
    /// N (`--n-best`): finished hypotheses returned per sentence, best first; N ≤ B.
    public var nBest: Int
    /// A (`--length-penalty`): GNMT's α (Wu et al. 2016, eq. 14). A finished hypothesis of |Y|
    /// tokens (its `<eos>` counted) scores log P(Y) / ((5 + |Y|)/6)^A; 0 ranks by log P(Y) alone.
    public var lengthPenalty: Double
    /// R (`--max-length-ratio`): an output has at most ⌊R·|source|⌋ + `maxLengthSlack` tokens,
    /// its `<eos>` included (`maxLength(sourceLength:)`).
    public var maxLengthRatio: Double

    /// The paper's beam (Sutskever et al. 2014, §3.3 used 12 for its best results); `translate`'s
    /// and `eval`'s default.
    public static let defaultBeam = 12
    /// 2 target tokens per source token is far more than any sentence pair of de-en needs (its
    /// targets are about as long as their sources), so the limit only stops a model that loops.
    public static let defaultMaxLengthRatio = 2.0
    /// The tokens allowed beyond R·|source|, so that a one-word source may still get a phrase
    /// (fairseq's `max_len_b` plays this part; its `max_len_a` is R).
    public static let maxLengthSlack = 10
    /// A ratio beyond any language pair: bounds the longest output, and the steps a typo would cost.
    public static let maxRatio = 100.0

    public init(beam: Int = defaultBeam, nBest: Int = 1, lengthPenalty: Double = 0, maxLengthRatio: Double = defaultMaxLengthRatio) {
        self.beam = beam
        self.nBest = nBest
        self.lengthPenalty = lengthPenalty
        self.maxLengthRatio = maxLengthRatio
    }

    /// Each value in its range, named by its flag: beam ≥ 1, 1 ≤ N ≤ beam, A finite ≥ 0, R in (0, 100].
    public func validate() throws {
        try InputNumber.check(beam, "--beam", in: 1...Int(Int32.max), why: "hypotheses kept per sentence; 1 is greedy")
        try InputNumber.check(nBest, "--n-best", in: 1...max(beam, 1),
                              why: "translations written per sentence, taken from the beam of \(beam)")
        try InputNumber.check(lengthPenalty, "--length-penalty", in: .nonNegative,
                              why: "GNMT's α: score / ((5 + length)/6)^α; 0 is off")
        try InputNumber.check(maxLengthRatio, "--max-length-ratio", in: .positive(atMost: Self.maxRatio),
                              why: "output tokens per source token, before the \(Self.maxLengthSlack) more every sentence may have")
    }

    /// T_max: the most tokens an output of a source of `sourceLength` tokens may have, its
    /// `<eos>` included: ⌊R·|source|⌋ + 10. A hypothesis that reaches T_max − 1 tokens without
    /// `<eos>` can only take `<eos>` next (with its log-probability, as fairseq forces `<eos>` at
    /// `max_len`), so every output ends in `<eos>` and has at most T_max − 1 words.
    public func maxLength(sourceLength: Int) -> Int {
        // R ≤ 100 and a source held in memory: the product is far below 2^53.
        (Checked.integer((maxLengthRatio * Double(sourceLength)).rounded(.down)) ?? 0) + Self.maxLengthSlack
    }

    /// GNMT's lp(|Y|) = ((5 + |Y|)/6)^A: 1 for A = 0, and growing with |Y| for A > 0.
    public func lengthNormaliser(tokens: Int) -> Double {
        lengthPenalty == 0 ? 1 : pow((5 + Double(tokens)) / 6, lengthPenalty)
    }
}
