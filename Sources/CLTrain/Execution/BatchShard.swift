/// Which sequences of the global batch one data-parallel rank trains: rank r of N takes
/// sequences r·B/N ..< (r+1)·B/N of every window (B = `--batch`, the global batch), so the data
/// order and the dropout masks are those of one process at batch B.
public struct BatchShard: Equatable, Sendable {
    public let globalBatch: Int
    public let ranks: Int
    public let rank: Int

    /// - Throws: `invalidArgument` unless N ranks split B sequences evenly (and 0 ≤ rank < N).
    public init(globalBatch: Int, ranks: Int, rank: Int) throws {
        guard ranks >= 1, (0..<ranks).contains(rank) else {
            throw CLTrainError.invalidArgument("rank \(rank) is not one of 0..<\(ranks)")
        }
        guard globalBatch >= ranks, globalBatch % ranks == 0 else {
            throw CLTrainError.invalidArgument(
                "--data-parallel splits --batch \(globalBatch) (the global batch) over \(ranks) ranks, which must divide it: each rank takes --batch / \(ranks) sequences; use a multiple of \(ranks)")
        }
        self.globalBatch = globalBatch
        self.ranks = ranks
        self.rank = rank
    }

    /// B / N: the sequences of this rank.
    public var localBatch: Int { globalBatch / ranks }
    /// Their indices in the global batch.
    public var sequences: Range<Int> { rank * localBatch..<(rank + 1) * localBatch }
}
