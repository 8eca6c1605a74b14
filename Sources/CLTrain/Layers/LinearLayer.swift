/// y = x·Wᵀ + b: nn.Linear, here the decoder from the top hidden state to vocabulary logits.
/// weight (Out×In), bias (Out). A shard holds output rows `rows` of a layer with `totalOutputs`.
final class LinearLayer {
    let backend: Backend
    let weight: Parameter
    let bias: Parameter

    init(name: String, inputSize: Int, rows: Range<Int>, totalOutputs: Int, backend: Backend) throws {
        self.backend = backend
        weight = try Parameter(name: "\(name).weight", shape: [rows.count, inputSize], backend: backend,
                               rows: rows, totalRows: totalOutputs)
        bias = try Parameter(name: "\(name).bias", shape: [rows.count], backend: backend, rows: rows, totalRows: totalOutputs)
    }

    /// output (N×Out) = input (N×In) · Wᵀ + b.
    func forward(_ input: Tensor, into output: Tensor) throws {
        try backend.gemm(transposeA: false, transposeB: true, alpha: 1, input, weight.value, beta: 0, output)
        try backend.addBias(bias.value, to: output)
    }

    /// Accumulates dW (Out×In) += dYᵀ·X and db += Σ_rows dY; writes inputGradient (N×In) = dY·W.
    func backward(input: Tensor, outputGradient: Tensor, inputGradient: Tensor) throws {
        try backend.gemm(transposeA: true, transposeB: false, alpha: 1, outputGradient, input, beta: 1, weight.gradient)
        try backend.sumRows(outputGradient, into: bias.gradient, beta: 1)
        try backend.gemm(transposeA: false, transposeB: false, alpha: 1, outputGradient, weight.value, beta: 0, inputGradient)
    }
}
