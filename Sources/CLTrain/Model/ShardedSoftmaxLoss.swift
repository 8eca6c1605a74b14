import Foundation

/// The decoder split by vocabulary rows over its shards, with the softmax cross-entropy over them:
/// the one implementation every executor runs, on a block of the window's rows at a time (the
/// whole window for `SequentialExecutor`, one unit of steps for `WavefrontExecutor`).
///
/// Per shard s and block, in this order:
/// 1. `forward`: the shard's input rows (the top layer's hidden states) arrive through the
///    transport, then logits (N×V_s) = x·W_sᵀ + b_s. A whole softmax (one shard) takes the fused
///    kernel: the rows' losses and, when training, ∂L/∂logits in place. A split one reports its
///    rows' maximum, Σ exp(x − max) and target logit to the host.
/// 2. `combine` (split only, on the host, over every shard's statistics): the rows' loss and log Z.
/// 3. `backward`: ∂L/∂logits from log Z (split only), the shard's weight and bias gradients, and
///    its part of ∂L/∂h_top (dY·W_s), which `sendGradient` makes readable by the top layer.
/// 4. `accumulateInputGradient`, on the top layer's backend: ∂L/∂h_top = Σ_s parts in shard order
///    (copy the first, add the rest), so the sum does not depend on which shard finished first.
///
/// Losses are scaled by 1/(T·B) over the whole window whatever the block, and the weight
/// gradients sum over every block, so any cut of the window into blocks gives the one-block result.
/// Memory: each shard's logits exist for one block (N×V_s), reused block after block.
final class ShardedSoftmaxLoss {
    let shards: [LinearLayer]
    /// The top LSTM layer's backend, where ∂L/∂h_top is gathered.
    let top: Backend
    let transport: Transport
    private var workspace = Workspace()
    private var window: Window?

    /// One shard's buffers for the current window.
    private struct ShardBuffers {
        let logits: Tensor     // (N×V_s) a block's logits, then ∂L/∂logits
        let input: Tensor?     // (N×H) the block's top hidden states here; nil on the top layer's backend
        /// (N) each: a split softmax's statistics for a block; nil for a whole one.
        let statistics: (maxima: Tensor, sumExp: Tensor, targetLogits: Tensor, logNormalizers: Tensor)?
        /// (T·B) a whole softmax's per-row losses, read back once the window is done: one shard
        /// has nothing to combine, so its blocks need no host round trip.
        let losses: Tensor?
        let targets: [IndexTensor]   // per block: its targets as this shard numbers them
        /// (T·B×H) this shard's dY·W_s; for shard 0 on the top layer's backend, the sum itself.
        /// nil when not training.
        let gradient: Tensor?
    }

    private struct Window {
        let blocks: [Range<Int>]   // each block's rows in the window-long buffers
        let scale: Float           // 1/(T·B): the mean over the window's targets (or the caller's)
        let training: Bool
        let gradientSum: Tensor?   // ∂L/∂h_top (T·B×H) on the top layer's backend
        /// Per block, per row: the target is the ignore index (−1), so the row has no loss.
        let ignored: [[Bool]]
        let shards: [ShardBuffers]
    }

    init(decoder: [LinearLayer], top: Backend, transport: Transport) {
        shards = decoder
        self.top = top
        self.transport = transport
    }

    var isSplit: Bool { shards.count > 1 }

    /// The buffers for a window cut into `blocks` (rows of the window-long buffers, in the layout
    /// the layers use), before any block runs; on the calling thread, not from pipeline workers.
    /// - Parameters:
    ///   - targets: the window's targets in that layout (nil: logits only, no loss).
    ///   - gradientSum: ∂L/∂h_top (T·B×H) on the top layer's backend, when training.
    ///   - gradientScale: what ∂L/∂logits is scaled by; nil: 1/(T·B), the mean over every row (a
    ///     translation batch, whose padding rows carry the ignore index, passes 1 / its real targets).
    func prepare(blocks: [Range<Int>], windowRows: Int, targets: [Int32]?, training: Bool, gradientSum: Tensor?,
                 gradientScale: Float? = nil) throws {
        let blockRows = blocks.map(\.count).max() ?? 0
        let hidden = shards[0].weight.shape[1]
        let buffers = try shards.enumerated().map { s, shard in
            let b = shard.backend
            let rowTensor = { (name: String) in try self.workspace.tensor("\(name)\(s)", [blockRows], on: b) }
            return ShardBuffers(
                logits: try workspace.tensor("logits\(s)", [blockRows, shard.weight.rows.count], on: b),
                input: b === top ? nil : try workspace.tensor("input\(s)", [blockRows, hidden], on: b),
                statistics: isSplit && targets != nil
                    ? (try rowTensor("maxima"), try rowTensor("sumExp"), try rowTensor("targetLogits"), try rowTensor("logNormalizers"))
                    : nil,
                losses: !isSplit && targets != nil ? try workspace.tensor("losses\(s)", [windowRows], on: b) : nil,
                targets: try targets.map { targets in
                    try blocks.enumerated().map { k, rows in
                        let block = targets[rows]
                        return try workspace.indices("targets\(s)/\(k)", isSplit ? shardTargets(block, shard: s) : Array(block), on: b)
                    }
                } ?? [],
                gradient: !training ? nil
                    : s == 0 && b === top ? gradientSum : try workspace.tensor("gradient\(s)", [windowRows, hidden], on: b))
        }
        let ignored = targets.map { targets in blocks.map { targets[$0].map { $0 == Self.ignoreIndex } } } ?? []
        window = Window(blocks: blocks, scale: gradientScale ?? 1 / Float(windowRows), training: training,
                        gradientSum: gradientSum, ignored: ignored, shards: buffers)
    }

