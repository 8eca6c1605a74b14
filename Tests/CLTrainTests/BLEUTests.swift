import CLTrain
import Foundation
import Testing

/// The expected figures that scripts/make-bleu-fixtures.sh made with sacreBLEU itself, embedded
/// in the test bundle (Fixtures/bleu-expected.json).
struct BLEUFixtures: Decodable {
    struct Case: Decodable, CustomTestStringConvertible {
        let name: String
        /// The files' text, byte for byte.
        let hypotheses: String
        let references: [String]
        let score: Double
        let precisions: [Double]
        let bp: Double
        let ratio: Double
        let hyp_len: Int
        let ref_len: Int
        let counts: [Int]
        let totals: [Int]
        let signature: String
        /// `sacrebleu REFS -i HYP -m bleu -f text`: `BLEU|signature = score verbose`.
        let cli_output: String
        let tokenized_hypotheses: [String]
        var testDescription: String { name }
    }
    struct Tokenized: Decodable, CustomTestStringConvertible {
        let text: String
        let tokens: [String]
        var testDescription: String { text.debugDescription }
    }
    let sacrebleu_version: String
    let cases: [Case]
    let tokenizer: [Tokenized]

    static let shared: BLEUFixtures = {
        do {
            return try JSONDecoder().decode(BLEUFixtures.self, from: Data(PackageResources.bleu_expected_json))
        } catch {
            Issue.record("Fixtures/bleu-expected.json does not decode: \(error)")
            return BLEUFixtures(sacrebleu_version: "", cases: [], tokenizer: [])
        }
    }()

    /// The text's lines as `cltrain bleu` reads a file.
    static func lines(_ text: String) throws -> [String] { try TextLines.lines(of: Data(text.utf8), name: "fixture") }
}

@Suite("BLEU and 13a tokenization against sacreBLEU")
struct BLEUTests {
    @Test func fixturesComeFromTheVersionTheSignatureNames() {
        #expect(BLEUFixtures.shared.sacrebleu_version == CorpusBLEU.sacreBLEUVersion)
        #expect(BLEUFixtures.shared.cases.count >= 15)
        #expect(BLEUFixtures.shared.tokenizer.count >= 40)
    }

