/// Random tokens at a chosen vocabulary size, for benchmarks: `--data synthetic --vocab N`.
/// Uniform over ids 1..<N (id 0 is the unknown token), from a seeded generator.
public enum SyntheticData {
    /// The host memory one token of the vocabulary's list and lookup table takes, about (a small
    /// String in the list, another as the table's key, an id, the table's free slots).
    static let bytesPerVocabularyToken = 64

    public static func vocabulary(size: Int) throws -> Vocabulary {
        try InputNumber.check(size, "--vocab", in: 2...Int(Int32.max), why: "<unk> and at least one token; token ids are 32-bit")
        let bytes = size.multipliedReportingOverflow(by: bytesPerVocabularyToken)
        let host = DeviceMemory.host
        guard !bytes.overflow, bytes.partialValue <= host.totalBytes / 2 else {
            throw InsufficientMemory("--vocab \(size): the synthetic vocabulary's token list needs about "
                                     + "\(formatBytes(bytes.partialValue)); \(host.name) has \(formatBytes(host.totalBytes))")
        }
        return try Vocabulary(level: .word, tokens: [Vocabulary.unknown] + (1..<size).map { "t\($0)" })
    }

    /// Enough tokens for `windows` windows of batch × bptt: batch · (windows · bptt + 1), refused
    /// (with the figure) when that count overflows or its bytes exceed half the host's memory.
    public static func tokens(vocabularySize: Int, batch: Int, bptt: Int, windows: Int, seed: UInt64) throws -> [Int32] {
        try InputNumber.check(vocabularySize, "--vocab", in: 2...Int(Int32.max), why: "token ids are 32-bit")
        let what = "synthetic data: --batch \(batch) × (\(windows) windows × --bptt \(bptt) + 1) tokens"
        let count = try Checked.product(batch, Checked.sum(Checked.product(windows, bptt, what: what), 1, what: what), what: what)
        let host = DeviceMemory.host
        let bytes = count.multipliedReportingOverflow(by: MemoryLayout<Int32>.size)
        guard count >= 0, !bytes.overflow, bytes.partialValue <= host.totalBytes / 2 else {
            throw InsufficientMemory("\(what) = \(count) tokens need \(formatBytes(bytes.overflow ? .max : bytes.partialValue)); "
                                     + "\(host.name) has \(formatBytes(host.totalBytes)) (lower --steps-per-epoch or --batch)")
        }
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in Int32(1 + generator.next() % UInt64(vocabularySize - 1)) }
    }
}
