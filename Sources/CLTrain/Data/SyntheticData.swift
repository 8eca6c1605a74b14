/// Random tokens at a chosen vocabulary size, for benchmarks: `--data synthetic --vocab N`.
/// Uniform over ids 1..<N (id 0 is the unknown token), from a seeded generator.
public enum SyntheticData {
    public static func vocabulary(size: Int) throws -> Vocabulary {
        guard size >= 2 else { throw CLTrainError.invalidArgument("--vocab must be at least 2 for synthetic data, got \(size)") }
        return try Vocabulary(level: .word, tokens: [Vocabulary.unknown] + (1..<size).map { "t\($0)" })
    }

    /// Enough tokens for `windows` windows of batch × bptt.
    public static func tokens(vocabularySize: Int, batch: Int, bptt: Int, windows: Int, seed: UInt64) -> [Int32] {
        var generator = SplitMix64(seed: seed)
        let count = batch * (windows * bptt + 1)
        return (0..<count).map { _ in Int32(1 + generator.next() % UInt64(vocabularySize - 1)) }
    }
}
