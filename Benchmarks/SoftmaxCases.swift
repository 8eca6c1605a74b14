import CLTrain

/// The output layer's softmax over an 80 000-word vocabulary at batch 128, alone and fused with
/// the cross-entropy loss and its gradient (what a training step runs).
enum SoftmaxCases {
    static func all(quick: Bool) -> [BenchmarkCase] {
        let (rows, columns) = quick ? (16, 10000) : (128, 80000)
        let shape = "\(rows)x\(columns)"
        return [
            BenchmarkCase(name: "softmax \(shape)", summary: "row softmax of the logits into another tensor",
                          cost: .softmax(rows: rows, columns: columns), suites: [.gpuSession]) { backend in
                let x = try randomTensor(backend, [rows, columns], seed: "softmax x", scale: 4)
                let y = try backend.makeTensor([rows, columns], filledWith: 0)
                return Workload(run: { try backend.softmax(x, into: y) })
            },
            BenchmarkCase(name: "softmax+xent fwd+bwd \(shape)",
                          summary: "fused softmax + cross-entropy: per-row losses and the gradient of their mean",
                          cost: .softmaxCrossEntropy(rows: rows, columns: columns), suites: [.gpuSession]) { backend in
                let logits = try randomTensor(backend, [rows, columns], seed: "xent logits", scale: 4)
                var generator = SplitMix64(seed: "xent targets")
                let targets = try backend.makeIndices((0..<rows).map { _ in Int32(generator.next() % UInt64(columns)) })
                let losses = try backend.makeTensor([rows], filledWith: 0)
                let gradient = try backend.makeTensor([rows, columns], filledWith: 0)
                return Workload(run: {
                    try backend.softmaxCrossEntropy(logits: logits, targets: targets, ignoreIndex: -1, losses: losses,
                                                    gradient: gradient, gradientScale: 1 / Float(rows))
                })
            },
        ]
    }
}
