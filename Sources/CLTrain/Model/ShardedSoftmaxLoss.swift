import Foundation

/// Combines the statistics of a softmax split over vocabulary shards, row by row, on the host.
///
/// Each shard s reports, for every row, its logits' maximum m_s, Σ exp(x − m_s) S_s and the target
/// logit (0 where the target is in another shard). Then log Z = M + log Σ_s S_s·exp(m_s − M) with
/// M = max_s m_s, and the row's cross-entropy is log Z − the target logit. Shards are taken in
/// order, so every schedule gets the same sums.
/// - Returns: the summed cross-entropy over the rows and each row's log Z (for the gradient).
func combineSoftmaxStatistics(maxima: [[Float]], sums: [[Float]], targetLogits: [[Float]])
    -> (loss: Double, logNormalizers: [Float]) {
    let rows = maxima.first?.count ?? 0
    var total = 0.0
    var logNormalizers = [Float](repeating: 0, count: rows)
    for r in 0..<rows {
        let m = maxima.map { Double($0[r]) }.max() ?? 0
        let z = m + log(zip(maxima, sums).reduce(0.0) { $0 + Double($1.1[r]) * exp(Double($1.0[r]) - m) })
        // Only the shard holding the target reports its logit; the others report 0.
        total += z - targetLogits.reduce(0.0) { $0 + Double($1[r]) }
        logNormalizers[r] = Float(z)
    }
    return (total, logNormalizers)
}

/// One run's softmax statistics as the decoder shards' workers report them. The shard that reports
/// last combines them (`combineSoftmaxStatistics`) and fires `combined`; the shards' gradients wait
/// for it. Which worker combines does not matter: the arrays are indexed by shard.
final class RunStatistics: @unchecked Sendable {
    private let lock = NSLock()
    private var maxima: [[Float]], sums: [[Float]], targetLogits: [[Float]]
    private var remaining: Int
    private var result: (loss: Double, logNormalizers: [Float]) = (0, [])
    /// Fired once every shard has reported and the rows are combined.
    let combined = Signal()

    init(shards: Int) {
        maxima = Array(repeating: [], count: shards)
        sums = maxima
        targetLogits = maxima
        remaining = shards
    }

    /// Shard `shard`'s row maxima, Σ exp and target logits for the run.
    func report(shard: Int, maxima m: [Float], sumExp e: [Float], targetLogits t: [Float]) {
        let last = lock.withLock {
            maxima[shard] = m
            sums[shard] = e
            targetLogits[shard] = t
            remaining -= 1
            guard remaining == 0 else { return false }
            result = combineSoftmaxStatistics(maxima: maxima, sums: sums, targetLogits: targetLogits)
            return true
        }
        if last { combined.fire() }
    }

    /// The summed cross-entropy of the run's rows; valid once `combined` has fired.
    var loss: Double { lock.withLock { result.loss } }
    /// Each row's log Z over every shard; valid once `combined` has fired.
    var logNormalizers: [Float] { lock.withLock { result.logNormalizers } }
}
