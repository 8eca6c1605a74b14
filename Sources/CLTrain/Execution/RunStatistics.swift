import Foundation

/// One unit's softmax statistics as the decoder shards' workers report them. The shard that
/// reports last combines them (`combineSoftmaxStatistics`, without the ignored rows) and fires `combined`; the shards'
/// gradients wait for it. Which worker combines does not matter: the reports are indexed by shard.
final class RunStatistics: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [ShardStatistics?]
    private var remaining: Int
    private var result: (loss: Double, logNormalizers: [Float]) = (0, [])
    /// Fired once every shard has reported and the rows are combined.
    let combined = Signal()

    /// Rows whose target is the ignore index (no loss, a zero gradient row; empty: none).
    private let ignored: [Bool]

    init(shards: Int, ignored: [Bool] = []) {
        reports = Array(repeating: nil, count: shards)
        remaining = shards
        self.ignored = ignored
    }

    /// Shard `shard`'s row maxima, Σ exp and target logits for the unit.
    func report(shard: Int, _ statistics: ShardStatistics) {
        let last = lock.withLock {
            reports[shard] = statistics
            remaining -= 1
            guard remaining == 0 else { return false }
            let all = reports.compactMap { $0 }
            result = combineSoftmaxStatistics(maxima: all.map(\.maxima), sums: all.map(\.sumExp),
                                              targetLogits: all.map(\.targetLogits), ignored: ignored)
            return true
        }
        if last { combined.fire() }
    }

    /// The summed cross-entropy of the unit's rows; valid once `combined` has fired.
    var loss: Double { lock.withLock { result.loss } }
    /// Each row's log Z over every shard; valid once `combined` has fired.
    var logNormalizers: [Float] { lock.withLock { result.logNormalizers } }
}