    @Test(arguments: BLEUFixtures.shared.tokenizer)
    func tokenizerMatchesSacreBLEU(_ fixture: BLEUFixtures.Tokenized) {
        let tokens = Tokenizer13a.tokenize(fixture.text)
        // By code points: Swift's == would call a precomposed and a decomposed é equal.
        #expect(tokens.map { Array($0.unicodeScalars) } == fixture.tokens.map { Array($0.unicodeScalars) },
                "\(tokens) ≠ sacreBLEU's \(fixture.tokens)")
    }

    @Test(arguments: BLEUFixtures.shared.cases)
    func tokenizedHypothesesMatchSacreBLEU(_ fixture: BLEUFixtures.Case) throws {
        let lines = try BLEUFixtures.lines(fixture.hypotheses)
        try #require(lines.count == fixture.tokenized_hypotheses.count)
        for (line, expected) in zip(lines, fixture.tokenized_hypotheses) {
            let tokenized = Tokenizer13a.tokenizedLine(line.trimmingTrailingPythonWhitespace)
            #expect(Array(tokenized.unicodeScalars) == Array(expected.unicodeScalars), "\(line.debugDescription)")
        }
    }

    @Test(arguments: BLEUFixtures.shared.cases)
    func corpusBLEUMatchesSacreBLEU(_ fixture: BLEUFixtures.Case) throws {
        let score = try CorpusBLEU.score(hypotheses: BLEUFixtures.lines(fixture.hypotheses),
                                         references: fixture.references.map(BLEUFixtures.lines))
        #expect(abs(score.score - fixture.score) <= 0.01, "BLEU \(score.score), sacreBLEU \(fixture.score)")
        // The statistics are integers: exactly equal.
        #expect(score.statistics.correct == fixture.counts && score.statistics.total == fixture.totals)
        #expect(score.hypothesisLength == fixture.hyp_len && score.referenceLength == fixture.ref_len)
        // The components to the precision sacreBLEU prints them at: p 0.1, BP and ratio 0.001.
        for (mine, theirs) in zip(score.precisions, fixture.precisions) { #expect(abs(mine - theirs) <= 0.05, "\(mine) vs \(theirs)") }
        #expect(abs(score.brevityPenalty - fixture.bp) <= 0.0005)
        #expect(abs(score.ratio - fixture.ratio) <= 0.0005)
        #expect(score.signature == fixture.signature)
        // sacreBLEU's own command line: `BLEU|SIGNATURE = 45.4 83.6/…`; ours prints the same verbose
        // part after a two-decimal score, and the signature on its own line.
        let cli = fixture.cli_output
        let prefix = "BLEU|\(fixture.signature) = "
        try #require(cli.hasPrefix(prefix), "\(cli)")
        let afterScore = cli.dropFirst(prefix.count).drop { $0 != " " }
        #expect(score.line == "BLEU = \(String(format: "%.2f", fixture.score))\(afterScore)", "\(score.line) vs \(cli)")
    }

    /// A model writes its hypotheses as tokens joined by spaces (`hypothesisLine`): 13a gives the
    /// same tokens back, so the score is the raw text's.
    @Test(arguments: BLEUFixtures.shared.cases)
    func tokenizedHypothesesScoreAsTheirText(_ fixture: BLEUFixtures.Case) throws {
        let references = try fixture.references.map(BLEUFixtures.lines)
        let raw = try BLEUFixtures.lines(fixture.hypotheses)
        let joined = raw.map { Tokenizer13a.tokenizedLine($0.trimmingTrailingPythonWhitespace) }
        #expect(try CorpusBLEU.score(hypotheses: joined, references: references)
                == CorpusBLEU.score(hypotheses: raw, references: references))
        let vocabulary = try TranslationVocabulary.build(from: raw.map(Tokenizer13a.tokenize), maxSize: nil)
        for line in joined {
            let ids = [TranslationVocabulary.beginningID] + vocabulary.encode(line.split(separator: " ").map(String.init))
                + [TranslationVocabulary.endID, 7, TranslationVocabulary.paddingID]
            #expect(vocabulary.hypothesisLine(ids) == line)
        }
    }

    @Test func statisticsOfAHandCountedCase() throws {
        // hyp "the cat the cat" vs ref "the cat sat": unigrams "the" and "cat" each clipped to the
        // reference's 1, so 2 of 4; bigram "the cat" clipped to 1 of 3; no trigram or 4-gram match.
        let score = try CorpusBLEU.score(hypotheses: ["the cat the cat"], references: [["the cat sat"]])
        #expect(score.statistics.correct == [2, 1, 0, 0])
        #expect(score.statistics.total == [4, 3, 2, 1])
        // exp smoothing: p3 = 100/(2·2), p4 = 100/(4·1).
        #expect(score.precisions == [50, 100.0 / 3, 25, 25])
        #expect(score.brevityPenalty == 1)
        let expected = exp((log(50.0) + log(100.0 / 3) + log(25.0) + log(25.0)) / 4)
        #expect(abs(score.score - expected) < 1e-12)
    }

    @Test func closestReferenceLengthPrefersTheShorterOnATie() throws {
        // Hypothesis of 4 tokens; references of 3 and 5 tokens: both 1 away, the 3 is taken.
        let score = try CorpusBLEU.score(hypotheses: ["a b c d"], references: [["a b c"], ["a b c d e"]])
        #expect(score.referenceLength == 3)
        #expect(score.signature.hasPrefix("nrefs:2|"))
    }

    @Test func canonicallyEquivalentTokensDoNotMatch() throws {
        // Python compares code points: "é" (U+00E9) is not "e\u{301}"; Swift's == would say it is.
        let score = try CorpusBLEU.score(hypotheses: ["caf\u{e9} au lait"], references: [["cafe\u{301} au lait"]])
        #expect(score.statistics.correct[0] == 2)
    }

    @Test func refusesStreamsOfDifferentLengths() {
        #expect(throws: CLTrainError.self) { try CorpusBLEU.score(hypotheses: ["a", "b"], references: [["a"]]) }
        #expect(throws: CLTrainError.self) { try CorpusBLEU.score(hypotheses: ["a"], references: []) }
    }
}

extension String {
    /// Python's `rstrip()`, as sacreBLEU applies it before tokenizing (Python's white space).
    var trimmingTrailingPythonWhitespace: String {
        let python: Set<UInt32> = Set(Array(0x09...0x0D) + Array(0x1C...0x20) + [0x85, 0xA0, 0x1680] + Array(0x2000...0x200A)
                                      + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000])
        var scalars = Array(unicodeScalars)
        while let last = scalars.last, python.contains(last.value) { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
