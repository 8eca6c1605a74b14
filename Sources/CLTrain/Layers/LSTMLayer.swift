/// One LSTM layer unrolled over T time steps of B sequences: one layer of nn.LSTM.
///
/// Sequences are time-major: row t·B + b of an input or output holds sequence b at step t, so one
/// step is a contiguous block of B rows. The input GEMM is hoisted out of the recurrence over each
/// run of steps (one (K·B)×In×4H product for K steps, added onto the broadcast b_ih + b_hh); each
/// step then adds h_{t−1}·W_hhᵀ and applies the fused cell kernel (Appleyard et al. 2016). Gate
/// order i, f, g, o as in PyTorch.
///
/// The passes work on runs of steps (`forward(steps:…)`, `backward(steps:…)`), so a pipeline can
/// hand a run to the next layer as soon as it is done: forward runs go in time order, backward
/// runs in reverse, and `finishBackward` forms the weight gradients once every run is through.
///
/// Micro-batches (GPipe): with the window's B sequences split into M groups of B' = B/M, the rows
/// are micro-batch-major, row m·T·B' + t·B' + b' (`MicroBatchLayout`), and each group's runs go
/// forward and backward independently of the others'. M = 1 is the time-major layout above.
public final class LSTMLayer {
    public let backend: Backend
    public let inputSize: Int
    public let hiddenSize: Int
    public let weightIH: Parameter   // (4H×In)
    public let weightHH: Parameter   // (4H×H)
    public let biasIH: Parameter     // (4H)
    public let biasHH: Parameter     // (4H)
    public var parameters: [Parameter] { [weightIH, weightHH, biasIH, biasHH] }

    // Kept from the forward pass for the backward pass (T·B rows each).
    private(set) var gates: Tensor?     // (T·B×4H) activated gates
    private(set) var cells: Tensor?     // (T·B×H)
    private(set) var hiddens: Tensor?   // (T·B×H) the layer's output
    private var gatesGradient: Tensor?  // (T·B×4H)
    private var biasSum: Tensor?        // (4H) b_ih + b_hh, formed at each forward run
    private var biasGradient: Tensor?   // (4H) Σ_rows dGates, the gradient of either bias
    private var layout: MicroBatchLayout?
    private var batch = 0               // B': sequences per micro-batch (B when M = 1)
    private var workspace = Workspace()

    /// Layer `index` of an nn.LSTM (it names the parameters `<module>.weight_ih_l<index>`, …, with
    /// `module` "rnn" for the language model, "encoder.rnn" or "decoder.rnn" for a translation
    /// model), weights uninitialised: upload them, or let the model initialise them.
    public init(index: Int, inputSize: Int, hiddenSize: Int, backend: Backend, module: String = "rnn") throws {
        self.backend = backend
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let h4 = 4 * hiddenSize
        weightIH = try Parameter(name: "\(module).weight_ih_l\(index)", shape: [h4, inputSize], backend: backend)
        weightHH = try Parameter(name: "\(module).weight_hh_l\(index)", shape: [h4, hiddenSize], backend: backend)
        biasIH = try Parameter(name: "\(module).bias_ih_l\(index)", shape: [h4], backend: backend)
        biasHH = try Parameter(name: "\(module).bias_hh_l\(index)", shape: [h4], backend: backend)
    }

    /// Allocates (or reuses) the buffers for T steps of B sequences in M micro-batches of B/M
    /// (B divisible by M); call before the runs of a window.
    func prepare(steps: Int, batch: Int, microBatches: Int = 1) throws {
        let layout = try MicroBatchLayout(steps: steps, batch: batch, microBatches: microBatches)
        let rows = steps * batch
        self.layout = layout
        self.batch = layout.sequences
        gates = try workspace.tensor("gates", [rows, 4 * hiddenSize], on: backend)
        cells = try workspace.tensor("cells", [rows, hiddenSize], on: backend)
        hiddens = try workspace.tensor("hiddens", [rows, hiddenSize], on: backend)
        gatesGradient = try workspace.tensor("gatesGradient", [rows, 4 * hiddenSize], on: backend)
        biasSum = try workspace.tensor("biasSum", [4 * hiddenSize], on: backend)
        biasGradient = try workspace.tensor("biasGradient", [4 * hiddenSize], on: backend)
    }

    /// The hidden states (T·B×H) of the last forward pass: the layer's output.
    func buffersOutput() throws -> Tensor { try buffers().hiddens }

    private func buffers() throws -> (gates: Tensor, cells: Tensor, hiddens: Tensor, gatesGradient: Tensor) {
        guard let gates, let cells, let hiddens, let gatesGradient else { throw Self.unprepared }
        return (gates, cells, hiddens, gatesGradient)
    }

