/// One LSTM layer unrolled over T time steps of B sequences: one layer of nn.LSTM.
///
/// Sequences are time-major: row t·B + b of an input or output holds sequence b at step t, so one
/// step is a contiguous block of B rows. The input GEMM for all T steps is hoisted out of the
/// recurrence (one (T·B)×In×4H product); each step then adds h_{t−1}·W_hhᵀ and applies the fused
/// cell kernel (Appleyard et al. 2016). Gate order i, f, g, o as in PyTorch.
///
/// Public so that cltrain-bench can time the layer a `LanguageModel` trains; models use it through
/// `LanguageModel`.
public final class LSTMLayer {
    public let backend: Backend
    public let inputSize: Int
    public let hiddenSize: Int
    let weightIH: Parameter   // (4H×In)
    let weightHH: Parameter   // (4H×H)
    let biasIH: Parameter     // (4H)
    let biasHH: Parameter     // (4H)
    /// W_ih (4H×In), W_hh (4H×H), b_ih (4H), b_hh (4H), named as nn.LSTM names layer `index`'s.
    /// Values are unspecified until uploaded; gradients start at zero.
    public var parameters: [Parameter] { [weightIH, weightHH, biasIH, biasHH] }

    // Kept from the forward pass for the backward pass (T·B rows each).
    private(set) var gates: Tensor?     // (T·B×4H) activated gates
    private(set) var cells: Tensor?     // (T·B×H)
    private(set) var hiddens: Tensor?   // (T·B×H) the layer's output
    private var workspace = Workspace()

    /// - Parameters:
    ///   - index: the layer's place in the stack, used in its parameters' names.
    ///   - inputSize: In, the width of each input row.
    ///   - hiddenSize: H, the units of the layer.
    ///   - backend: where its parameters and activations live and its work runs.
    public init(index: Int, inputSize: Int, hiddenSize: Int, backend: Backend) throws {
        self.backend = backend
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let h4 = 4 * hiddenSize
        weightIH = try Parameter(name: "rnn.weight_ih_l\(index)", shape: [h4, inputSize], backend: backend)
        weightHH = try Parameter(name: "rnn.weight_hh_l\(index)", shape: [h4, hiddenSize], backend: backend)
        biasIH = try Parameter(name: "rnn.bias_ih_l\(index)", shape: [h4], backend: backend)
        biasHH = try Parameter(name: "rnn.bias_hh_l\(index)", shape: [h4], backend: backend)
    }

    /// Runs T steps from (h0, c0), both B×H, over `input` (T·B×In). Returns the hidden states
    /// (T·B×H); the last B rows of `hiddens` and `cells` are the state to carry into the next window.
    @discardableResult
    public func forward(input: Tensor, steps: Int, batch: Int, initialHidden h0: Tensor, initialCell c0: Tensor) throws -> Tensor {
        let rows = steps * batch
        let gates = try workspace.tensor("gates", [rows, 4 * hiddenSize], on: backend)
        let cells = try workspace.tensor("cells", [rows, hiddenSize], on: backend)
        let hiddens = try workspace.tensor("hiddens", [rows, hiddenSize], on: backend)

        // gates (T·B×4H) = X·W_ihᵀ + b_ih + b_hh for every step at once.
        try backend.gemm(transposeA: false, transposeB: true, alpha: 1, input, weightIH.value, beta: 0, gates)
        try backend.addBias(biasIH.value, to: gates)
        try backend.addBias(biasHH.value, to: gates)
        for t in 0..<steps {
            let step = t * batch..<(t + 1) * batch
            let hPrevious = t == 0 ? h0 : try hiddens.rows(step.lowerBound - batch..<step.lowerBound)
            let cPrevious = t == 0 ? c0 : try cells.rows(step.lowerBound - batch..<step.lowerBound)
            let gatesT = try gates.rows(step)
            try backend.gemm(transposeA: false, transposeB: true, alpha: 1, hPrevious, weightHH.value, beta: 1, gatesT)
            try backend.lstmCellForward(gates: gatesT, cellPrevious: cPrevious, cell: cells.rows(step), hidden: hiddens.rows(step))
        }
        self.gates = gates
        self.cells = cells
        self.hiddens = hiddens
        return hiddens
    }

    /// Backpropagates through the last forward pass (truncated: no gradient flows into h0, c0).
    ///
    /// outputGradient (T·B×H) is ∂L/∂h for every step from above; it is used as scratch and
    /// overwritten. Accumulates the parameter gradients and writes inputGradient (T·B×In) if given.
    public func backward(input: Tensor, steps: Int, batch: Int, initialHidden h0: Tensor, initialCell c0: Tensor,
                         outputGradient: Tensor, inputGradient: Tensor?) throws {
        guard let gates, let cells, let hiddens, gates.shape[0] == steps * batch else {
            throw CLTrainError.invalidArgument("LSTMLayer.backward without a matching forward pass")
        }
        let gatesGradient = try workspace.tensor("gatesGradient", gates.shape, on: backend)   // (T·B×4H)
        let cellGradients = [try workspace.tensor("cellGradientA", [batch, hiddenSize], on: backend),
                             try workspace.tensor("cellGradientB", [batch, hiddenSize], on: backend)]

        for t in stride(from: steps - 1, through: 0, by: -1) {
            let step = t * batch..<(t + 1) * batch
            let cPrevious = t == 0 ? c0 : try cells.rows(step.lowerBound - batch..<step.lowerBound)
            let dGatesT = try gatesGradient.rows(step)
            // ∂L/∂c flows backwards through two buffers: step t reads what step t+1 wrote.
            let incomingCellGradient = t == steps - 1 ? nil : cellGradients[(t + 1) % 2]
            try backend.lstmCellBackward(gates: gates.rows(step), cellPrevious: cPrevious, cell: cells.rows(step),
                                         hiddenGradient: outputGradient.rows(step), cellGradient: incomingCellGradient,
                                         gatesGradient: dGatesT, cellPreviousGradient: cellGradients[t % 2])
            if t > 0 {
                // ∂L/∂h_{t−1} += dGates_t (B×4H) · W_hh (4H×H), added to what came from above.
                try backend.gemm(transposeA: false, transposeB: false, alpha: 1, dGatesT, weightHH.value, beta: 1,
                                 outputGradient.rows(step.lowerBound - batch..<step.lowerBound))
            }
        }

        let rows = steps * batch
        // dW_hh (4H×H) += Σ_t dGates_tᵀ · h_{t−1}: steps 1..T−1 in one product, step 0 against h0.
        if steps > 1 {
            try backend.gemm(transposeA: true, transposeB: false, alpha: 1, gatesGradient.rows(batch..<rows),
                             hiddens.rows(0..<rows - batch), beta: 1, weightHH.gradient)
        }
        try backend.gemm(transposeA: true, transposeB: false, alpha: 1, gatesGradient.rows(0..<batch), h0, beta: 1, weightHH.gradient)
        // dW_ih (4H×In) += dGatesᵀ · X;  both biases receive Σ_rows dGates.
        try backend.gemm(transposeA: true, transposeB: false, alpha: 1, gatesGradient, input, beta: 1, weightIH.gradient)
        try backend.sumRows(gatesGradient, into: biasIH.gradient, beta: 1)
        try backend.sumRows(gatesGradient, into: biasHH.gradient, beta: 1)
        if let inputGradient {
            // dX (T·B×In) = dGates · W_ih.
            try backend.gemm(transposeA: false, transposeB: false, alpha: 1, gatesGradient, weightIH.value, beta: 0, inputGradient)
        }
    }
}
