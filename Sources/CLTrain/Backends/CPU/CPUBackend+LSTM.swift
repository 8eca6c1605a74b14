import Foundation

// Gates are B×4H, each row holding four blocks of H in the order i, f, g, o (PyTorch's nn.LSTM).
// Element j of batch row b lives at gates[b, j], gates[b, H + j], gates[b, 2H + j], gates[b, 3H + j].

extension CPUBackend {
    public func lstmCellForward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor) throws {
        let op = "lstmCellForward"
        let (B, H) = try OperationChecks.lstmCell(
            gates: gates, states: [(cellPrevious, "cellPrevious"), (cell, "cell"), (hidden, "hidden")], op)
        let gate = try floats(gates, op)          // (B, 4H): pre-activations in, activations out
        let cPrev = try floats(cellPrevious, op)  // (B, H)
        let c = try floats(cell, op)              // (B, H)
        let h = try floats(hidden, op)            // (B, H)

        for b in 0..<B {
            let row = gate + b * 4 * H
            for j in 0..<H {
                let i = sigmoid(row[j])
                let f = sigmoid(row[H + j])
                let g = tanh(row[2 * H + j])
                let o = sigmoid(row[3 * H + j])
                row[j] = i
                row[H + j] = f
                row[2 * H + j] = g
                row[3 * H + j] = o
                let k = b * H + j
                let cNew = f * cPrev[k] + i * g  // read cPrev before writing c: they may be one tensor
                c[k] = cNew
                h[k] = o * tanh(cNew)
            }
        }
    }

    public func lstmCellBackward(gates: Tensor, cellPrevious: Tensor, cell: Tensor,
                                 hiddenGradient: Tensor, cellGradient: Tensor?,
                                 gatesGradient: Tensor, cellPreviousGradient: Tensor) throws {
        let op = "lstmCellBackward"
        let (B, H) = try OperationChecks.lstmCellBackward(
            gates: gates, cellPrevious: cellPrevious, cell: cell, hiddenGradient: hiddenGradient,
            cellGradient: cellGradient, gatesGradient: gatesGradient, cellPreviousGradient: cellPreviousGradient)
        let gate = try floats(gates, op)                    // (B, 4H) activations σ(i), σ(f), tanh(g), σ(o)
        let cPrev = try floats(cellPrevious, op)            // (B, H)
        let c = try floats(cell, op)                        // (B, H)
        let dh = try floats(hiddenGradient, op)             // (B, H)
        let dc = try cellGradient.map { try floats($0, op) }  // (B, H), nil: zero
        let dGate = try floats(gatesGradient, op)           // (B, 4H), may be gate
        let dcPrev = try floats(cellPreviousGradient, op)   // (B, H)

        for b in 0..<B {
            let row = gate + b * 4 * H
            let dRow = dGate + b * 4 * H
            for j in 0..<H {
                let k = b * H + j
                // Read everything this element needs before writing: dGate may be gate, and the
                // B×H gradients may share storage with the states.
                let i = row[j], f = row[H + j], g = row[2 * H + j], o = row[3 * H + j]
                let tc = tanh(c[k])
                let dhk = dh[k]
                let dcTotal = (dc?[k] ?? 0) + dhk * o * (1 - tc * tc)
                let cPrevK = cPrev[k]
                dRow[j] = dcTotal * g * i * (1 - i)              // ∂L/∂ pre-activation of i
                dRow[H + j] = dcTotal * cPrevK * f * (1 - f)     // … of f
                dRow[2 * H + j] = dcTotal * i * (1 - g * g)      // … of g
                dRow[3 * H + j] = dhk * tc * o * (1 - o)         // … of o
                dcPrev[k] = dcTotal * f
            }
        }
    }
}

/// σ(x) = 1 / (1 + e⁻ˣ), written as eˣ / (1 + eˣ) for x < 0 so that no intermediate overflows to
/// infinity (the naive form still rounds to the right 0 there, but only by way of 1 / ∞).
private func sigmoid(_ x: Float) -> Float {
    if x >= 0 {
        return 1 / (1 + exp(-x))
    }
    let e = exp(x)
    return e / (1 + e)
}
