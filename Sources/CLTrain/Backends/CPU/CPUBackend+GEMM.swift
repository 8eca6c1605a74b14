import CBLAS

extension CPUBackend {
    public func gemmKernel(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor,
                           beta: Float, _ c: Tensor, m M: Int, n N: Int, k K: Int) throws {
        let op = "gemm"
        // BLAS takes 32-bit sizes.
        try OperationChecks.fitsKernelInt(M, N, K, a.shape[1], b.shape[1], operation: op)
        let A = try floats(a, op)  // (M, K), stored (K, M) when transposeA
        let B = try floats(b, op)  // (K, N), stored (N, K) when transposeB
        let C = try floats(c, op)  // (M, N)

        if M == 0 || N == 0 { return }  // C is empty.
        if K == 0 || alpha == 0 {
            // No product term: C = beta · C; A and B are not read, nor C when beta == 0.
            for i in 0..<M * N { C[i] = beta == 0 ? 0 : beta * C[i] }
            return
        }
        // Row-major; each leading dimension is the row length of the matrix as stored. BLAS does
        // not read C when beta == 0 (reference BLAS: "C need not be set on input").
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    blasint(M), blasint(N), blasint(K),
                    alpha, A, blasint(a.shape[1]),
                    B, blasint(b.shape[1]),
                    beta, C, blasint(N))
    }

    public func addBiasKernel(_ bias: Tensor, to x: Tensor, rows R: Int, columns C: Int) throws {
        let op = "addBias"
        let xs = try floats(x, op)       // (R, C)
        let bs = try floats(bias, op)    // (C)
        for r in 0..<R {
            for col in 0..<C { xs[r * C + col] += bs[col] }
        }
    }

    public func broadcastRowsKernel(_ row: Tensor, into x: Tensor, rows R: Int, columns C: Int) throws {
        let op = "broadcastRows"
        let xs = try floats(x, op)     // (R, C), written only
        let rs = try floats(row, op)   // (C)
        for r in 0..<R { (xs + r * C).update(from: rs, count: C) }
    }

    public func sumRowsKernel(_ x: Tensor, into out: Tensor, beta: Float, rows R: Int, columns C: Int) throws {
        let op = "sumRows"
        let xs = try floats(x, op)     // (R, C)
        let os = try floats(out, op)   // (C)
        // Each column summed in Double, so the reference's own rounding stays far below float32
        // resolution, and in row order: eight columns at a time, rows in memory order, so the loop
        // streams through x. On one thread: it follows the gemms, whose OpenBLAS worker still
        // spins on the other core (BENCHMARKS.md, the LSTM step).
        let vectors = (C + FloatVector.scalarCount - 1) / FloatVector.scalarCount
        let sums = UnsafeMutablePointer<SIMD8<Double>>.allocate(capacity: max(vectors, 1))  // (C rounded up to 8)
        defer { sums.deallocate() }
        sums.initialize(repeating: SIMD8<Double>(repeating: 0), count: vectors)
        for r in 0..<R {
            VectorMath.forEachVector(C) { col, n in
                sums[col / FloatVector.scalarCount] += SIMD8<Double>(VectorMath.load(xs, r * C + col, n))
            }
        }
        for col in 0..<C {
            // beta == 0: `out` is not read, so NaNs in it do not leak.
            let sum = Float(sums[col / FloatVector.scalarCount][col % FloatVector.scalarCount])
            os[col] = beta == 0 ? sum : beta * os[col] + sum
        }
    }
}
