/// A sentence pair as token ids, without `<bos>` or `<eos>`.
public struct EncodedPair: Sendable, Equatable {
    public let source: [Int32]
    public let target: [Int32]

    public init(source: [Int32], target: [Int32]) {
        self.source = source
        self.target = target
    }
}

/// Batches of sentence pairs of similar length (Sutskever et al. 2014's bucketing, which they
/// report made training twice as fast: little padding), shuffled across lengths every epoch.
///
/// An epoch (`batches(epoch:)`): the pairs in a seeded random order, then sorted by source length
/// and, within it, target length (the random order breaking ties), cut into consecutive batches
/// of `batchSize` (the last one smaller if the count does not divide), and the batches put in a
/// seeded random order. Every pair is in exactly one batch each epoch, which sentences share a
/// batch changes between epochs, and the same seed and epoch give the same batches on every
/// machine (SplitMix64 and a Fisher–Yates shuffle of our own, not the standard library's).
public struct TranslationBatcher: Sendable {
    public let pairs: [EncodedPair]
    public let batchSize: Int
    /// Feed each source last word first (on by default, as the paper does).
    public let reverseSource: Bool
    public let seed: UInt64

    /// Refuses a batch size outside 1…Int32.max, no pairs, and a pair whose source is empty (the
    /// encoder needs one real step to hand on).
    public init(pairs: [EncodedPair], batchSize: Int, reverseSource: Bool = true, seed: UInt64) throws {
        try InputNumber.check(batchSize, "--batch", in: 1...Int(Int32.max), why: "sentence pairs per batch")
        guard !pairs.isEmpty else { throw CLTrainError.invalidArgument("there are no sentence pairs to batch") }
        if let empty = pairs.firstIndex(where: { $0.source.isEmpty }) {
            throw CLTrainError.invalidArgument("sentence pair \(empty) has an empty source; every source needs at least one token")
        }
        self.pairs = pairs
        self.batchSize = batchSize
        self.reverseSource = reverseSource
        self.seed = seed
    }

    /// Batches per epoch: ⌈pairs / batchSize⌉.
    public var batchCount: Int { (pairs.count + batchSize - 1) / batchSize }

    /// Epoch `epoch`'s batches, in training order.
    public func batches(epoch: Int) -> [TranslationBatch] {
        var generator = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: epoch) &* 0x9e37_79b9_7f4a_7c15))
        var order = Array(pairs.indices)
        Self.shuffle(&order, using: &generator)
        var rank = [Int](repeating: 0, count: pairs.count)
        for (position, index) in order.enumerated() { rank[index] = position }
        order.sort { a, b in
            let (x, y) = (pairs[a], pairs[b])
            if x.source.count != y.source.count { return x.source.count < y.source.count }
            if x.target.count != y.target.count { return x.target.count < y.target.count }
            return rank[a] < rank[b]
        }
        var batches = stride(from: 0, to: order.count, by: batchSize).map { start in
            batch(of: Array(order[start..<min(start + batchSize, order.count)]))
        }
        Self.shuffle(&batches, using: &generator)
        return batches
    }

    /// The padded [S, B] and [T, B] buffers of the pairs at `indices` (see `TranslationBatch`).
    public func batch(of indices: [Int]) -> TranslationBatch {
        let b = indices.count
        let sourceLengths = indices.map { pairs[$0].source.count }
        let targetLengths = indices.map { pairs[$0].target.count + 1 }
        let s = sourceLengths.max() ?? 0, t = targetLengths.max() ?? 0
        var source = [Int32](repeating: TranslationVocabulary.paddingID, count: s * b)
        var inputs = [Int32](repeating: TranslationVocabulary.paddingID, count: t * b)
        var outputs = [Int32](repeating: TranslationBatch.ignoreIndex, count: t * b)
        for (column, index) in indices.enumerated() {
            let pair = pairs[index]
            let tokens = reverseSource ? Array(pair.source.reversed()) : pair.source
            for (step, token) in tokens.enumerated() { source[step * b + column] = token }
            inputs[column] = TranslationVocabulary.beginningID
            for (step, token) in pair.target.enumerated() {
                inputs[(step + 1) * b + column] = token
                outputs[step * b + column] = token
            }
            outputs[pair.target.count * b + column] = TranslationVocabulary.endID
        }
        return TranslationBatch(batch: b, sourceSteps: s, targetSteps: t, sourceTokens: source, sourceLengths: sourceLengths,
                                targetInputs: inputs, targetOutputs: outputs, targetLengths: targetLengths, pairIndices: indices)
    }

    /// Fisher–Yates with SplitMix64 draws (the modulo's bias is below 2⁻³² for any realistic count).
    static func shuffle<T>(_ items: inout [T], using generator: inout SplitMix64) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i + 1))
            items.swapAt(i, j)
        }
    }
}
