/// The work one benchmarked operation does: the one place where cltrain-bench's FLOP and byte
/// counts are defined, so every GFLOP/s and GB/s figure means the same thing.
///
/// - FLOPs count the matrix products only, 2 per multiply-add (2·M·N·K for a gemm), as BLAS and
///   cuDNN benchmarks do. The LSTM's pointwise work (bias adds, the gate nonlinearities, the bias
///   gradient sums) is not counted: at H = 1000 it is under 1 % of the products.
/// - Bytes are the least traffic to and from device memory: each operand read once and each
///   result written once, 4 bytes per element (float32 and int32 alike). Reported as GB/s for
///   memory-bound operations (softmax, cross-entropy, elementwise), where FLOPs are meaningless.
public struct OperationCost: Codable, Sendable, Equatable {
    /// Floating-point operations, or nil for a memory-bound operation.
    public var flops: Double?
    /// Bytes moved, or nil where no single count is meaningful (a whole LSTM layer).
    public var bytes: Double?

    public init(flops: Double?, bytes: Double?) {
        self.flops = flops
        self.bytes = bytes
    }

    /// C (M×N) = alpha·op(A) (M×K) · op(B) (K×N) + beta·C: 2·M·N·K FLOPs; A, B read and C written,
    /// and C also read when `readsC` (beta ≠ 0).
    public static func gemm(m: Int, n: Int, k: Int, readsC: Bool = false) -> OperationCost {
        let (m, n, k) = (Double(m), Double(n), Double(k))
        return OperationCost(flops: 2 * m * n * k, bytes: 4 * (m * k + k * n + m * n * (readsC ? 2 : 1)))
    }

    /// Row softmax of R×C into another R×C tensor: x read, y written.
    public static func softmax(rows: Int, columns: Int) -> OperationCost {
        OperationCost(flops: nil, bytes: 4 * 2 * Double(rows) * Double(columns))
    }

    /// Fused softmax + cross-entropy over R×C logits, with the gradient (the backward pass):
    /// logits read, the R×C gradient written, R targets read and R losses written.
    public static func softmaxCrossEntropy(rows: Int, columns: Int, withGradient: Bool = true) -> OperationCost {
        let (r, c) = (Double(rows), Double(columns))
        return OperationCost(flops: nil, bytes: 4 * (r * c * (withGradient ? 2 : 1) + 2 * r))
    }

    /// y += alpha·x over `count` elements: x and y read, y written.
    public static func axpy(count: Int) -> OperationCost {
        OperationCost(flops: nil, bytes: 4 * 3 * Double(count))
    }

    /// One Adam step over `count` parameters: parameter, gradient and both moments read;
    /// parameter and both moments written.
    public static func adam(count: Int) -> OperationCost {
        OperationCost(flops: nil, bytes: 4 * 7 * Double(count))
    }

    /// One LSTM time step as `LSTMLayer.forward` runs it: the recurrent product
    /// h (B×H) · W_hh (4H×H)ᵀ added into the gates (B×4H), then the fused cell (not counted).
    public static func lstmStep(batch: Int, hidden: Int) -> OperationCost {
        OperationCost(flops: 2 * Double(batch) * 4 * Double(hidden) * Double(hidden), bytes: nil)
    }

    /// The fused LSTM cell forward over B×H units: the B×4H pre-activations and c_{t−1} read, the
    /// B×4H activations (kept for the backward pass), c and h written.
    public static func lstmCell(batch: Int, hidden: Int) -> OperationCost {
        OperationCost(flops: nil, bytes: 4 * Double(batch) * Double(hidden) * (4 + 1 + 4 + 2))
    }

    /// `layers` stacked LSTM layers (`LSTMLayer`) over T steps of B sequences, the first reading
    /// `inputSize` features and the others the H outputs of the layer below; forward, and backward
    /// when `backward`, with the input gradient of every layer (as a language model needs it for
    /// its embedding). Per layer of input width In, the products `LSTMLayer` runs are:
    ///
    ///     forward   X·W_ihᵀ for all steps at once     2·(T·B)·4H·In
    ///               h_{t−1}·W_hhᵀ, T steps            T·2·B·4H·H
    ///     backward  dGates_t·W_hh, steps T−1 … 1      (T−1)·2·B·4H·H
    ///               dW_hh += dGatesᵀ·h_{t−1}          2·4H·H·(T·B)
    ///               dW_ih += dGatesᵀ·X                2·4H·In·(T·B)
    ///               dX = dGates·W_ih                  2·(T·B)·4H·In
    public static func lstmLayers(_ layers: Int, steps: Int, batch: Int, inputSize: Int, hidden: Int,
                                  backward: Bool) -> OperationCost {
        let (t, b, h) = (Double(steps), Double(batch), Double(hidden))
        var flops = 0.0
        for layer in 0..<layers {
            let input = Double(layer == 0 ? inputSize : hidden)
            flops += 2 * t * b * 4 * h * input + t * 2 * b * 4 * h * h
            if backward {
                flops += (t - 1) * 2 * b * 4 * h * h + 2 * 4 * h * h * t * b
                flops += 2 * 4 * h * input * t * b + 2 * t * b * 4 * h * input
            }
        }
        return OperationCost(flops: flops, bytes: nil)
    }
}
