import Foundation

/// A corpus BLEU score (`CorpusBLEU`) with what sacreBLEU prints beside it.
public struct BLEUScore: Equatable, Sendable {
    /// BLEU, 0…100.
    public let score: Double
    /// The modified n-gram precisions p₁…p₄ in percent, smoothed as sacreBLEU's "exp".
    public let precisions: [Double]
    public let brevityPenalty: Double
    public let statistics: CorpusBLEU.Statistics
    /// References per segment (`nrefs:`).
    public let referenceCount: Int

    public var hypothesisLength: Int { statistics.hypothesisLength }
    public var referenceLength: Int { statistics.referenceLength }
    /// hyp_len / ref_len (0 when there are no reference tokens), as sacreBLEU reports it.
    public var ratio: Double { referenceLength == 0 ? 0 : Double(hypothesisLength) / Double(referenceLength) }

    /// sacreBLEU's score line: `BLEU = 23.45 56.7/30.1/18.2/11.0 (BP = 0.950 ratio = 0.951 hyp_len = 920 ref_len = 967)`.
    public var line: String {
        let precisions = precisions.map { String(format: "%.1f", $0) }.joined(separator: "/")
        return "BLEU = \(String(format: "%.2f", score)) \(verbose(precisions))"
    }

    private func verbose(_ precisions: String) -> String {
        "\(precisions) (BP = \(String(format: "%.3f", brevityPenalty)) ratio = \(String(format: "%.3f", ratio)) "
            + "hyp_len = \(hypothesisLength) ref_len = \(referenceLength))"
    }

    /// sacreBLEU's signature of the default BLEU: `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
    public var signature: String {
        signatureFields.map { "\($0.key):\($0.value)" }.joined(separator: "|")
    }

    private var signatureFields: [(key: String, value: String)] {
        [("nrefs", String(referenceCount)), ("case", "mixed"), ("eff", "no"),
         ("tok", Tokenizer13a.signature), ("smooth", "exp"), ("version", CorpusBLEU.sacreBLEUVersion)]
    }

    /// sacreBLEU's JSON (`-f json`: name, score to 2 decimals, signature, verbose_score and the
    /// signature's fields as strings) and, under "exact", every figure at full precision.
    public func json() throws -> Data {
        let precisionText = precisions.map { String(format: "%.1f", $0) }.joined(separator: "/")
        var object: [String: Any] = [
            "name": "BLEU",
            "score": Double(String(format: "%.2f", score)) ?? score,
            "signature": signature,
            "verbose_score": verbose(precisionText),
        ]
        for field in signatureFields { object[field.key] = field.value }
        object["exact"] = [
            "score": score, "precisions": precisions, "bp": brevityPenalty, "ratio": ratio,
            "hyp_len": hypothesisLength, "ref_len": referenceLength,
            "counts": statistics.correct, "totals": statistics.total,
        ] as [String: Any]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    }
}
