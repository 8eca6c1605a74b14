import Foundation

// Gates are B×4H, each row holding four blocks of H in the order i, f, g, o (PyTorch's nn.LSTM).
// Element j of batch row b lives at gates[b, j], gates[b, H + j], gates[b, 2H + j], gates[b, 3H + j].
//
// The loops take eight elements j at a time (`VectorMath`, whose exp, σ and tanh are within 2 ulp)
// and the last, partial group of a row through the same code. Every output lane depends only on
// the same lane of the inputs, so the results do not depend on H's remainder modulo 8.

extension CPUBackend {
    public func lstmCellForwardKernel(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor,
                                      batch B: Int, hiddenSize H: Int) throws {
        let op = "lstmCellForward"
        let gate = try floats(gates, op)          // (B, 4H): pre-activations in, activations out
        let cPrev = try floats(cellPrevious, op)  // (B, H)
        let c = try floats(cell, op)              // (B, H)
        let h = try floats(hidden, op)            // (B, H)

        RowParallel.forEachRowRange(B, elementsPerRow: H) { rows in for b in rows {
            let row = gate + b * 4 * H  // (4H)
            let k = b * H               // start of row b in the B×H tensors
            VectorMath.forEachVector(H) { j, n in
                // Read every input of these lanes before writing: cPrev may be c.
                let i = VectorMath.sigmoid(VectorMath.load(row, j, n))
                let f = VectorMath.sigmoid(VectorMath.load(row, H + j, n))
                let g = VectorMath.tanh(VectorMath.load(row, 2 * H + j, n))
                let o = VectorMath.sigmoid(VectorMath.load(row, 3 * H + j, n))
                let cNew = f * VectorMath.load(cPrev, k + j, n) + i * g
                VectorMath.store(i, row, j, n)
                VectorMath.store(f, row, H + j, n)
                VectorMath.store(g, row, 2 * H + j, n)
                VectorMath.store(o, row, 3 * H + j, n)
                VectorMath.store(cNew, c, k + j, n)
                VectorMath.store(o * VectorMath.tanh(cNew), h, k + j, n)
            }
        } }
    }

    public func lstmCellBackwardKernel(gates: Tensor, cellPrevious: Tensor, cell: Tensor,
                                       hiddenGradient: Tensor, cellGradient: Tensor?,
                                       gatesGradient: Tensor, cellPreviousGradient: Tensor,
                                       batch B: Int, hiddenSize H: Int) throws {
        let op = "lstmCellBackward"
        let gate = try floats(gates, op)                    // (B, 4H) activations σ(i), σ(f), tanh(g), σ(o)
        let cPrev = try floats(cellPrevious, op)            // (B, H)
        let c = try floats(cell, op)                        // (B, H)
        let dh = try floats(hiddenGradient, op)             // (B, H)
        let dc = try cellGradient.map { try floats($0, op) }  // (B, H), nil: zero
        let dGate = try floats(gatesGradient, op)           // (B, 4H), may be gate
        let dcPrev = try floats(cellPreviousGradient, op)   // (B, H)

        RowParallel.forEachRowRange(B, elementsPerRow: H) { rows in for b in rows {
            let row = gate + b * 4 * H   // (4H)
            let dRow = dGate + b * 4 * H  // (4H)
            let k = b * H                 // start of row b in the B×H tensors
            VectorMath.forEachVector(H) { j, n in
                // Read everything these lanes need before writing: dGate may be gate, and the
                // B×H gradients may share storage with the states.
                let i = VectorMath.load(row, j, n), f = VectorMath.load(row, H + j, n)
                let g = VectorMath.load(row, 2 * H + j, n), o = VectorMath.load(row, 3 * H + j, n)
                let tc = VectorMath.tanh(VectorMath.load(c, k + j, n))
                let dhk = VectorMath.load(dh, k + j, n)
                let dcIn = dc.map { VectorMath.load($0, k + j, n) } ?? FloatVector(repeating: 0)
                let dcTotal = dcIn + dhk * o * (1 - tc * tc)
                let cPrevK = VectorMath.load(cPrev, k + j, n)
                VectorMath.store(dcTotal * g * i * (1 - i), dRow, j, n)          // ∂L/∂ pre-activation of i
                VectorMath.store(dcTotal * cPrevK * f * (1 - f), dRow, H + j, n)  // … of f
                VectorMath.store(dcTotal * i * (1 - g * g), dRow, 2 * H + j, n)   // … of g
                VectorMath.store(dhk * tc * o * (1 - o), dRow, 3 * H + j, n)      // … of o
                VectorMath.store(dcTotal * f, dcPrev, k + j, n)
            }
        } }
    }
}