    private static let unprepared = CLTrainError.invalidArgument("LSTMLayer used before prepare(steps:batch:)")

    /// Micro-batch m's rows of `steps` (contiguous: see the type's comment).
    private func rows(_ m: Int, _ steps: Range<Int>) -> Range<Int> { layout?.rows(m, steps) ?? 0..<0 }

    /// Forward over `steps` of micro-batch `microBatch` (a run of time steps, in order after that
    /// micro-batch's previous run). `input` holds the whole window (T·B×In); only this run's rows
    /// are read. (h0, c0), B'×H, the micro-batch's state before step 0.
    func forward(steps: Range<Int>, microBatch m: Int = 0, input: Tensor, initialHidden h0: Tensor, initialCell c0: Tensor) throws {
        let (gates, cells, hiddens, _) = try buffers()
        let b = batch
        guard let biasSum else { throw Self.unprepared }
        let runGates = try gates.rows(rows(m, steps))
        // gates (K·B'×4H) = (b_ih + b_hh) + X·W_ihᵀ for every step of the run at once: the summed
        // bias broadcast into the rows and the product added onto it (beta 1), so no pass over the
        // gates adds a bias afterwards. Summed at every run: the weights change between windows.
        // b_ih goes in as a one-row broadcast rather than a `copy`, which timing devices charge as
        // a device copy: the cost model keeps counting bias work as free, as it counted the adds.
        try backend.broadcastRows(biasIH.value, into: biasSum.reshaped([1, 4 * hiddenSize]))
        try backend.axpy(alpha: 1, biasHH.value, biasSum)
        try backend.broadcastRows(biasSum, into: runGates)
        try backend.gemm(transposeA: false, transposeB: true, alpha: 1, input.rows(rows(m, steps)), weightIH.value, beta: 1, runGates)
        for t in steps {
            let step = rows(m, t..<t + 1)
            let hPrevious = t == 0 ? h0 : try hiddens.rows(step.lowerBound - b..<step.lowerBound)
            let cPrevious = t == 0 ? c0 : try cells.rows(step.lowerBound - b..<step.lowerBound)
            let gatesT = try gates.rows(step)
            try backend.gemm(transposeA: false, transposeB: true, alpha: 1, hPrevious, weightHH.value, beta: 1, gatesT)
            try backend.lstmCellForward(gates: gatesT, cellPrevious: cPrevious, cell: cells.rows(step), hidden: hiddens.rows(step))
        }
    }

    /// Backward over `steps` of micro-batch `microBatch` (its runs in reverse time order; the first
    /// call covers the window's last step). `outputGradient` (T·B×H) holds ∂L/∂h from above for this
    /// run's rows and is used as scratch there. Writes this run's rows of `inputGradient` (T·B×In)
    /// if given.
    ///
    /// Truncated BPTT (the language model) passes neither of the last two: nothing flows into h0, c0
    /// (B'×H, the micro-batch's). An encoder–decoder passes both:
    /// - `cellGradient` (T·B×H): ∂L/∂c arriving from outside at each step (a sequence's encoder
    ///   state is taken at its own last real token, so the decoder's ∂c enters at inner steps),
    ///   added into the carry; the window's last step starts from its rows alone.
    /// - `initialStateGradient` (B'×H each): receives ∂L/∂h0 = dGates_0·W_hh and ∂L/∂c0 when the run
    ///   reaches step 0 (overwritten, not added).
    func backward(steps: Range<Int>, microBatch m: Int = 0, windowSteps: Int, initialCell c0: Tensor, outputGradient: Tensor,
                  inputGradient: Tensor?, cellGradient: Tensor? = nil,
                  initialStateGradient: (hidden: Tensor, cell: Tensor)? = nil) throws {
        let (gates, cells, _, gatesGradient) = try buffers()
        let b = batch
        // ∂L/∂h_t from step t+1 (dGates_{t+1}·W_hh) and ∂L/∂c_t from step t+1, carried between one
        // micro-batch's runs, so each micro-batch has its own (other micro-batches' runs come between).
        let hiddenCarry = try workspace.tensor("hiddenCarry\(m)", [b, hiddenSize], on: backend)
        let cellCarry = [try workspace.tensor("cellCarryA\(m)", [b, hiddenSize], on: backend),
                         try workspace.tensor("cellCarryB\(m)", [b, hiddenSize], on: backend)]
        for t in steps.reversed() {
            let step = rows(m, t..<t + 1)
            let last = t == windowSteps - 1
            let dh = try outputGradient.rows(step)
            if !last { try backend.axpy(alpha: 1, hiddenCarry, dh) }
            // ∂L/∂c_t: what step t+1 carried back, plus what enters here from outside.
            var dc: Tensor? = last ? nil : cellCarry[(t + 1) % 2]
            if let cellGradient {
                let outside = try cellGradient.rows(step)
                if let carried = dc { try backend.axpy(alpha: 1, outside, carried) } else { dc = outside }
            }
            let cPrevious = t == 0 ? c0 : try cells.rows(step.lowerBound - b..<step.lowerBound)
            let dGatesT = try gatesGradient.rows(step)
            // ∂L/∂c flows backwards through two buffers: step t reads what step t+1 wrote.
            let dcPrevious = t == 0 ? initialStateGradient?.cell ?? cellCarry[0] : cellCarry[t % 2]
            try backend.lstmCellBackward(gates: gates.rows(step), cellPrevious: cPrevious, cell: cells.rows(step),
                                         hiddenGradient: dh, cellGradient: dc,
                                         gatesGradient: dGatesT, cellPreviousGradient: dcPrevious)
            // ∂L/∂h_{t−1} from this step: dGates_t (B×4H) · W_hh (4H×H), into h0's gradient at step 0.
            if let dhPrevious = t > 0 ? hiddenCarry : initialStateGradient?.hidden {
                try backend.gemm(transposeA: false, transposeB: false, alpha: 1, dGatesT, weightHH.value, beta: 0, dhPrevious)
            }
        }
        if let inputGradient {
            // dX (K·B'×In) = dGates · W_ih for this run.
            let runRows = rows(m, steps)
            try backend.gemm(transposeA: false, transposeB: false, alpha: 1, gatesGradient.rows(runRows), weightIH.value,
                             beta: 0, inputGradient.rows(runRows))
        }
    }

