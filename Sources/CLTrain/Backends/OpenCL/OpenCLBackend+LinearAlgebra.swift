extension OpenCLBackend {
    public func gemm(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor,
                     beta: Float, _ c: Tensor) throws {
        let d = try OperationChecks.gemm(transposeA: transposeA, transposeB: transposeB, a, b, c)
        if d.k == 0 || alpha == 0 {
            // No product term: C = beta · C without reading A and B (nor C when beta == 0).
            _ = try [a, b, c].map { try buffer($0, "gemm") }
            return beta == 0 ? try fill(c, with: 0) : try scale(c, by: beta)
        }
        let kernel = kernels.gemm[(transposeA ? 2 : 0) + (transposeB ? 1 : 0)]
        let group = parameters.gemmGroup
        // One work-group per tileM × tileN tile of C; dimension 0 runs along N.
        let global = [(d.n + parameters.tileN - 1) / parameters.tileN * group.n,
                      (d.m + parameters.tileM - 1) / parameters.tileM * group.m]
        try launch(kernel, global: global, local: [group.n, group.m],
                   [.int(Int32(d.m)), .int(Int32(d.n)), .int(Int32(d.k)), .float(alpha)]
                   + operand(a, "gemm") + [.int(Int32(a.shape[1]))]
                   + operand(b, "gemm") + [.int(Int32(b.shape[1]))]
                   + [.float(beta)] + operand(c, "gemm") + [.int(Int32(c.shape[1]))])
    }

    public func addBias(_ bias: Tensor, to x: Tensor) throws {
        let (r, c) = try OperationChecks.rowsAndVector(x, bias, ("x", "bias"), "addBias")
        try launch(kernels.addBias, global: [c, r], local: nil,
                   [.int(Int32(r)), .int(Int32(c))] + operand(x, "addBias") + operand(bias, "addBias"))
    }

    public func sumRows(_ x: Tensor, into out: Tensor, beta: Float) throws {
        let (r, c) = try OperationChecks.rowsAndVector(x, out, ("x", "out"), "sumRows")
        try launch1D(kernels.sumRows, count: c,
                     [.int(Int32(r)), .int(Int32(c))] + operand(x, "sumRows") + operand(out, "sumRows") + [.float(beta)])
    }
}
