extension OpenCLBackend {
    public func gemmKernel(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor,
                           beta: Float, _ c: Tensor, m: Int, n: Int, k: Int) throws {
        if k == 0 || alpha == 0 {
            // No product term: C = beta · C without reading A and B (nor C when beta == 0).
            return beta == 0 ? try fillKernel(c, with: 0) : try scaleKernel(c, by: beta)
        }
        // Checks that offsets fit the kernels' int arguments; the buffers are the operands' own.
        let (bufferA, bufferB, bufferC) = (try operand(a, "gemm")[0], try operand(b, "gemm")[0], try operand(c, "gemm")[0])
        let lda = a.shape[1], ldb = b.shape[1], ldc = c.shape[1]
        let index = (transposeA ? 2 : 0) + (transposeB ? 1 : 0)
        let launches = GemmLaunchPlan.launches(m: m, n: n, k: k, tiled: tiledGemm?.parameters,
                                               directTile: (parameters.tileM, parameters.tileN),
                                               computeUnits: context.device.computeUnits, dispatch: gemmDispatch)
        for part in launches {
            // Where this part's rows of op(A), columns of op(B) and block of C start.
            let offsetA = a.offset + part.rows.lowerBound * (transposeA ? 1 : lda)
            let offsetB = b.offset + part.columns.lowerBound * (transposeB ? ldb : 1)
            let offsetC = c.offset + part.rows.lowerBound * ldc + part.columns.lowerBound
            let kernel: OpenCLKernel, global: [Int], local: [Int]
            switch part.kernel {
            case .tiled:
                // The plan says tiled only when there are tiled parameters; skipping the part would
                // leave its block of C unwritten, so a plan that disagrees is an error.
                guard let p = tiledGemm?.parameters else { throw tiledPartWithoutTiledKernel(part) }
                let aligned = p.vectorLoadsAligned(offsetA: offsetA, lda: lda, offsetB: offsetB, ldb: ldb)
                let tiledKernel = try tiledGemmKernel(index: index, vectorLoads: aligned)
                // One work-group per whole mwg × nwg tile; dimension 0 runs along N.
                kernel = tiledKernel
                global = [part.columns.count / p.nwg * p.ndimc, part.rows.count / p.mwg * p.mdimc]
                local = [p.ndimc, p.mdimc]
            case .direct:
                let group = parameters.gemmGroup
                // One work-group per tileM × tileN tile of C, partial tiles included.
                kernel = kernels.gemmDirect[index]
                global = [(part.columns.count + parameters.tileN - 1) / parameters.tileN * group.n,
                          (part.rows.count + parameters.tileM - 1) / parameters.tileM * group.m]
                local = [group.n, group.m]
            }
            try launch(kernel, global: global, local: local,
                       [.int(Int32(part.rows.count)), .int(Int32(part.columns.count)), .int(Int32(k)), .float(alpha),
                        bufferA, .int(Int32(offsetA)), .int(Int32(lda)),
                        bufferB, .int(Int32(offsetB)), .int(Int32(ldb)),
                        .float(beta), bufferC, .int(Int32(offsetC)), .int(Int32(ldc))])
        }
    }

    public func addBiasKernel(_ bias: Tensor, to x: Tensor, rows r: Int, columns c: Int) throws {
        try launch2D(kernels.addBias, columns: c, rows: r,
                   [.int(Int32(r)), .int(Int32(c))] + operand(x, "addBias") + operand(bias, "addBias"))
    }

    public func broadcastRowsKernel(_ row: Tensor, into x: Tensor, rows r: Int, columns c: Int) throws {
        try launch2D(kernels.broadcastRows, columns: c, rows: r,
                     [.int(Int32(r)), .int(Int32(c))] + operand(x, "broadcastRows") + operand(row, "broadcastRows"))
    }

    public func sumRowsKernel(_ x: Tensor, into out: Tensor, beta: Float, rows r: Int, columns c: Int) throws {
        try launch1D(kernels.sumRows, count: c,
                     [.int(Int32(r)), .int(Int32(c))] + operand(x, "sumRows") + operand(out, "sumRows") + [.float(beta)])
    }

    /// The error for a launch plan that gives the tiled kernel rows and columns of C on a backend
    /// without one: thrown rather than skipped, which would leave that block of C unwritten.
    func tiledPartWithoutTiledKernel(_ part: GemmLaunch) -> CLTrainError {
        .invalidArgument("gemm on \(name): the launch plan gives rows \(part.rows) and columns \(part.columns) of C "
                         + "to the tiled kernel, but this backend has none")
    }
}
