import Foundation

/// Corpus BLEU exactly as sacreBLEU 2.x computes it by default (`metrics/bleu.py`): `13a`
/// tokenization, mixed case, n-grams up to 4, exponential smoothing ("exp", mteval's), no
/// effective order, and the brevity penalty against, per segment, the reference length closest
/// to the hypothesis's (the shorter on a tie).
///
/// Per segment each line is stripped of trailing white space (`str.rstrip`) and tokenized; each
/// hypothesis n-gram's count is clipped by the largest count of that n-gram in any one of the
/// segment's references. An empty reference line is a reference of no tokens (sacreBLEU 2.6 keeps
/// it; only a missing one, `None`, which files cannot give, is left out).
public enum CorpusBLEU {
    public static let maxOrder = 4

    /// The sacreBLEU release whose output this reproduces, checked by the fixtures in
    /// Tests/CLTrainTests/Fixtures (scripts/make-bleu-fixtures.sh): the signature's `version:`.
    public static let sacreBLEUVersion = "2.6.0"

    /// The sufficient statistics of a corpus: summed over its segments.
    public struct Statistics: Equatable, Sendable {
        /// Clipped matches of each order, 1…4.
        public var correct = [Int](repeating: 0, count: CorpusBLEU.maxOrder)
        /// Hypothesis n-grams of each order, 1…4.
        public var total = [Int](repeating: 0, count: CorpusBLEU.maxOrder)
        /// Hypothesis tokens.
        public var hypothesisLength = 0
        /// The closest reference's tokens, per segment.
        public var referenceLength = 0
    }

    /// Scores `hypotheses` against `references`: one or more streams, each a reference for every
    /// hypothesis (`references[r][i]` is reference r of segment i).
    public static func score(hypotheses: [String], references: [[String]]) throws -> BLEUScore {
        score(try statistics(hypotheses: hypotheses, references: references), referenceCount: references.count)
    }

    /// The corpus statistics of `hypotheses` against `references` (as for `score`).
    public static func statistics(hypotheses: [String], references: [[String]]) throws -> Statistics {
        guard !references.isEmpty else { throw CLTrainError.invalidArgument("BLEU needs at least one reference stream") }
        for (r, stream) in references.enumerated() where stream.count != hypotheses.count {
            throw CLTrainError.invalidArgument("reference stream \(r + 1) has \(stream.count) lines but there are \(hypotheses.count) hypotheses")
        }
        var vocabulary = TokenInterner()
        var statistics = Statistics()
        for (i, hypothesis) in hypotheses.enumerated() {
            let references = references.map { $0[i] }
            var referenceNGrams: [[Int]: Int] = [:]
            var referenceLengths: [Int] = []
            for reference in references {
                let tokens = vocabulary.ids(of: tokenize(reference))
                referenceLengths.append(tokens.count)
                for (ngram, count) in nGramCounts(tokens) {
                    referenceNGrams[ngram] = max(referenceNGrams[ngram] ?? 0, count)
                }
            }
            let tokens = vocabulary.ids(of: tokenize(hypothesis))
            statistics.hypothesisLength += tokens.count
            statistics.referenceLength += closest(referenceLengths, to: tokens.count)
            for (ngram, count) in nGramCounts(tokens) {
                statistics.total[ngram.count - 1] += count
                statistics.correct[ngram.count - 1] += min(count, referenceNGrams[ngram] ?? 0)
            }
        }
        return statistics
    }

    /// BLEU from corpus statistics (sacreBLEU's `compute_bleu` with `smooth_method='exp'`):
    /// precision pₙ = 100·correctₙ/totalₙ; an order with no match gets 100/(2ᵏ·totalₙ), k counting
    /// such orders so far; orders after the first with no n-grams at all count as 0 (log 0 is
    /// floored at −9 999 999 999, so BLEU is 0). With no match of any order, BLEU and every
    /// precision are 0. BP = exp(1 − r/c) when c < r (0 when c = 0), else 1.
    /// `referenceCount`: references per segment, for the signature.
    public static func score(_ statistics: Statistics, referenceCount: Int) -> BLEUScore {
        let c = statistics.hypothesisLength, r = statistics.referenceLength
        let brevityPenalty = c < r ? (c > 0 ? exp(1 - Double(r) / Double(c)) : 0.0) : 1.0
        var precisions = [Double](repeating: 0, count: maxOrder)
        var score = 0.0
        if statistics.correct.contains(where: { $0 != 0 }) {
            var smoothing = 1.0
            for n in 0..<maxOrder {
                let total = statistics.total[n], correct = statistics.correct[n]
                if total == 0 { break }
                if correct == 0 {
                    smoothing *= 2
                    precisions[n] = 100 / (smoothing * Double(total))
                } else {
                    precisions[n] = 100 * Double(correct) / Double(total)
                }
            }
            // Summed left to right, then divided, as Python's sum() and `/ eff_order` do.
            let logSum = precisions.reduce(0.0) { $0 + ($1 == 0 ? -9_999_999_999 : log($1)) }
            score = brevityPenalty * exp(logSum / Double(maxOrder))
        }
        return BLEUScore(score: score, precisions: precisions, brevityPenalty: brevityPenalty, statistics: statistics,
                         referenceCount: referenceCount)
    }

    /// sacreBLEU's preprocessing of one segment: `rstrip()`, then 13a.
    static func tokenize(_ line: String) -> [String] { Tokenizer13a.tokenize(PythonWhitespace.trimmingTrailing(line)) }

    /// The reference length nearest `length`; of two as near, the shorter.
    static func closest(_ lengths: [Int], to length: Int) -> Int {
        var best: (difference: Int, length: Int)?
        for candidate in lengths {
            let difference = abs(length - candidate)
            if let current = best, difference > current.difference || (difference == current.difference && candidate >= current.length) {
                continue
            }
            best = (difference, candidate)
        }
        return best?.length ?? 0
    }

    /// Every n-gram of orders 1…4 (token ids) with its count.
    static func nGramCounts(_ tokens: [Int]) -> [[Int]: Int] {
        var counts: [[Int]: Int] = [:]
        for n in 1...maxOrder where tokens.count >= n {
            for start in 0...(tokens.count - n) { counts[Array(tokens[start..<(start + n)]), default: 0] += 1 }
        }
        return counts
    }
}

/// Tokens to ids by their exact code points. Swift's `String ==` compares canonical equivalents
/// as equal (precomposed `é` and `e` + U+0301); Python, and so sacreBLEU, does not: keying on the
/// UTF-8 bytes keeps them apart.
struct TokenInterner {
    private var ids: [[UInt8]: Int] = [:]

    mutating func ids(of tokens: [String]) -> [Int] {
        tokens.map { token in
            let key = Array(token.utf8)
            if let id = ids[key] { return id }
            let id = ids.count
            ids[key] = id
            return id
        }
    }
}
