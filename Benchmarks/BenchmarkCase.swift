import ArgumentParser
import CLTrain

/// One thing cltrain-bench times: a name to filter on, the work it does, and how to set it up.
struct BenchmarkCase: Sendable {
    /// e.g. "gemm 128x4000x2000 NT"; `--filter` matches a substring of it.
    let name: String
    /// What it is and where a model runs it, e.g. "LSTM forward: gates = X·W_ihᵀ".
    let summary: String
    let cost: OperationCost
    /// Set for gemm cases, which a reference library (CLBlast, OpenBLAS) can run too.
    let gemm: GemmShape?
    /// Allocates and fills the operands on a backend and returns the work to time.
    let prepare: @Sendable (Backend) throws -> Workload
    /// Named suites (`--suite`) this case belongs to.
    var suites: Set<Suite> = []

    init(name: String, summary: String, cost: OperationCost, gemm: GemmShape? = nil, suites: Set<Suite> = [],
         prepare: @escaping @Sendable (Backend) throws -> Workload) {
        self.name = name
        self.summary = summary
        self.cost = cost
        self.gemm = gemm
        self.suites = suites
        self.prepare = prepare
    }

    /// GFLOP, the unit `--max-gflop` compares with (0 for memory-bound cases).
    var gigaflops: Double { (cost.flops ?? 0) / 1e9 }
}

/// A prepared case: `reset` runs before every run, outside the timing (restoring the inputs a run
/// overwrites), then `run` is timed.
struct Workload {
    var reset: (() throws -> Void)? = nil
    let run: () throws -> Void
    /// A gemm case's operands, so that a reference library runs on the very same buffers.
    var gemmOperands: (a: Tensor, b: Tensor, c: Tensor)? = nil
}

/// C (M×N) = op(A) (M×K) · op(B) (K×N), with op(X) = X or Xᵀ as stored.
struct GemmShape: Sendable, Codable, Equatable {
    let m: Int, n: Int, k: Int
    let transposeA: Bool, transposeB: Bool

    /// "NN", "NT", "TN" or "TT", as BLAS names the transpose cases.
    var transposes: String { (transposeA ? "T" : "N") + (transposeB ? "T" : "N") }
    /// The stored shapes: A is K×M when transposed, B is N×K when transposed.
    var aShape: [Int] { transposeA ? [k, m] : [m, k] }
    var bShape: [Int] { transposeB ? [n, k] : [k, n] }
}

/// A named selection of cases, for `--suite`.
enum Suite: String, CaseIterable, Sendable, Codable {
    /// What scripts/gpu-session.sh times on the GPU beside the peers of ../shared/gpu/torch_anchor.py:
    /// the LSTM's and the 80 000-word decoder's gemms (each transpose case a training step runs),
    /// 1024³ and 4096³, softmax and fused softmax + cross-entropy at 128×80 000, and one LSTM layer
    /// and four, forward and forward + backward, at H 1000, B 128, T 50 (the quick shapes with --quick).
    case gpuSession = "gpu-session"
}

/// Every case, at full size or (`quick`) at small shapes for a smoke run.
enum CaseCatalog {
    static func cases(quick: Bool) -> [BenchmarkCase] {
        GemmCases.all(quick: quick) + SoftmaxCases.all(quick: quick) + ElementwiseCases.all(quick: quick)
            + LSTMCases.all(quick: quick)
    }
}

/// A new float32 tensor of `shape` on `backend`, uniform in [−scale, scale) from a generator
/// seeded by `seed` (so every device times the same data).
func randomTensor(_ backend: Backend, _ shape: [Int], seed: String, scale: Float = 1) throws -> Tensor {
    var generator = SplitMix64(seed: seed)
    let tensor = try backend.makeTensor(shape: shape, elementType: .float32)
    try backend.upload(generator.floats(tensor.count, scale: scale), to: tensor)
    return tensor
}

extension Suite: ExpressibleByArgument {}