    /// The whole window at once: prepares the buffers and runs all T steps from (h0, c0).
    /// Returns the hidden states (T·B×H).
    @discardableResult
    public func forward(input: Tensor, steps: Int, batch: Int, initialHidden h0: Tensor, initialCell c0: Tensor) throws -> Tensor {
        try prepare(steps: steps, batch: batch)
        try forward(steps: 0..<steps, input: input, initialHidden: h0, initialCell: c0)
        return try buffersOutput()
    }

    /// Backpropagates through the whole last forward pass: every step, then the weight gradients.
    /// outputGradient (T·B×H) is ∂L/∂h from above (used as scratch); writes inputGradient (T·B×In).
    public func backward(input: Tensor, steps: Int, batch: Int, initialHidden h0: Tensor, initialCell c0: Tensor,
                         outputGradient: Tensor, inputGradient: Tensor?) throws {
        try backward(steps: 0..<steps, windowSteps: steps, initialCell: c0, outputGradient: outputGradient, inputGradient: inputGradient)
        try finishBackward(windowSteps: steps, input: input, initialHidden: h0)
    }

    /// The weight gradients, once every run of every micro-batch has been through `backward`:
    /// accumulates dW_hh (4H×H) += Σ_m Σ_t dGates_tᵀ·h_{t−1}, dW_ih (4H×In) += dGatesᵀ·X and Σ_rows
    /// dGates into both biases. h0 is the whole batch's (B×H).
    func finishBackward(windowSteps steps: Int, input: Tensor, initialHidden h0: Tensor) throws {
        let (_, _, hiddens, gatesGradient) = try buffers()
        guard let biasGradient else { throw Self.unprepared }
        let b = batch
        let microBatches = layout?.microBatches ?? 1
        for m in 0..<microBatches {
            // Steps 1..T−1 in one product per micro-batch (its rows are contiguous), step 0 against h0.
            let all = rows(m, 0..<steps), first = rows(m, 0..<1)
            if steps > 1 {
                try backend.gemm(transposeA: true, transposeB: false, alpha: 1, gatesGradient.rows(all.lowerBound + b..<all.upperBound),
                                 hiddens.rows(all.lowerBound..<all.upperBound - b), beta: 1, weightHH.gradient)
            }
            try backend.gemm(transposeA: true, transposeB: false, alpha: 1, gatesGradient.rows(first),
                             microBatches == 1 ? h0 : h0.rows(m * b..<(m + 1) * b), beta: 1, weightHH.gradient)
        }
        try backend.gemm(transposeA: true, transposeB: false, alpha: 1, gatesGradient, input, beta: 1, weightIH.gradient)
        // Both biases have the same gradient: one reduction over dGates, added to each.
        try backend.sumRows(gatesGradient, into: biasGradient, beta: 0)
        try backend.axpy(alpha: 1, biasGradient, biasIH.gradient)
        try backend.axpy(alpha: 1, biasGradient, biasHH.gradient)
    }
}
