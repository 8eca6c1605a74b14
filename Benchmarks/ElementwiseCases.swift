import CLTrain

/// Memory-bound elementwise operations at the sizes training meets: axpy over the logits of a
/// batch, and an Adam step over one LSTM weight matrix (4H×In at H = In = 1000).
enum ElementwiseCases {
    static func all(quick: Bool) -> [BenchmarkCase] {
        let count = quick ? 16 * 10000 : 128 * 80000
        let (rows, columns) = quick ? (500, 125) : (4000, 1000)
        return [
            BenchmarkCase(name: "axpy \(count)", summary: "y += alpha·x", cost: .axpy(count: count)) { backend in
                let x = try randomTensor(backend, [count], seed: "axpy x")
                let y = try randomTensor(backend, [count], seed: "axpy y")
                return Workload(run: { try backend.axpy(alpha: 1e-3, x, y) })
            },
            BenchmarkCase(name: "adam \(rows)x\(columns)", summary: "one Adam step over an LSTM weight matrix",
                          cost: .adam(count: rows * columns)) { backend in
                let shape = [rows, columns]
                let parameter = try randomTensor(backend, shape, seed: "adam parameter", scale: 0.08)
                let gradient = try randomTensor(backend, shape, seed: "adam gradient", scale: 1e-2)
                let first = try backend.makeTensor(shape, filledWith: 0)
                let second = try backend.makeTensor(shape, filledWith: 0)
                return Workload(run: {
                    try backend.adamUpdate(parameter: parameter, gradient: gradient, firstMoment: first, secondMoment: second,
                                           learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 1)
                })
            },
        ]
    }
}
