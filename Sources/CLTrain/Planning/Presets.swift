/// Every outside figure the planner uses, in one place, each with its source.
///
/// Measured figures come from shared/gpu/README.md beside the repository (H100 80GB HBM3, driver
/// 580.159.04, PyTorch with cuDNN, 2026-11-22); link figures from the issue (#5) and the vendors' data sheets.
/// Anything derived or assumed says so.
public enum Presets {
    // MARK: Links

    /// PCIe 4.0 ×16: about 25 GB/s per direction in practice (31.5 GB/s raw). The 10 µs latency is
    /// an assumption (a DMA set-up and an event wait on each side), not a measurement.
    public static let pcie4 = PipelineLink(name: "PCIe 4.0 x16", bandwidth: 25e9, latency: 10e-6)

    /// NVLink 4 (H100 SXM, 18 links): 450 GB/s per direction. The 5 µs latency is an assumption
    /// (dominated by the copy's launch and event, not by the wire), not a measurement. The runtime
    /// stages every transfer between devices through host memory, so as `PipelineModel.link` this
    /// is a what-if: a host link of NVLink's speed (NVLink-C2C, as on a GH200, is 450 GB/s per
    /// direction), not peer copies, which the runtime does not make.
    public static let nvlink4 = PipelineLink(name: "NVLink 4", bandwidth: 450e9, latency: 5e-6)

    /// A copy within one GPU's memory: H100 HBM3 reads and writes 3.35 TB/s at its peak, so a copy
    /// moves about half that; 1.5 TB/s and a 5 µs launch are assumptions, not measurements.
    public static let deviceCopy = PipelineLink(name: "device copy (HBM3)", bandwidth: 1.5e12, latency: 5e-6)

    // MARK: The 2014 shape

    /// Sutskever, Vinyals & Le (2014), and the shape the issue asks about: 4 layers of 1000 units,
    /// 1000-wide embedding, an 80 000-word softmax, batch 128; T 50 as in the H100 measurements.
    public static let shape2014 = WorkloadShape(batch: 128, hidden: 1000, embedding: 1000, vocabulary: 80_000, steps: 50)
    public static let layers2014 = 4
    /// What 2014 reported: 1 700 words/s on one GPU, 6 300 on eight, 3.7×.
    public static let speedup2014 = 3.7

    // MARK: The 2014 translation model

    /// Sutskever et al. 2014's encoder–decoder (§3.4): 4 layers of 1000 units per stack,
    /// 1000-wide embeddings, 160 000 source and 80 000 target words, batch 128. The padded steps
    /// are the WMT'14 English→French training set's means (§3.1: 12 M sentences of 304 M English
    /// and 348 M French words): S 25 source words; T 30, 29 French words and `<eos>`. Plan-only
    /// figures: `cltrain train --preset sutskever-2014-translate` takes its own from
    /// Training/TrainingPreset.swift.
    public static let translation2014 = TranslationWorkload(batch: 128, hidden: 1000, embedding: 1000, sourceVocabulary: 160_000,
                                                            targetVocabulary: 80_000, sourceSteps: 25, targetSteps: 30)
    /// The paper's layout: layer k of both stacks on GPU k, the softmax over 4 more.
    public static let translationLayerDevices2014 = 4, translationSoftmaxDevices2014 = 4
    /// What 2014 reported for it: 6 300 words/s on 8 GPUs, about 1 700 on one.
    public static let translationWordsPerSecond2014 = (oneDevice: 1_700.0, eightDevices: 6_300.0)

    // MARK: H100 measurements (cuDNN / PyTorch, the 2014 shape)

    /// cuDNN LSTM, 1 layer, H 1000, B 128, T 50: forward + backward, and forward alone (seconds).
    public static let h100LSTMLayerForwardBackward = 10.3e-3
    public static let h100LSTMLayerForward = 3.5e-3
    /// cuDNN LSTM, 4 layers, same shape, forward + backward. cuDNN overlaps the layers inside one
    /// call, so this is less than 4 × one layer.
    public static let h100LSTM4LayersForwardBackward = 34.4e-3
    /// PyTorch language-model step: embedding + 4 × 1000 LSTM + 80 000 softmax, B 128, T 50, SGD +
    /// clipping: 100.7 ms = 63 500 words/s.
    public static let h100PyTorchStep = 100.7e-3
    /// Cross-entropy forward + backward over 128 × 80 000 logits (one time step).
    public static let h100CrossEntropy = 0.20e-3

