import Foundation

/// One sentence and its translation, as text (untokenized: BLEU's references are these).
public struct SentencePair: Sendable, Equatable, Hashable {
    public let source: String
    public let target: String

    public init(source: String, target: String) {
        self.source = source
        self.target = target
    }

    /// The pair the other way round (for `--direction`).
    public var swapped: SentencePair { SentencePair(source: target, target: source) }
}

/// Parallel text split into training, validation and test pairs: `--source FILE --target FILE`,
/// one sentence per line, line i of one the translation of line i of the other (as OpenNMT and
/// fairseq take them).
///
/// Lines split at `\n` (`TextLines`), trailing white space (a CRLF file's `\r`) stripped. A pair
/// with either side blank is skipped and counted (`skippedBlankPairs`), as OpenNMT filters empty
/// examples; the line counts must match. One pair of files is split by `split(_:name:)`'s fixed
/// rule; three pairs of files are the splits as given.
public struct ParallelCorpus: Sendable {
    public let name: String
    public let train: [SentencePair]
    public let validation: [SentencePair]
    public let test: [SentencePair]
    /// Pairs left out because a side was blank, over every file read.
    public let skippedBlankPairs: Int

    public init(name: String, train: [SentencePair], validation: [SentencePair], test: [SentencePair], skippedBlankPairs: Int = 0) {
        self.name = name
        self.train = train
        self.validation = validation
        self.test = test
        self.skippedBlankPairs = skippedBlankPairs
    }

    /// One pair of files, split by the fixed rule (`split(_:name:)`).
    public static func load(source: String, target: String) throws -> ParallelCorpus {
        let (pairs, skipped) = try read(source: source, target: target)
        let corpus = try split(pairs, name: "\(source) → \(target)")
        return ParallelCorpus(name: corpus.name, train: corpus.train, validation: corpus.validation, test: corpus.test,
                              skippedBlankPairs: skipped)
    }

    /// Three pairs of files as the training, validation and test splits, unsplit.
    public static func load(train: (source: String, target: String), validation: (source: String, target: String),
                            test: (source: String, target: String)) throws -> ParallelCorpus {
        let parts = try [train, validation, test].map { try read(source: $0.source, target: $0.target) }
        return ParallelCorpus(name: "\(train.source) → \(train.target)", train: parts[0].pairs, validation: parts[1].pairs,
                              test: parts[2].pairs, skippedBlankPairs: parts.map(\.skipped).reduce(0, +))
    }

    /// The pairs of `source` and `target`, in order, and how many were skipped as blank. Refuses
    /// a missing, empty or non-UTF-8 file (naming it, and the line), files whose line counts
    /// differ (naming both counts), and files with no pair that is not blank.
    public static func read(source: String, target: String) throws -> (pairs: [SentencePair], skipped: Int) {
        let sources = try TextLines.read(source, role: "source file")
        let targets = try TextLines.read(target, role: "target file")
        guard sources.count == targets.count else {
            throw CLTrainError.invalidArgument(
                "source file '\(source)' has \(sources.count) lines but target file '\(target)' has \(targets.count); "
                    + "parallel files need one translation per line")
        }
        var pairs: [SentencePair] = [], skipped = 0
        pairs.reserveCapacity(sources.count)
        for (s, t) in zip(sources, targets) {
            let pair = SentencePair(source: PythonWhitespace.trimmingTrailing(s), target: PythonWhitespace.trimmingTrailing(t))
            if isBlank(pair.source) || isBlank(pair.target) { skipped += 1 } else { pairs.append(pair) }
        }
        guard !pairs.isEmpty else {
            throw CLTrainError.invalidArgument("'\(source)' and '\(target)' hold no pair of non-blank lines")
        }
        return (pairs, skipped)
    }

    /// The fixed split of `pairs`: a pair goes by the 64-bit FNV-1a hash of its source text,
    /// mod 20: 0 to test, 1 to validation, the rest to training (5 % / 5 % / 90 %). The rule is
    /// fixed by the text alone, so it does not depend on the order of the lines or on what else
    /// is in the file, and pairs with the same source (several translations of one sentence) stay
    /// in one split. Refuses fewer than 20 pairs, or a split left empty.
    public static func split(_ pairs: [SentencePair], name: String) throws -> ParallelCorpus {
        guard pairs.count >= 20 else {
            throw CLTrainError.invalidArgument("parallel data '\(name)' is too small to split (\(pairs.count) pairs; need at least 20)")
        }
        var train: [SentencePair] = [], validation: [SentencePair] = [], test: [SentencePair] = []
        for pair in pairs {
            switch splitBucket(of: pair.source) {
            case 0: test.append(pair)
            case 1: validation.append(pair)
            default: train.append(pair)
            }
        }
        for (split, part) in [("validation", validation), ("test", test)] where part.isEmpty {
            throw CLTrainError.invalidArgument("parallel data '\(name)': its \(pairs.count) pairs leave the \(split) split empty; "
                                               + "give more pairs, or three pairs of files")
        }
        return ParallelCorpus(name: name, train: train, validation: validation, test: test)
    }

    /// 0…19: the split bucket of a source sentence.
    static func splitBucket(of source: String) -> UInt64 {
        var hash = FNV1a()
        hash.combine(source.utf8)
        return hash.value % 20
    }

    /// The corpus the other way round: each pair's source and target swapped.
    public var swapped: ParallelCorpus {
        ParallelCorpus(name: name, train: train.map(\.swapped), validation: validation.map(\.swapped), test: test.map(\.swapped),
                       skippedBlankPairs: skippedBlankPairs)
    }

    private static func isBlank(_ text: String) -> Bool { text.unicodeScalars.allSatisfy(PythonWhitespace.contains) }
}
