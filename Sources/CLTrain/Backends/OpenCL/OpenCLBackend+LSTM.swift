extension OpenCLBackend {
    public func lstmCellForward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor) throws {
        let op = "lstmCellForward"
        let (b, h) = try OperationChecks.lstmCell(gates: gates, states: [(cellPrevious, "cellPrevious"), (cell, "cell"), (hidden, "hidden")], op)
        try launch2D(kernels.lstmCellForward, columns: h, rows: b,
                   [.int(Int32(b)), .int(Int32(h))] + operand(gates, op) + operand(cellPrevious, op)
                   + operand(cell, op) + operand(hidden, op))
    }

    public func lstmCellBackward(gates: Tensor, cellPrevious: Tensor, cell: Tensor,
                                 hiddenGradient: Tensor, cellGradient: Tensor?,
                                 gatesGradient: Tensor, cellPreviousGradient: Tensor) throws {
        let op = "lstmCellBackward"
        let (b, h) = try OperationChecks.lstmCellBackward(
            gates: gates, cellPrevious: cellPrevious, cell: cell, hiddenGradient: hiddenGradient,
            cellGradient: cellGradient, gatesGradient: gatesGradient, cellPreviousGradient: cellPreviousGradient)
        // Without an incoming cell gradient the kernel reads none; `cell` stands in for the buffer.
        try launch2D(kernels.lstmCellBackward, columns: h, rows: b,
                   [.int(Int32(b)), .int(Int32(h))] + operand(gates, op) + operand(cellPrevious, op)
                   + operand(cell, op) + operand(hiddenGradient, op)
                   + [.int(cellGradient == nil ? 0 : 1)] + operand(cellGradient ?? cell, op)
                   + operand(gatesGradient, op) + operand(cellPreviousGradient, op))
    }
}
