extension CPUBackend {
    public func embeddingForward(table: Tensor, indices: IndexTensor, output: Tensor) throws {
        let op = "embeddingForward"
        let (_, E) = try OperationChecks.embedding(table: table, indices: indices, rows: output, rowsName: "output", op)
        let w = try floats(table, op)    // (V, E)
        let out = try floats(output, op)  // (N, E)
        try requireOwned(indices, op)     // (N)
        for (n, index) in indices.values.enumerated() {
            let v = Int(index)
            for e in 0..<E { out[n * E + e] = w[v * E + e] }
        }
    }

    public func embeddingBackward(outputGradient: Tensor, indices: IndexTensor, tableGradient: Tensor) throws {
        let op = "embeddingBackward"
        let (_, E) = try OperationChecks.embedding(table: tableGradient, indices: indices, rows: outputGradient,
                                                   rowsName: "outputGradient", op)
        let dOut = try floats(outputGradient, op)  // (N, E)
        let dW = try floats(tableGradient, op)     // (V, E), accumulated into
        try requireOwned(indices, op)              // (N)
        // In index order, n = 0, 1, …: the order every backend must reproduce.
        for (n, index) in indices.values.enumerated() {
            let v = Int(index)
            for e in 0..<E { dW[v * E + e] += dOut[n * E + e] }
        }
    }
}
