import CLTrain

/// The LSTM at H = 1000, B = 128 (quick: H = 64, B = 16): one time step as `LSTMLayer.forward`
/// runs it, and whole layers (`LSTMLayer`, the code a `LanguageModel` trains) over T = 50 steps
/// (quick: 5), alone and stacked 4 deep, forward only and forward + backward.
///
/// Weights are uniform in [−0.08, 0.08] as `LanguageModel` initialises them, inputs uniform in
/// [−1, 1), the state starts at zero, and ∂L/∂h from above is uniform in [−1, 1). The backward
/// pass computes every layer's input gradient (a language model needs it for its embedding) and
/// accumulates the parameter gradients.
enum LSTMCases {
    static func all(quick: Bool) -> [BenchmarkCase] {
        let (hidden, batch, steps) = quick ? (64, 16, 5) : (1000, 128, 50)
        let size = "H\(hidden) B\(batch)"
        var cases = [
            BenchmarkCase(name: "lstm step \(size)",
                          summary: "one time step: gates += h (B×H) · W_hh (4H×H)ᵀ, then the fused cell",
                          cost: .lstmStep(batch: batch, hidden: hidden)) { backend in
                try step(on: backend, hidden: hidden, batch: batch)
            },
            // The step's two parts alone: how much of it the gemm takes (the CPU goal is ≥ 80 %).
            BenchmarkCase(name: "lstm step gemm \(size)", summary: "the step's recurrent gemm alone",
                          cost: .lstmStep(batch: batch, hidden: hidden)) { backend in
                try step(on: backend, hidden: hidden, batch: batch, parts: [.gemm])
            },
            BenchmarkCase(name: "lstm step cell \(size)", summary: "the step's fused cell alone",
                          cost: .lstmCell(batch: batch, hidden: hidden)) { backend in
                try step(on: backend, hidden: hidden, batch: batch, parts: [.cell])
            },
        ]
        for layers in [1, 4] {
            for backward in [false, true] {
                let what = layers == 1 ? "lstm layer" : "lstm \(layers) layers"
                let pass = backward ? "fwd+bwd" : "fwd"
                cases.append(BenchmarkCase(
                    name: "\(what) \(size) T\(steps) \(pass)",
                    summary: "\(layers) × LSTMLayer, \(steps) steps, " + (backward ? "forward + backward" : "forward"),
                    cost: .lstmLayers(layers, steps: steps, batch: batch, inputSize: hidden, hidden: hidden, backward: backward),
                    suites: [.gpuSession]
                ) { backend in
                    try stack(layers, on: backend, hidden: hidden, batch: batch, steps: steps, backward: backward)
                })
            }
        }
        return cases
    }

    /// What of a step to run.
    private struct StepParts: OptionSet {
        let rawValue: Int
        static let gemm = StepParts(rawValue: 1), cell = StepParts(rawValue: 2)
    }

    /// The recurrent half of one step; the input projection was computed for all steps at once.
    private static func step(on backend: Backend, hidden: Int, batch: Int,
                             parts: StepParts = [.gemm, .cell]) throws -> Workload {
        let weight = try randomTensor(backend, [4 * hidden, hidden], seed: "step W_hh", scale: 0.08)   // (4H×H)
        let hPrevious = try randomTensor(backend, [batch, hidden], seed: "step h")                     // (B×H)
        let cPrevious = try randomTensor(backend, [batch, hidden], seed: "step c")                     // (B×H)
        let projected = try randomTensor(backend, [batch, 4 * hidden], seed: "step gates")             // (B×4H)
        let gates = try backend.makeTensor([batch, 4 * hidden], filledWith: 0)
        let cell = try backend.makeTensor([batch, hidden], filledWith: 0)
        let h = try backend.makeTensor([batch, hidden], filledWith: 0)
        return Workload(
            // The cell replaces the pre-activations with activations: start each run from X·W_ihᵀ + b.
            reset: { try backend.copy(projected, to: gates) },
            run: {
                if parts.contains(.gemm) {
                    try backend.gemm(transposeA: false, transposeB: true, alpha: 1, hPrevious, weight, beta: 1, gates)
                }
                if parts.contains(.cell) {
                    try backend.lstmCellForward(gates: gates, cellPrevious: cPrevious, cell: cell, hidden: h)
                }
            })
    }

    private static func stack(_ count: Int, on backend: Backend, hidden: Int, batch: Int, steps: Int,
                              backward: Bool) throws -> Workload {
        let rows = steps * batch
        let layers = try (0..<count).map { try LSTMLayer(index: $0, inputSize: hidden, hiddenSize: hidden, backend: backend) }
        var generator = SplitMix64(seed: "lstm weights")
        for parameter in layers.flatMap(\.parameters) {
            try backend.upload(generator.floats(parameter.count, scale: 0.08), to: parameter.value)
        }
        let input = try randomTensor(backend, [rows, hidden], seed: "lstm input")            // (T·B×H)
        let h0 = try backend.makeTensor([batch, hidden], filledWith: 0)
        let c0 = try backend.makeTensor([batch, hidden], filledWith: 0)
        let topGradient = try randomTensor(backend, [rows, hidden], seed: "lstm dh")         // (T·B×H)
        let scratch = try backend.makeTensor([rows, hidden], filledWith: 0)
        // Two alternating input-gradient buffers: layer l reads layer l+1's and writes its own.
        let inputGradients = try [backend.makeTensor([rows, hidden], filledWith: 0), backend.makeTensor([rows, hidden], filledWith: 0)]

        let forward = {
            var x = input
            var layerInputs: [Tensor] = []
            for layer in layers {
                layerInputs.append(x)
                x = try layer.forward(input: x, steps: steps, batch: batch, initialHidden: h0, initialCell: c0)
            }
            return layerInputs
        }
        guard backward else { return Workload(run: { _ = try forward() }) }
        return Workload(
            // The backward pass overwrites the gradient from above: restore it before each run.
            reset: { try backend.copy(topGradient, to: scratch) },
            run: {
                let layerInputs = try forward()
                var outputGradient = scratch
                for l in stride(from: count - 1, through: 0, by: -1) {
                    let inputGradient = inputGradients[l % 2]
                    try layers[l].backward(input: layerInputs[l], steps: steps, batch: batch, initialHidden: h0,
                                           initialCell: c0, outputGradient: outputGradient, inputGradient: inputGradient)
                    outputGradient = inputGradient
                }
            })
    }
}
