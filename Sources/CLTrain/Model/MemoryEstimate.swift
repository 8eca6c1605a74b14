import Foundation

/// The bytes a model and one window of its training or evaluation need, from the shapes alone, so
/// that a size no device can hold is refused with the figure before anything is allocated (rather
/// than the allocator aborting halfway through building the model).
///
/// Every figure is float32 (4 bytes an element; token ids are int32, also 4). The arithmetic
/// saturates: a shape whose bytes do not fit in 64 bits gives `Int.max` and `saturated`, which no
/// device holds. The activations are those of the sequential schedule on one device (the buffers
/// `LanguageModel` and `LSTMLayer` keep per window); a placement over several devices splits them.
public struct MemoryEstimate: Equatable, Sendable, CustomStringConvertible {
    /// The weights: V·E + Σₗ 4H·(Inₗ + H + 2) + V·H + V floats.
    public var parameterBytes: Int
    /// One gradient per weight (every parameter keeps one, also for evaluation).
    public var gradientBytes: Int
    /// Adam's two moments per weight; none for SGD or evaluation.
    public var optimizerStateBytes: Int
    /// One window of T·B rows: embedding output, per layer gates, cells, hidden states and their
    /// gradients, the logits (their gradient overwrites them), token ids, the carried state.
    public var activationBytes: Int
    /// The largest single tensor, which must fit in one device buffer.
    public var largestTensor: (name: String, elements: Int)
    /// Some figure overflowed 64 bits: the shape needs more than `Int.max` bytes.
    public var saturated: Bool {
        [parameterBytes, optimizerStateBytes, activationBytes, totalBytes, largestTensor.elements].contains(.max)
    }

    public var totalBytes: Int {
        saturatingSum([parameterBytes, gradientBytes, optimizerStateBytes, activationBytes])
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.parameterBytes == b.parameterBytes && a.gradientBytes == b.gradientBytes
            && a.optimizerStateBytes == b.optimizerStateBytes && a.activationBytes == b.activationBytes
            && a.largestTensor == b.largestTensor
    }

    /// Bytes of `configuration`'s weights alone: what a checkpoint's tensors take, to compare with
    /// its file size before loading. `Int.max` when the count overflows.
    public static func parameterBytes(of configuration: ModelConfiguration) -> Int {
        bytes(parameterElements(configuration))
    }

    /// Training `configuration` with `optimizer` on windows of `batch` sequences × `bptt` steps:
    /// the whole model on one device, or the `part` of it one device of a placement holds.
    public static func training(_ configuration: ModelConfiguration, optimizer: OptimizerKind,
                                batch: Int, bptt: Int, part: ModelPart? = nil) -> MemoryEstimate {
        estimate(configuration, part: part ?? .whole(configuration), optimizerMoments: optimizer == .adam ? 2 : 0,
                 batch: batch, bptt: bptt, training: true)
    }

    /// Scoring or sampling: no optimizer state, no dropout masks.
    public static func evaluation(_ configuration: ModelConfiguration, batch: Int, bptt: Int) -> MemoryEstimate {
        estimate(configuration, part: .whole(configuration), optimizerMoments: 0, batch: batch, bptt: bptt, training: false)
    }

    private static func estimate(_ c: ModelConfiguration, part: ModelPart, optimizerMoments: Int, batch: Int, bptt: Int,
                                 training: Bool) -> MemoryEstimate {
        let (v, e, h) = (max(c.vocabularySize, 0), max(c.embeddingSize, 0), max(c.hiddenSize, 0))
        let rows = max(part.softmaxRows, 0)
        let n = product(max(batch, 0), max(bptt, 0))   // T·B rows
        let nh = product(n, h)
        // Weights: the embedding, each layer's 4H·(In + H + 2), the decoder rows' H + 1.
        let masks = training && c.dropout > 0 ? 1 : 0
        let upper = max(part.upperLayers, 0)
        // Weights: the embedding and layer 0's 4H·(E + H + 2), each upper layer's 4H·(H + H + 2),
        // the decoder rows' H + 1.
        let parameters = saturatingSum([
            part.firstLayer ? saturatingSum([product(v, e), product(4, h, saturatingSum([e, h, 2]))]) : 0,
            product(upper, 4, h, saturatingSum([h, h, 2])),
            product(rows, saturatingSum([h, 1])),
        ])
        // Activations of one window. Per row: the embedding's output and its gradient, ids and
        // targets; per layer 10·H (gates 4H, cells, hiddens, the gates' gradient 4H) + ∂h, for an
        // upper layer also its input and that input's gradient (and a dropout mask); the logits
        // (their gradient overwrites them) and losses. Per layer 5·B·H: the carried (h, c) and the
        // cell's carry buffers.
        let layers = saturatingSum([part.firstLayer ? 1 : 0, upper])
        let activations = saturatingSum([
            part.firstLayer ? product(n, saturatingSum([product(2, e), 2])) : 0,
            product(nh, saturatingSum([product(11, layers), product(2 + masks, upper)])),
            product(5, layers, max(batch, 0), h),
            product(n, saturatingSum([rows, 1])),
            // The embedding's output mask (E per row); the output's mask and dropped copy (2·H).
            training && part.firstLayer && c.drops(at: .embedding) ? product(n, e) : 0,
            training && rows > 0 && c.drops(at: .output) ? product(2, nh) : 0,
        ])
        var candidates: [(String, Int)] = [
            ("the decoder weight (V×H)", product(rows, h)),
            ("one window's logits (T·B×V)", product(n, rows)),
        ]
        if part.firstLayer {
            candidates += [("the embedding (V×E)", product(v, e)), ("layer 0's input weight (4H×E)", product(4, h, e))]
        }
        if layers > 0 {
            candidates += [("a layer's recurrent weight (4H×H)", product(4, h, h)), ("one window's gates (T·B×4H)", product(4, nh))]
        }
        let largest = candidates.max { $0.1 < $1.1 } ?? ("", 0)
        return MemoryEstimate(parameterBytes: bytes(parameters), gradientBytes: bytes(parameters),
                              optimizerStateBytes: bytes(product(optimizerMoments, parameters)),
                              activationBytes: bytes(activations), largestTensor: largest)
    }

