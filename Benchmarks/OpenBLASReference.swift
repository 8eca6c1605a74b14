import CBLAS
import CLTrain

/// `cblas_sgemm` called directly on host arrays holding the case's operands: what CLTrain's CPU
/// backend gemm should match (its only overhead is the operand checks). Wall clock, as the CPU
/// backend is timed.
struct OpenBLASReference: GemmReference {
    let name: String
    let backend: CPUBackend

    init(backend: CPUBackend) {
        self.backend = backend
        name = "OpenBLAS " + HostDescription.current.blasVersion
    }

    func prepareGemm(_ shape: GemmShape, _ operands: (a: Tensor, b: Tensor, c: Tensor)) throws -> PreparedGemm {
        let a = try backend.download(operands.a), b = try backend.download(operands.b)   // as stored
        let c = Result(count: shape.m * shape.n)                                            // (M×N)
        let lda = operands.a.shape[1], ldb = operands.b.shape[1]
        return PreparedGemm(run: {
            WallClock.seconds {
                cblas_sgemm(CblasRowMajor, shape.transposeA ? CblasTrans : CblasNoTrans,
                            shape.transposeB ? CblasTrans : CblasNoTrans,
                            blasint(shape.m), blasint(shape.n), blasint(shape.k), 1, a, blasint(lda), b, blasint(ldb),
                            0, &c.values, blasint(shape.n))
            }
        }, result: { c.values })
    }

    /// C, shared by the closures that write and read it.
    private final class Result {
        var values: [Float]
        init(count: Int) { values = [Float](repeating: 0, count: count) }
    }
}
