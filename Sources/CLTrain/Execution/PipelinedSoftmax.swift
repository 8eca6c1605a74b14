/// The softmax shards' side of one pipelined step (`ShardedSoftmaxLoss`, one block per unit that
/// reaches the output): each shard's statistics task and gradient task for a unit, and the top
/// layer's sum of the shards' parts of ∂L/∂h. Made on the calling thread before the workers
/// start (it takes buffers from the executor's workspace); used from the workers.
///
/// A shard's statistics task reports its row statistics for a split softmax (the last reporter
/// combines them, `RunStatistics`); its gradient task waits for the combination, writes ∂L/∂logits,
/// its weight gradients and its part of ∂L/∂h_top, and signals `done[s][u]`; the top layer's
/// backward of u waits for every shard's signal and sums the parts in shard order, so the result
/// does not depend on which worker finished first.
final class PipelinedSoftmax: @unchecked Sendable {
    let loss: ShardedSoftmaxLoss
    /// Per unit, for a split softmax: the shards' statistics and their combination.
    let statistics: [RunStatistics]
    /// Shard s's part of ∂L/∂h_top for unit u, and its signal.
    private let parts: [[ShipmentSlot]]
    private let done: [[Signal]]
    /// Where a shard's part first comes over to the top layer's backend (unit-sized, reused).
    private let arriving: Tensor?

    /// - Parameters:
    ///   - units: the blocks `loss` was prepared with.
    ///   - maxRows: the most rows a unit has.
    init(_ loss: ShardedSoftmaxLoss, units: Int, maxRows: Int, hiddenSize: Int, training: Bool, workspace: inout Workspace) throws {
        let shards = loss.shards
        self.loss = loss
        statistics = loss.isSplit ? try (0..<units).map { u in RunStatistics(shards: shards.count, ignored: try loss.ignoredRows(block: u)) } : []
        parts = shards.map { _ in (0..<units).map { _ in ShipmentSlot() } }
        done = shards.map { _ in (0..<units).map { _ in Signal() } }
        arriving = training && shards.contains { $0.backend !== loss.top }
            ? try workspace.tensor("gradientTopArriving", [maxRows, hiddenSize], on: loss.top) : nil
    }

    /// Shard s's forward for unit u (its logits and loss or statistics), from the top layer's rows.
    func forward(_ s: Int, unit u: Int, from top: Shipment) throws {
        if let reported = try loss.forward(s, block: u, from: top) { statistics[u].report(shard: s, reported) }
    }

    /// Waits until every shard's statistics for unit u are combined (a split softmax only).
    func waitForStatistics(unit u: Int, unless threads: WorkerPool) throws {
        if loss.isSplit { try statistics[u].combined.wait(unless: threads) }
    }

    /// Shard s's backward for unit u: ∂L/∂logits, its weight gradients, its part of ∂L/∂h sent to the top layer.
    func backward(_ s: Int, unit u: Int, from top: Shipment) throws {
        try loss.backward(s, block: u, logNormalizers: loss.isSplit ? statistics[u].logNormalizers : nil, from: top)
        parts[s][u].shipment = try loss.sendGradient(s, block: u)
    }

    /// Signals that shard s's part of ∂L/∂h for unit u is written.
    func finished(_ s: Int, unit u: Int) { done[s][u].fire() }

    /// Waits for every shard's part of ∂L/∂h for unit u.
    func waitForGradients(unit u: Int, unless threads: WorkerPool) throws {
        for shard in done { try shard[u].wait(unless: threads) }
    }

    /// The top layer's ∂L/∂h rows for unit u: every shard's part, in shard order.
    func accumulateInputGradient(unit u: Int) throws {
        try loss.accumulateInputGradient(block: u, parts: parts.map { $0[u].shipment }, arriving: arriving)
    }

    /// The step's summed cross-entropy, once every unit's forward is done.
    func stepLoss() throws -> Double {
        try loss.windowLoss(blockLosses: statistics.map(\.loss))
    }
}
