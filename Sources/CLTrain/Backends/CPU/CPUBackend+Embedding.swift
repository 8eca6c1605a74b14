extension CPUBackend {
    public func embeddingForwardKernel(table: Tensor, indices: IndexTensor, output: Tensor, width E: Int) throws {
        let op = "embeddingForward"
        let w = try floats(table, op)    // (V, E)
        let out = try floats(output, op)  // (N, E); the indices (N) are read from their host copy
        for (n, index) in indices.values.enumerated() {
            let v = Int(index)
            for e in 0..<E { out[n * E + e] = w[v * E + e] }
        }
    }

    public func embeddingBackwardKernel(outputGradient: Tensor, indices: IndexTensor, tableGradient: Tensor,
                                        width E: Int) throws {
        let op = "embeddingBackward"
        let dOut = try floats(outputGradient, op)  // (N, E)
        let dW = try floats(tableGradient, op)     // (V, E), accumulated into; indices (N) from the host copy
        // In index order, n = 0, 1, …: the order every backend must reproduce.
        for (n, index) in indices.values.enumerated() {
            let v = Int(index)
            for e in 0..<E { dW[v * E + e] += dOut[n * E + e] }
        }
    }
}
