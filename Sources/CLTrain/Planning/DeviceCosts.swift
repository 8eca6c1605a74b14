import Foundation

/// The shape of one training window as calibration and planning see it.
///
/// B sequences, T steps of truncated backpropagation, H units per LSTM layer, E embedding width
/// (the input width of layer 0), V vocabulary rows of the decoder and softmax.
public struct WorkloadShape: Codable, Hashable, Sendable, CustomStringConvertible {
    public var batch: Int
    public var hidden: Int
    public var embedding: Int
    public var vocabulary: Int
    public var steps: Int

    public init(batch: Int, hidden: Int, embedding: Int, vocabulary: Int, steps: Int) {
        self.batch = batch
        self.hidden = hidden
        self.embedding = embedding
        self.vocabulary = vocabulary
        self.steps = steps
    }

    /// Each size positive, and below bounds far above any real model, so that the byte and FLOP
    /// products of the costs and the simulation cannot overflow; named by the `cltrain` flags.
    public func validate() throws {
        let why = "far above any real model; keeps the cost model's products in range"
        try InputNumber.check(batch, "--batch", in: 1...(1 << 20), why: why)
        try InputNumber.check(hidden, "--hidden", in: 1...(1 << 20), why: why)
        try InputNumber.check(embedding, "--embedding", in: 1...(1 << 20), why: why)
        try InputNumber.check(vocabulary, "--vocab", in: 1...(1 << 30), why: why)
        try InputNumber.check(steps, "--bptt", in: 1...(1 << 20), why: why)
    }

    /// Bytes of one B×H float32 activation: what crosses a layer boundary per time step.
    public var activationBytes: Int { batch * hidden * 4 }

    public var description: String {
        "B \(batch), H \(hidden), E \(embedding), V \(vocabulary), T \(steps)"
    }
}

/// Seconds one device needs for the model's operations, each for ONE time step of B sequences.
///
/// Layer costs are split the way a pipeline needs them: the forward of a step, the part of the
/// backward that the step below waits for (the cell backward and the ∂h, ∂x products), and the
/// weight gradients, which wait for nothing and can run last. The decoder and softmax cost is per
/// vocabulary row, so a shard of R rows costs R times as much (linear in R, as the gemms are).
public struct DeviceCosts: Codable, Equatable, Sendable {
    /// One LSTM layer with an H-wide input: x·W_ihᵀ and h·W_hhᵀ (B×4H×H each) and the cell.
    public var layerForward: Double
    /// Its backward for one step: cell backward, ∂h_{t−1} = ∂gates·W_hh and ∂x_t = ∂gates·W_ih.
    public var layerBackward: Double
    /// Its weight gradients for one step: ∂W_ih, ∂W_hh (4H×H over B rows) and the bias sums.
    public var layerWeightGradient: Double
    /// The same three for layer 0, whose input is E wide; they include the embedding lookup
    /// (forward) and its gradient (weight gradient).
    public var firstLayerForward: Double
    public var firstLayerBackward: Double
    public var firstLayerWeightGradient: Double
    /// Per vocabulary row: logits (B×H · H) + bias + softmax cross-entropy with its gradient.
    public var decoderForwardPerRow: Double
    /// Per vocabulary row: its share of ∂h = ∂logits·W (B×H, summed over rows).
    public var decoderBackwardPerRow: Double
    /// Per vocabulary row: ∂W = ∂logitsᵀ·h and the bias sum.
    public var decoderWeightGradientPerRow: Double
    /// Host ↔ device bandwidth in bytes per second (mean of upload and download of B×H floats);
    /// for the CPU backend, whose tensors live in host memory, that is a memory copy. Recorded for
    /// reference: the simulator costs transfers by `PipelineModel.link`.
    public var hostBandwidth: Double

    public init(layerForward: Double, layerBackward: Double, layerWeightGradient: Double,
                firstLayerForward: Double, firstLayerBackward: Double, firstLayerWeightGradient: Double,
                decoderForwardPerRow: Double, decoderBackwardPerRow: Double, decoderWeightGradientPerRow: Double,
                hostBandwidth: Double) {
        self.layerForward = layerForward
        self.layerBackward = layerBackward
        self.layerWeightGradient = layerWeightGradient
        self.firstLayerForward = firstLayerForward
        self.firstLayerBackward = firstLayerBackward
        self.firstLayerWeightGradient = firstLayerWeightGradient
        self.decoderForwardPerRow = decoderForwardPerRow
        self.decoderBackwardPerRow = decoderBackwardPerRow
        self.decoderWeightGradientPerRow = decoderWeightGradientPerRow
        self.hostBandwidth = hostBandwidth
    }

    /// Layer `index`'s costs for one step: (forward, backward, weight gradient).
    public func layer(_ index: Int) -> (forward: Double, backward: Double, weightGradient: Double) {
        index == 0
            ? (firstLayerForward, firstLayerBackward, firstLayerWeightGradient)
            : (layerForward, layerBackward, layerWeightGradient)
    }

    /// All the work of layer `index` for one step.
    public func layerWork(_ index: Int) -> Double {
        let costs = layer(index)
        return costs.forward + costs.backward + costs.weightGradient
    }

    /// All the decoder and softmax work of one vocabulary row for one step.
    public var rowWork: Double { decoderForwardPerRow + decoderBackwardPerRow + decoderWeightGradientPerRow }

    /// Every per-step cost multiplied by `factor` (the host bandwidth is left alone).
    public func scaled(by factor: Double) -> DeviceCosts {
        scaled(layer: factor, firstLayer: factor, row: factor)
    }

    /// Every time scaled, by group: the layers above the first, the first layer, the decoder rows.
    public func scaled(layer: Double, firstLayer: Double, row: Double) -> DeviceCosts {
        DeviceCosts(layerForward: layerForward * layer, layerBackward: layerBackward * layer,
                    layerWeightGradient: layerWeightGradient * layer,
                    firstLayerForward: firstLayerForward * firstLayer, firstLayerBackward: firstLayerBackward * firstLayer,
                    firstLayerWeightGradient: firstLayerWeightGradient * firstLayer,
                    decoderForwardPerRow: decoderForwardPerRow * row,
                    decoderBackwardPerRow: decoderBackwardPerRow * row,
                    decoderWeightGradientPerRow: decoderWeightGradientPerRow * row,
                    hostBandwidth: hostBandwidth)
    }

    /// True when every time is finite and non-negative and the bandwidth positive (a cache entry
    /// that fails this is ignored).
    public var isPlausible: Bool {
        let times = [layerForward, layerBackward, layerWeightGradient, firstLayerForward, firstLayerBackward,
                     firstLayerWeightGradient, decoderForwardPerRow, decoderBackwardPerRow, decoderWeightGradientPerRow]
        return times.allSatisfy { $0.isFinite && $0 >= 0 } && hostBandwidth.isFinite && hostBandwidth > 0
    }
}

/// A duration for reasons and tables: "70.0 µs", "10.30 ms", "1.25 s".
func formatSeconds(_ seconds: Double) -> String {
    if !seconds.isFinite { return "\(seconds) s" }
    if seconds >= 1 { return String(format: "%.2f s", seconds) }
    if seconds >= 1e-3 { return String(format: "%.2f ms", seconds * 1e3) }
    if seconds >= 1e-6 { return String(format: "%.1f µs", seconds * 1e6) }
    return String(format: "%.1f ns", seconds * 1e9)
}