    public var description: String {
        var parts = ["parameters \(formatBytes(parameterBytes))", "gradients \(formatBytes(gradientBytes))"]
        if optimizerStateBytes > 0 { parts.append("Adam moments \(formatBytes(optimizerStateBytes))") }
        parts.append("activations of one window \(formatBytes(activationBytes))")
        let total = saturated ? "more than \(formatBytes(.max)) (the byte count overflows 64 bits)" : formatBytes(totalBytes)
        return "\(total): " + parts.joined(separator: ", ")
    }

    /// V·E + Σₗ 4H·(Inₗ + H + 2) + V·H + V, saturating.
    static func parameterElements(_ c: ModelConfiguration) -> Int {
        let (v, e, h, l) = (max(c.vocabularySize, 0), max(c.embeddingSize, 0), max(c.hiddenSize, 0), max(c.layers, 0))
        let first = l > 0 ? product(4, h, saturatingSum([e, h, 2])) : 0
        let others = product(max(l - 1, 0), 4, h, saturatingSum([h, h, 2]))
        return saturatingSum([product(v, e), first, others, product(v, h), v])
    }
}

extension MemoryEstimate {
    /// An encoder–decoder's weights and gradients (no batch yet), as two language models of the
    /// same E, H and L: one with the source vocabulary (its embedding and stack are the encoder),
    /// one with the target's (embedding, stack and output layer: the decoder). An upper bound by
    /// the source side's output layer, V_s·(H + 1) floats, which the encoder does not have.
    public static func evaluation(_ c: TranslationConfiguration) -> MemoryEstimate {
        let sides = [c.sourceVocabularySize, c.targetVocabularySize].map { v in
            evaluation(ModelConfiguration(vocabularySize: v, embeddingSize: c.embeddingSize, hiddenSize: c.hiddenSize,
                                          layers: c.layers), batch: 0, bptt: 0)
        }
        return MemoryEstimate(parameterBytes: saturatingSum(sides.map(\.parameterBytes)),
                              gradientBytes: saturatingSum(sides.map(\.gradientBytes)), optimizerStateBytes: 0,
                              activationBytes: saturatingSum(sides.map(\.activationBytes)),
                              largestTensor: sides.max { $0.largestTensor.elements < $1.largestTensor.elements }?.largestTensor ?? ("", 0))
    }
}

/// Π factors (all ≥ 0), or `Int.max` where it would overflow.
private func product(_ factors: Int...) -> Int {
    var result = 1
    for f in factors {
        let (value, overflow) = result.multipliedReportingOverflow(by: f)
        if overflow { return .max }
        result = value
    }
    return result
}

private func bytes(_ elements: Int) -> Int { product(elements, 4) }

/// What one device of a placement holds: layer 0 with the embedding or not, how many of the
/// layers above it, and how many rows of the decoder and softmax (counts, not lists: a model of
/// 10⁹ layers is estimated, and refused, without listing them).
public struct ModelPart: Equatable, Sendable {
    public var firstLayer: Bool
    public var upperLayers: Int
    public var softmaxRows: Int

    public init(firstLayer: Bool, upperLayers: Int, softmaxRows: Int) {
        self.firstLayer = firstLayer
        self.upperLayers = upperLayers
        self.softmaxRows = softmaxRows
    }

    /// Every part of `configuration`.
    public static func whole(_ configuration: ModelConfiguration) -> ModelPart {
        ModelPart(firstLayer: configuration.layers > 0, upperLayers: max(configuration.layers - 1, 0),
                  softmaxRows: configuration.vocabularySize)
    }

    /// The part of `placement` on `device`.
    public init(of placement: Placement, on device: DeviceSelection) {
        firstLayer = placement.layers.first == device
        upperLayers = placement.layers.dropFirst().filter { $0 == device }.count
        softmaxRows = placement.softmaxShards.filter { $0.device == device }.reduce(0) { $0 + $1.rows.count }
    }
}

/// Σ terms (all ≥ 0), or `Int.max` where it would overflow.
private func saturatingSum(_ terms: [Int]) -> Int {
    var result = 0
    for t in terms {
        let (value, overflow) = result.addingReportingOverflow(t)
        if overflow { return .max }
        result = value
    }
    return result
}

/// Bytes in decimal units, as device makers state memory: "48.0 TB", "80.0 GB", "512 bytes".
public func formatBytes(_ bytes: Int) -> String {
    let units: [(Double, String)] = [(1e18, "EB"), (1e15, "PB"), (1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
    let value = Double(bytes)
    for (scale, unit) in units where value >= scale {
        return String(format: value / scale >= 100 ? "%.0f" : "%.1f", value / scale) + " " + unit
    }
    return "\(bytes) bytes"
}
