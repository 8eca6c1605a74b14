import CLTrain

/// The gemm shapes: the headline shapes in BLAS's plain NN form (as CLBlast and cuBLAS
/// figures are quoted), and the transposed products an LSTM language model's training step runs
/// at H = 1000, B = 128, V = 80 000. C = A·B with alpha 1 and beta 0.
enum GemmCases {
    private struct Entry {
        let summary: String
        let full: GemmShape
        let quick: GemmShape
        /// In the gpu-session suite (every shape but 8192³, whose time the session cannot spare).
        var session = true
    }

    private static func shape(_ m: Int, _ n: Int, _ k: Int, _ transposes: String = "NN") -> GemmShape {
        GemmShape(m: m, n: n, k: k, transposeA: transposes.first == "T", transposeB: transposes.last == "T")
    }

    private static let entries: [Entry] = [
        Entry(summary: "four-gate GEMM of a 1000-unit layer, batch 128: [x, h] (128×2000) · W (2000×4000)",
              full: shape(128, 4000, 2000), quick: shape(16, 500, 250)),
        Entry(summary: "output projection, batch 128: h (128×1000) · W (1000×80000)",
              full: shape(128, 80000, 1000), quick: shape(16, 10000, 125)),
        Entry(summary: "square", full: shape(1024, 1024, 1024), quick: shape(64, 64, 64)),
        Entry(summary: "square", full: shape(4096, 4096, 4096), quick: shape(128, 128, 128)),
        Entry(summary: "square", full: shape(8192, 8192, 8192), quick: shape(256, 256, 256), session: false),
        Entry(summary: "LSTM forward: gates = [x, h] (128×2000) · W (4000×2000)ᵀ",
              full: shape(128, 4000, 2000, "NT"), quick: shape(16, 500, 250, "NT")),
        Entry(summary: "LSTM backward: dW = dGatesᵀ (4000×128) · [x, h] (128×2000)",
              full: shape(4000, 2000, 128, "TN"), quick: shape(500, 250, 16, "TN")),
        Entry(summary: "LSTM backward: d[x, h] = dGates (128×4000) · W (4000×2000)",
              full: shape(128, 2000, 4000), quick: shape(16, 250, 500)),
        Entry(summary: "decoder forward: logits = h (128×1000) · W (80000×1000)ᵀ",
              full: shape(128, 80000, 1000, "NT"), quick: shape(16, 10000, 125, "NT")),
        Entry(summary: "decoder backward: dW = dLogitsᵀ (80000×128) · h (128×1000)",
              full: shape(80000, 1000, 128, "TN"), quick: shape(10000, 125, 16, "TN")),
        Entry(summary: "decoder backward: dh = dLogits (128×80000) · W (80000×1000)",
              full: shape(128, 1000, 80000), quick: shape(16, 125, 10000)),
    ]

    static func all(quick: Bool) -> [BenchmarkCase] {
        entries.map { entry in
            let s = quick ? entry.quick : entry.full
            let name = "gemm \(s.m)x\(s.n)x\(s.k) \(s.transposes)"
            let summary = quick ? "small stand-in for the " + entry.summary : entry.summary
            return BenchmarkCase(name: name, summary: summary, cost: .gemm(m: s.m, n: s.n, k: s.k), gemm: s,
                                 suites: entry.session ? [.gpuSession] : []) { backend in
                let a = try randomTensor(backend, s.aShape, seed: "\(name) A")
                let b = try randomTensor(backend, s.bShape, seed: "\(name) B")
                let c = try backend.makeTensor([s.m, s.n], filledWith: 0)
                return Workload(run: {
                    try backend.gemm(transposeA: s.transposeA, transposeB: s.transposeB, alpha: 1, a, b, beta: 0, c)
                }, gemmOperands: (a, b, c))
            }
        }
    }
}
