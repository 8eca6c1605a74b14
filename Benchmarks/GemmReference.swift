import CLTrain

/// A library the bench compares CLTrain's gemm with, on the same device: OpenBLAS on the CPU,
/// CLBlast on OpenCL devices.
protocol GemmReference {
    /// e.g. "CLBlast 1.5.3" or "OpenBLAS 0.3.21".
    var name: String { get }
    /// Prepares C = op(A)·op(B) (alpha 1, beta 0) on the case's operands.
    func prepareGemm(_ shape: GemmShape, _ operands: (a: Tensor, b: Tensor, c: Tensor)) throws -> PreparedGemm
}

/// A reference gemm ready to run.
struct PreparedGemm {
    /// Runs it once and returns its time in seconds, measured the way the device's own cases are.
    let run: () throws -> Double
    /// The C it computed (M×N), which must match CLTrain's: the two columns then time the same work.
    let result: () throws -> [Float]
}