    private func current() throws -> Window {
        guard let window else { throw CLTrainError.invalidArgument("ShardedSoftmaxLoss used before prepare") }
        return window
    }

    /// `targets` as shard s numbers them: its first row is 0; −1 where the target is in another shard.
    func shardTargets(_ targets: some Sequence<Int32>, shard s: Int) -> [Int32] {
        let r = shards[s].weight.rows
        return targets.map { r.contains(Int($0)) ? $0 - Int32(r.lowerBound) : -1 }
    }

    /// Shard s's input for block k on its backend: on the top layer's backend, the top layer's
    /// rows themselves (`top.source`).
    private func input(_ s: Int, block k: Int, _ window: Window, from top: Shipment) throws -> Tensor {
        guard let input = window.shards[s].input else { return top.source }
        return try input.rows(0..<window.blocks[k].count)
    }

    /// Shard s's logits for block k (N×V_s, a view of a buffer reused block after block), from
    /// `top`: the block's rows of the top layer's hidden states (N×H), sent to this shard's backend.
    func logits(_ s: Int, block k: Int, from top: Shipment) throws -> Tensor {
        let window = try current(), rows = window.blocks[k]
        let shard = shards[s]
        let x = try input(s, block: k, window, from: top)
        if window.shards[s].input != nil { try transport.receive(top, into: x, on: shard.backend) }
        let logits = try window.shards[s].logits.rows(0..<rows.count)
        try shard.forward(x, into: logits)
        return logits
    }

    /// Step 1 for shard s and block k. Returns the shard's statistics for a split softmax (nil for
    /// a whole one, whose losses stay on the device until `windowLoss`).
    func forward(_ s: Int, block k: Int, from top: Shipment) throws -> ShardStatistics? {
        try reduce(s, block: k, logits: logits(s, block: k, from: top))
    }

    /// Step 1 without the logits: the cross-entropy (whole softmax) or the statistics (split) of
    /// shard s's `logits` for block k. Apart from `logits`, so an executor can enqueue every
    /// shard's logits before it reads any shard's statistics back (a read waits for its queue).
    func reduce(_ s: Int, block k: Int, logits: Tensor) throws -> ShardStatistics? {
        let window = try current(), buffers = window.shards[s], b = shards[s].backend
        if let losses = buffers.losses {
            try b.softmaxCrossEntropy(logits: logits, targets: buffers.targets[k], ignoreIndex: Self.ignoreIndex,
                                      losses: losses.rows(window.blocks[k]), gradient: window.training ? logits : nil,
                                      gradientScale: window.scale)
            return nil
        }
        guard let statistics = buffers.statistics else { throw CLTrainError.invalidArgument("ShardedSoftmaxLoss prepared without targets") }
        let n = window.blocks[k].count
        let (m, e, t) = (try statistics.maxima.rows(0..<n), try statistics.sumExp.rows(0..<n), try statistics.targetLogits.rows(0..<n))
        try b.softmaxStatistics(logits: logits, targets: buffers.targets[k], maxima: m, sumExp: e, targetLogits: t)
        return ShardStatistics(maxima: try b.download(m), sumExp: try b.download(e), targetLogits: try b.download(t))
    }

    /// Step 2: every shard's statistics for one block, in shard order.
    static func combine(_ statistics: [ShardStatistics]) -> (loss: Double, logNormalizers: [Float]) {
        combineSoftmaxStatistics(maxima: statistics.map(\.maxima), sums: statistics.map(\.sumExp),
                                 targetLogits: statistics.map(\.targetLogits))
    }

    /// Step 2 for block k of a window whose targets may hold the ignore index: those rows add no
    /// loss and get log Z = +∞, which zeroes their gradient rows in step 3.
    func combine(_ statistics: [ShardStatistics], block k: Int) throws -> (loss: Double, logNormalizers: [Float]) {
        let ignored = try current().ignored
        return combineSoftmaxStatistics(maxima: statistics.map(\.maxima), sums: statistics.map(\.sumExp),
                                        targetLogits: statistics.map(\.targetLogits), ignored: k < ignored.count ? ignored[k] : [])
    }

    /// Which of block k's rows have the ignore index as target (empty: none, or no targets).
    func ignoredRows(block k: Int) throws -> [Bool] {
        let ignored = try current().ignored
        return k < ignored.count ? ignored[k] : []
    }

    /// The target value of a row without loss (PyTorch's default is −100; CLTrain's data uses −1).
    static let ignoreIndex: Int32 = -1