    /// Per-step costs of one H100 at `shape2014`, derived from the figures above:
    /// - layer forward: 3.5 ms / 50 steps = 70 µs.
    /// - layer backward: (10.3 − 3.5) ms / 50 = 136 µs, split in half between the part the next
    ///   stage waits for (∂h, ∂x products + cell) and the weight gradients (∂W_ih, ∂W_hh): each is
    ///   two B×4H×H products, so their FLOPs are equal. Layer 0 costs the same (E = H; the
    ///   embedding lookup is negligible).
    /// - decoder + softmax: whatever the PyTorch step spends outside the 4-layer cuDNN call,
    ///   100.7 − 34.4 = 66.3 ms (this also holds the embedding, SGD and clipping, ~1–2 ms, so it
    ///   slightly overstates the softmax). Of it, cross-entropy is 0.20 ms × 50 = 10 ms (forward
    ///   part); the remaining 56.3 ms are three equal gemms (logits, ∂h, ∂W) of 18.8 ms each.
    ///   Per vocabulary row per step: forward (18.8 + 10) ms / (80 000 · 50), backward and weight
    ///   gradient 18.8 ms / (80 000 · 50) each.
    /// - host bandwidth: the PCIe 4.0 figure (only used for host staging, not by the simulator).
    public static let h100Costs2014: DeviceCosts = {
        let steps = Double(shape2014.steps), rows = Double(shape2014.vocabulary)
        let forward = h100LSTMLayerForward / steps
        let backward = (h100LSTMLayerForwardBackward - h100LSTMLayerForward) / steps
        let outsideLSTM = h100PyTorchStep - h100LSTM4LayersForwardBackward
        let crossEntropy = h100CrossEntropy * steps
        let gemm = (outsideLSTM - crossEntropy) / 3
        return DeviceCosts(
            layerForward: forward, layerBackward: backward / 2, layerWeightGradient: backward / 2,
            firstLayerForward: forward, firstLayerBackward: backward / 2, firstLayerWeightGradient: backward / 2,
            decoderForwardPerRow: (gemm + crossEntropy) / (rows * steps),
            decoderBackwardPerRow: gemm / (rows * steps),
            decoderWeightGradientPerRow: gemm / (rows * steps),
            hostBandwidth: pcie4.bandwidth)
    }()

    /// Whether `h100Costs(for: shape)` are the measured costs themselves: per-step and per-row
    /// costs depend on B, H and E only, not on the window's steps or the vocabulary's rows.
    public static func isMeasuredH100Shape(_ shape: WorkloadShape) -> Bool {
        (shape.batch, shape.hidden, shape.embedding) == (shape2014.batch, shape2014.hidden, shape2014.embedding)
    }

    /// `h100Costs2014` carried to another shape by FLOPs: layer costs ∝ B·H·(In + H), per-row
    /// decoder costs ∝ B·H. Rough away from the measured shape: small shapes do not fill an H100,
    /// so they come out too fast.
    public static func h100Costs(for shape: WorkloadShape) -> DeviceCosts {
        let reference = shape2014
        // In floating point: the shape's sizes are the user's, and their products may not fit an Int.
        let (b, h, e) = (Double(shape.batch), Double(shape.hidden), Double(shape.embedding))
        let (rb, rh, re) = (Double(reference.batch), Double(reference.hidden), Double(reference.embedding))
        let layer = (b * h * 2 * h) / (rb * rh * 2 * rh)
        let firstLayer = (b * h * (e + h)) / (rb * rh * (re + rh))
        let row = (b * h) / (rb * rh)
        return h100Costs2014.scaled(layer: layer, firstLayer: firstLayer, row: row)
    }
}
