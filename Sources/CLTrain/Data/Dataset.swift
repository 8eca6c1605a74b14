/// A corpus tokenized with one vocabulary and laid out as BPTT streams for each split.
public struct Dataset: Sendable {
    public let source: String
    public let vocabulary: Vocabulary
    public let train: TokenStream
    public let validation: TokenStream
    public let test: TokenStream
    public var trainTokens: Int { train.tokens.count }

    /// Loads `data` (see `Corpus.load`, or "synthetic"). The vocabulary is built from the training
    /// split unless one is given (a resumed run or a checkpoint being evaluated keeps its own).
    /// Validation and test use the same batch, so their last partial windows are the only tokens
    /// not scored.
    public static func load(_ data: String, level: TokenLevel, vocabularySize: Int?, vocabulary given: Vocabulary? = nil,
                            batch: Int, bptt: Int, syntheticWindows: Int, seed: UInt64) throws -> Dataset {
        if let vocabularySize {
            try InputNumber.check(vocabularySize, "--vocab", in: 2...Int(Int32.max),
                                  why: "<unk> and at least one token; token ids are 32-bit")
        }
        if data == "synthetic" {
            let vocabulary = try given ?? SyntheticData.vocabulary(size: vocabularySize ?? 0)
            let streams = try DataSplit.allCases.filter { $0 != .all }.map { split in
                try syntheticStream(split, vocabulary: vocabulary, batch: batch, bptt: bptt,
                                    syntheticWindows: syntheticWindows, seed: seed)
            }
            return Dataset(source: "synthetic", vocabulary: vocabulary, train: streams[0], validation: streams[1], test: streams[2])
        }
        let corpus = try Corpus.load(data)
        let vocabulary = try given ?? Vocabulary.build(from: corpus.train.map(\.text), level: level, maxSize: vocabularySize)
        try checkLevel(vocabulary, level)
        func stream(_ documents: [Corpus.Document], _ split: DataSplit) throws -> TokenStream {
            try Dataset.stream(documents, split, of: data, vocabulary: vocabulary, batch: batch, bptt: bptt)
        }
        return Dataset(source: corpus.source, vocabulary: vocabulary, train: try stream(corpus.train, .train),
                       validation: try stream(corpus.validation, .validation), test: try stream(corpus.test, .test))
    }

    /// One split of `data` alone, in `vocabulary` (a checkpoint's): what `cltrain eval --split`
    /// scores. The other splits need not be large enough for a window; `.all` is every document
    /// unsplit, so a single held-out file is scored whole. Synthetic data draws the same tokens
    /// per split as `load`.
    public static func stream(_ data: String, split: DataSplit, vocabulary: Vocabulary, batch: Int, bptt: Int,
                              syntheticWindows: Int, seed: UInt64) throws -> (source: String, stream: TokenStream) {
        if data == "synthetic" {
            guard split == .all else {
                return ("synthetic", try syntheticStream(split, vocabulary: vocabulary, batch: batch, bptt: bptt,
                                                         syntheticWindows: syntheticWindows, seed: seed))
            }
            let parts = try [DataSplit.train, .validation, .test].map {
                try syntheticStream($0, vocabulary: vocabulary, batch: batch, bptt: bptt, syntheticWindows: syntheticWindows, seed: seed)
            }
            return ("synthetic", try TokenStream(tokens: parts.flatMap(\.tokens), batch: batch, steps: bptt))
        }
        let documents: [Corpus.Document], source: String
        switch split {
        case .all:
            documents = try Corpus.documents(data)
            source = data
        case .train, .validation, .test:
            let corpus = try Corpus.load(data)
            documents = split == .train ? corpus.train : split == .validation ? corpus.validation : corpus.test
            source = corpus.source
        }
        return (source, try stream(documents, split, of: data, vocabulary: vocabulary, batch: batch, bptt: bptt))
    }

    private static func checkLevel(_ vocabulary: Vocabulary, _ level: TokenLevel) throws {
        guard vocabulary.level == level else {
            throw CLTrainError.invalidArgument("the checkpoint's vocabulary is \(vocabulary.level.rawValue)-level, not \(level.rawValue)-level")
        }
    }

    /// The documents of one split as a stream; a split too small for one window is named.
    private static func stream(_ documents: [Corpus.Document], _ split: DataSplit, of data: String, vocabulary: Vocabulary,
                               batch: Int, bptt: Int) throws -> TokenStream {
        let tokens = documents.flatMap { vocabulary.encode($0.text) }
        do {
            return try TokenStream(tokens: tokens, batch: batch, steps: bptt)
        } catch CLTrainError.invalidNumber(let number) {
            throw CLTrainError.invalidNumber(number)   // --batch or --bptt itself, not the split's size
        } catch {
            throw CLTrainError.invalidArgument("the \(split.noun) of '\(data)' is too small: \(error)")
        }
    }

    /// The synthetic split: `syntheticWindows` windows to train, a tenth (at least one) each to
    /// validate and test, each from its own seed.
    private static func syntheticStream(_ split: DataSplit, vocabulary: Vocabulary, batch: Int, bptt: Int,
                                        syntheticWindows: Int, seed: UInt64) throws -> TokenStream {
        let (windows, salt): (Int, UInt64) = switch split {
        case .train, .all: (syntheticWindows, 0)
        case .validation: (max(syntheticWindows / 10, 1), 1)
        case .test: (max(syntheticWindows / 10, 1), 2)
        }
        return try TokenStream(tokens: SyntheticData.tokens(vocabularySize: vocabulary.count, batch: batch, bptt: bptt,
                                                            windows: windows, seed: seed &+ salt),
                               batch: batch, steps: bptt)
    }
}

/// Which part of a corpus: one of the three splits, or every document.
public enum DataSplit: String, CaseIterable, Sendable {
    case train, validation, test, all

    /// As messages name it: "the training split", "the whole data".
    public var noun: String {
        switch self {
        case .train: "training split"
        case .validation: "validation split"
        case .test: "test split"
        case .all: "whole data"
        }
    }
}