    /// Step 3 for shard s and block k, once `forward` ran for it from `top`: `logNormalizers` is
    /// the block's log Z from `combine` (nil for a whole softmax, whose logits hold ∂L/∂logits already).
    func backward(_ s: Int, block k: Int, logNormalizers: [Float]?, from top: Shipment) throws {
        let window = try current(), buffers = window.shards[s], shard = shards[s], b = shard.backend
        let rows = window.blocks[k], n = rows.count
        guard let gradient = buffers.gradient else { throw CLTrainError.invalidArgument("ShardedSoftmaxLoss prepared without training") }
        let logits = try buffers.logits.rows(0..<n)
        if let logNormalizers, let statistics = buffers.statistics {
            let z = try statistics.logNormalizers.rows(0..<n)
            try b.upload(logNormalizers, to: z)
            try b.softmaxCrossEntropyGradient(logits: logits, targets: buffers.targets[k], logNormalizers: z,
                                              gradientScale: window.scale, gradient: logits)
        }
        try shard.backward(input: input(s, block: k, window, from: top), outputGradient: logits,
                           inputGradient: gradient.rows(rows))
    }

    /// Shard s's part of ∂L/∂h_top for block k, sent to the top layer's backend; nil where the top
    /// layer reads it in place (its own backend).
    func sendGradient(_ s: Int, block k: Int) throws -> Shipment? {
        let window = try current(), shard = shards[s]
        guard shard.backend !== top, let gradient = window.shards[s].gradient else { return nil }
        return try transport.send(gradient.rows(window.blocks[k]), from: shard.backend, to: [top])
    }

    /// Step 4 for block k: ∂L/∂h_top's rows, on the top layer's backend, from every shard's part
    /// (`parts[s]` from `sendGradient`), summed in shard order. `arriving` (≥ N×H, on the top
    /// layer's backend; needed when any part is a shipment) takes a part from another backend
    /// before it is added.
    func accumulateInputGradient(block k: Int, parts: [Shipment?], arriving: Tensor?) throws {
        let window = try current(), rows = window.blocks[k]
        guard let sum = window.gradientSum else { throw CLTrainError.invalidArgument("ShardedSoftmaxLoss prepared without training") }
        let destination = try sum.rows(rows)
        for (s, buffers) in window.shards.enumerated() {
            guard let gradient = buffers.gradient, gradient !== sum else { continue }   // shard 0 wrote its part in place
            var part = try gradient.rows(rows)
            if let shipment = parts[s] {
                guard let arriving else { throw CLTrainError.invalidArgument("a shard's gradient part arrived with no buffer to take it") }
                let here = try arriving.rows(0..<rows.count)
                try transport.receive(shipment, into: here, on: top)
                part = here
            }
            if s == 0 { try top.copy(part, to: destination) } else { try top.axpy(alpha: 1, part, destination) }
        }
    }

    /// The window's summed cross-entropy once every block's forward is done: a whole softmax's
    /// losses read back and summed in row order; a split one's block losses (from `combine`) in order.
    func windowLoss(blockLosses: [Double]) throws -> Double {
        guard let losses = try current().shards[0].losses else { return blockLosses.reduce(0, +) }
        return try shards[0].backend.download(losses).reduce(0.0) { $0 + Double($1) }
    }
}

/// One shard's softmax statistics for a block's rows (N each): max, Σ exp(x − max), target logit
/// (0 where the target is in another shard).
struct ShardStatistics: Sendable {
    let maxima: [Float]
    let sumExp: [Float]
    let targetLogits: [Float]
}

/// Combines the statistics of a softmax split over vocabulary shards, row by row, on the host.
///
/// Each shard s reports, for every row, its logits' maximum m_s, Σ exp(x − m_s) S_s and the target
/// logit (0 where the target is in another shard). Then log Z = M + log Σ_s S_s·exp(m_s − M) with
/// M = max_s m_s, and the row's cross-entropy is log Z − the target logit. Shards are taken in
/// order, so every executor gets the same sums.
/// Rows marked in `ignored` add no loss and get log Z = +∞ (a zero gradient row).
/// - Returns: the summed cross-entropy over the rows and each row's log Z (for the gradient).
func combineSoftmaxStatistics(maxima: [[Float]], sums: [[Float]], targetLogits: [[Float]], ignored: [Bool] = [])
    -> (loss: Double, logNormalizers: [Float]) {
    let rows = maxima.first?.count ?? 0
    var total = 0.0
    var logNormalizers = [Float](repeating: 0, count: rows)
    for r in 0..<rows {
        if r < ignored.count && ignored[r] {
            logNormalizers[r] = .infinity
            continue
        }
        let m = maxima.map { Double($0[r]) }.max() ?? 0
        let z = m + log(zip(maxima, sums).reduce(0.0) { $0 + Double($1.1[r]) * exp(Double($1.0[r]) - m) })
        // Only the shard holding the target reports its logit; the others report 0.
        total += z - targetLogits.reduce(0.0) { $0 + Double($1[r]) }
        logNormalizers[r] = Float(z)
    }
    return (total, logNormalizers)
}
