import CLTrain
import Testing

@Suite("Bucketed translation batches")
struct TranslationBatcherTests {
    /// Pairs whose ids say where they come from: source token k of pair p is 100·p + k + 10, target
    /// token k is 100·p + k + 50 (all above the special ids).
    static func pairs(_ lengths: [(source: Int, target: Int)]) -> [EncodedPair] {
        lengths.enumerated().map { p, length in
            EncodedPair(source: (0..<length.source).map { Int32(100 * p + $0 + 10) },
                        target: (0..<length.target).map { Int32(100 * p + $0 + 50) })
        }
    }

    @Test func layoutIsTimeMajorWithEachSourceEndingAtItsLength() throws {
        let pairs = Self.pairs([(3, 2), (1, 0)])
        let batcher = try TranslationBatcher(pairs: pairs, batchSize: 2, reverseSource: true, seed: 1)
        let batch = batcher.batch(of: [0, 1])
        #expect(batch.batch == 2 && batch.sourceSteps == 3 && batch.targetSteps == 3)
        let pad = TranslationVocabulary.paddingID, bos = TranslationVocabulary.beginningID
        let eos = TranslationVocabulary.endID, ignore = TranslationBatch.ignoreIndex
        // [S, B]: pair 0 reversed (12 11 10), pair 1 (110) then padding.
        #expect(batch.sourceTokens == [12, 110, 11, pad, 10, pad])
        #expect(batch.sourceLengths == [3, 1])
        #expect(batch.sourceMask == [1, 1, 1, 0, 1, 0])
        // [T, B]: <bos> y…, then <pad>; y… <eos>, then the ignore index.
        #expect(batch.targetInputs == [bos, bos, 50, pad, 51, pad])
        #expect(batch.targetOutputs == [50, eos, 51, ignore, eos, ignore])
        #expect(batch.targetLengths == [3, 1] && batch.targetTokenCount == 4)
        #expect(batch.pairIndices == [0, 1])
        // Not reversed: the source in order, still right-padded.
        let forward = try TranslationBatcher(pairs: pairs, batchSize: 2, reverseSource: false, seed: 1).batch(of: [0, 1])
        #expect(forward.sourceTokens == [10, 110, 11, pad, 12, pad])
    }

    @Test func everyPairOnceAnEpochInBatchesOfSimilarLength() throws {
        var generator = SplitMix64(seed: 7)
        let lengths = (0..<1000).map { _ in (source: Int(1 + generator.next() % 40), target: Int(generator.next() % 45)) }
        let batcher = try TranslationBatcher(pairs: Self.pairs(lengths), batchSize: 32, seed: 3)
        let epoch = batcher.batches(epoch: 0)
        #expect(epoch.count == batcher.batchCount && epoch.count == 32)
        #expect(epoch.flatMap(\.pairIndices).sorted() == Array(0..<1000))
        #expect(epoch.filter { $0.batch != 32 }.map(\.batch) == [1000 % 32])
        // Sorted by source length before cutting: a batch's sources differ by a token or two at
        // most (1000 pairs over 40 lengths: about 25 a length), so padding is small.
        for batch in epoch {
            let spread = (batch.sourceLengths.max() ?? 0) - (batch.sourceLengths.min() ?? 0)
            #expect(spread <= 2, "source lengths \(batch.sourceLengths)")
        }
        let padded = epoch.map { $0.sourceSteps * $0.batch }.reduce(0, +), real = lengths.map(\.source).reduce(0, +)
        #expect(Double(padded) < 1.05 * Double(real), "\(padded) source slots for \(real) tokens")
        // Shuffled across buckets: not in length order.
        let firstSteps = epoch.map(\.sourceSteps)
        #expect(firstSteps != firstSteps.sorted())
    }

    @Test func sameSeedAndEpochSameBatchesAnotherEpochOthers() throws {
        var generator = SplitMix64(seed: 11)
        let lengths = (0..<300).map { _ in (source: Int(1 + generator.next() % 6), target: Int(generator.next() % 6)) }
        let batcher = try TranslationBatcher(pairs: Self.pairs(lengths), batchSize: 16, seed: 5)
        #expect(batcher.batches(epoch: 2) == batcher.batches(epoch: 2))
        #expect(batcher.batches(epoch: 2) == (try TranslationBatcher(pairs: Self.pairs(lengths), batchSize: 16, seed: 5)).batches(epoch: 2))
        // Another epoch: other batch order and other companions within equal lengths.
        let (a, b) = (batcher.batches(epoch: 0), batcher.batches(epoch: 1))
        #expect(a.map(\.pairIndices) != b.map(\.pairIndices))
        #expect(Set(a.map { Set($0.pairIndices) }) != Set(b.map { Set($0.pairIndices) }))
        let other = try TranslationBatcher(pairs: Self.pairs(lengths), batchSize: 16, seed: 6).batches(epoch: 0)
        #expect(other.map(\.pairIndices) != a.map(\.pairIndices))
    }

    @Test func refusesWhatCannotBeBatched() {
        let pairs = Self.pairs([(2, 2)])
        for size in [0, -1, Int.max] {
            #expect(throws: CLTrainError.self, "batch \(size)") { try TranslationBatcher(pairs: pairs, batchSize: size, seed: 0) }
        }
        #expect(throws: CLTrainError.self) { try TranslationBatcher(pairs: [], batchSize: 2, seed: 0) }
        #expect(throws: CLTrainError.self) { try TranslationBatcher(pairs: Self.pairs([(2, 1), (0, 3)]), batchSize: 2, seed: 0) }
    }
}
