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

    /// output (N×Out) = b + input (N×In) · Wᵀ: the bias broadcast into the rows, the product
    /// added onto it (beta 1), so no pass over the output adds the bias afterwards.
    func forward(_ input: Tensor, into output: Tensor) throws {
        try backend.broadcastRows(bias.value, into: output)
        try backend.gemm(transposeA: false, transposeB: true, alpha: 1, input, weight.value, beta: 1, output)
    }

    /// Accumulates dW (Out×In) += dYᵀ·X and db += Σ_rows dY; writes inputGradient (N×In) = dY·W.
    func backward(input: Tensor, outputGradient: Tensor, inputGradient: Tensor) throws {
        try backend.gemm(transposeA: true, transposeB: false, alpha: 1, outputGradient, input, beta: 1, weight.gradient)
        try backend.sumRows(outputGradient, into: bias.gradient, beta: 1)
        try backend.gemm(transposeA: false, transposeB: false, alpha: 1, outputGradient, weight.value, beta: 0, inputGradient)
    }
}
