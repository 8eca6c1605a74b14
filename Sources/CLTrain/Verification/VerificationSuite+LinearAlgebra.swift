/// gemm, addBias, broadcastRows and sumRows cases.
extension VerificationSuite {
    /// (M, N, K): ones, primes and sizes no tile divides, a long reduction, and the LSTM layer's
    /// 128×4000×2000 (batch 128, 4H = 4000 gates, input + hidden = 2000).
    static let gemmShapes = [(1, 1, 1), (7, 33, 129), (33, 7, 1), (129, 257, 33), (257, 129, 1000), (128, 4000, 2000)]
    /// (R, C) for the row-broadcast operations.
    static let rowShapes = [(1, 1), (7, 33), (257, 1000), (128, 4000)]
    /// (transposeA, transposeB) in the order NN, NT, TN, TT.
    static let transposeCases = [(false, false), (false, true), (true, false), (true, true)]

    static let linearAlgebraCases: [VerificationCase] =
        gemmShapes.flatMap { m, n, k in transposeCases.map { gemm(m, n, k, $0, $1) } }
        + transposeCases.map { gemm(7, 33, 129, $0, $1, beta: 0) }
        + [gemm(7, 33, 129, false, false, alpha: 0), gemm(7, 33, 129, true, true, alpha: 0)]
        + [gemm(7, 33, 129, false, false).withViews(), gemm(33, 7, 129, true, true).withViews()]
        + tiledGemmCases
        + rowShapes.flatMap { r, c in [addBias(r, c), broadcastRows(r, c), sumRows(r, c, beta: 0), sumRows(r, c, beta: 1)] }
        + [addBias(7, 33).withViews(), broadcastRows(7, 33).withViews(), sumRows(7, 33, beta: 1).withViews()]

    /// Shapes where the tiled kernel (matmul_tiled.cl) computes whole tiles, on devices whose
    /// compute units these tiles fill (CPU OpenCL devices, oclgrind): whole tiles and slabs only,
    /// beta 0 with NaN in C under tiles with ragged edges and a K tail, and views (offsets break
    /// the vector loads' alignment, so the scalar-load build runs).
    static let tiledGemmCases: [VerificationCase] =
        [gemm(128, 256, 64, false, true), gemm(128, 256, 64, true, false)]
        + transposeCases.map { gemm(130, 260, 70, $0, $1, beta: 0) }
        + [gemm(130, 260, 70, false, true).withViews(), gemm(130, 260, 70, true, false).withViews()]

    /// C = alpha · op(A) · op(B) + beta · C. Operands the contract says are not read start as NaN:
    /// C when beta is 0, A and B when alpha is 0.
    static func gemm(_ m: Int, _ n: Int, _ k: Int, _ transposeA: Bool, _ transposeB: Bool,
                     alpha: Float = 1.5, beta: Float = 0.5) -> VerificationCase {
        let variant = (transposeA ? "T" : "N") + (transposeB ? "T" : "N")
            + (beta == 0 ? " β=0 C=NaN" : "") + (alpha == 0 ? " α=0 A,B=NaN" : "")
        return VerificationCase(operation: "gemm", shape: "\(m)×\(n)×\(k) \(variant)") { context in
            func operand(_ shape: [Int], unread: Bool) throws -> Tensor {
                unread ? try context.filled(shape, with: .nan) : try context.random(shape)
            }
            let a = try operand(transposeA ? [k, m] : [m, k], unread: alpha == 0)
            let b = try operand(transposeB ? [n, k] : [k, n], unread: alpha == 0)
            let c = try operand([m, n], unread: beta == 0)
            try context.backend.gemm(transposeA: transposeA, transposeB: transposeB, alpha: alpha, a, b, beta: beta, c)
            try context.output("C", c, reductionLength: k)
        }
    }

    static func addBias(_ r: Int, _ c: Int) -> VerificationCase {
        VerificationCase(operation: "addBias", shape: "\(r)×\(c)") { context in
            let x = try context.random([r, c])
            let bias = try context.random([c])
            try context.backend.addBias(bias, to: x)
            try context.output("x", x, reductionLength: 1)
        }
    }

    /// x starts as NaN: the contract says it is not read.
    static func broadcastRows(_ r: Int, _ c: Int) -> VerificationCase {
        VerificationCase(operation: "broadcastRows", shape: "\(r)×\(c) x=NaN") { context in
            let x = try context.writeOnly([r, c])
            let row = try context.random([c])
            try context.backend.broadcastRows(row, into: x)
            try context.output("x", x, reductionLength: 1)
        }
    }

    static func sumRows(_ r: Int, _ c: Int, beta: Float) -> VerificationCase {
        VerificationCase(operation: "sumRows", shape: "\(r)×\(c) β=\(Int(beta))") { context in
            let x = try context.random([r, c])
            let out = try context.random([c])
            try context.backend.sumRows(x, into: out, beta: beta)
            try context.output("out", out, reductionLength: r)
        }
    }
}
