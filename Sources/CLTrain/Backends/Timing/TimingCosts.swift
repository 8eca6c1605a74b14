/// What each operation costs a timing device (`TimingBackend`), in seconds: a cost table by
/// operation kind and shape, derived from the planner's per-step `DeviceCosts`.
///
/// The costs are linear in the rows an operation covers, so a run of K steps costs K steps and a
/// micro-batch of B/M sequences 1/M of a step, as `PipelineSimulator` assumes:
/// - an LSTM layer's forward is charged to `lstmCellForward` (B rows: `layerForward`), its
///   backward to `lstmCellBackward` (`layerBackward`), its weight gradients to the two transposed
///   products that form ∂W_ih and ∂W_hh (each of the window's rows: `layerWeightGradient` / 2B).
///   A layer's other products — those whose weight side is 4H wide — cost nothing, so the
///   recurrent product the backward skips at step 0 changes nothing;
/// - the decoder's products (any other weight side: V_s vocabulary rows) are charged per row and
///   vocabulary row: logits `decoderForwardPerRow`, ∂h `decoderBackwardPerRow`, ∂W
///   `decoderWeightGradientPerRow`, each divided by B;
/// - an upload, download or index upload costs bytes / `link.bandwidth` + `link.latency`, a copy
///   bytes / `deviceCopy.bandwidth` + `deviceCopy.latency`;
/// - everything else (bias, softmax, elementwise, embedding, optimizer) costs nothing.
///
/// A layer's products are told from the decoder's by their 4H side, so no softmax shard may have
/// exactly 4H rows. Layer 0 costs what any other layer costs (its ops look alike), so the table
/// realises `realizedCosts`, not necessarily the first-layer figures it was given.
public struct TimingCosts: Sendable, Equatable {
    /// The per-step costs at B rows this table realises.
    public var costs: DeviceCosts
    /// B: the rows of one time step at the full batch.
    public var batch: Int
    /// H: a product with a 4H-wide weight side belongs to an LSTM layer.
    public var hidden: Int
    public var link: PipelineLink
    public var deviceCopy: PipelineLink

    public init(costs: DeviceCosts, batch: Int, hidden: Int, link: PipelineLink, deviceCopy: PipelineLink) throws {
        guard costs.isPlausible, batch > 0, hidden > 0 else {
            throw CLTrainError.invalidArgument("timing costs need plausible device costs, a positive batch and hidden size")
        }
        for l in [link, deviceCopy] where !(l.bandwidth > 0 && l.bandwidth.isFinite && l.latency >= 0 && l.latency.isFinite) {
            throw CLTrainError.invalidArgument("timing costs: \(l.name) needs a positive, finite bandwidth and latency")
        }
        self.costs = costs
        self.batch = batch
        self.hidden = hidden
        self.link = link
        self.deviceCopy = deviceCopy
    }

    /// The per-step costs a timing device of this table takes: the layers' figures for layer 0
    /// too, the host link's bandwidth.
    public var realizedCosts: DeviceCosts {
        DeviceCosts(layerForward: costs.layerForward, layerBackward: costs.layerBackward,
                    layerWeightGradient: costs.layerWeightGradient,
                    firstLayerForward: costs.layerForward, firstLayerBackward: costs.layerBackward,
                    firstLayerWeightGradient: costs.layerWeightGradient,
                    decoderForwardPerRow: costs.decoderForwardPerRow, decoderBackwardPerRow: costs.decoderBackwardPerRow,
                    decoderWeightGradientPerRow: costs.decoderWeightGradientPerRow, hostBandwidth: link.bandwidth)
    }

    private var perRow: Double { 1 / Double(batch) }

    /// C (M×N) = op(A) (M×K) · op(B) (K×N).
    func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int) -> Double {
        let layerSide = 4 * hidden
        switch (transposeA, transposeB) {
        case (false, true):    // x·Wᵀ: the weight's rows are N
            return n == layerSide ? 0 : Double(m) * Double(n) * costs.decoderForwardPerRow * perRow
        case (false, false):   // ∂Y·W: the weight's rows are K
            return k == layerSide ? 0 : Double(m) * Double(k) * costs.decoderBackwardPerRow * perRow
        case (true, false):    // ∂Yᵀ·X: the weight gradient's rows are M, summed over K rows
            return m == layerSide
                ? Double(k) * costs.layerWeightGradient * perRow / 2
                : Double(k) * Double(m) * costs.decoderWeightGradientPerRow * perRow
        case (true, true):
            return 0
        }
    }

    func cellForward(rows: Int) -> Double { Double(rows) * costs.layerForward * perRow }
    func cellBackward(rows: Int) -> Double { Double(rows) * costs.layerBackward * perRow }
    func hostTransfer(bytes: Int) -> Double { Double(bytes) / link.bandwidth + link.latency }
    func copy(bytes: Int) -> Double { Double(bytes) / deviceCopy.bandwidth + deviceCopy.latency }
}
