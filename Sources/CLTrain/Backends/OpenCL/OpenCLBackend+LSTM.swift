extension OpenCLBackend {
    public func lstmCellForwardKernel(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor,
                                      batch b: Int, hiddenSize h: Int) throws {
        let op = "lstmCellForward"
        try launch2D(kernels.lstmCellForward, columns: h, rows: b,
                   [.int(Int32(b)), .int(Int32(h))] + operand(gates, op) + operand(cellPrevious, op)
                   + operand(cell, op) + operand(hidden, op))
    }

    public func lstmCellBackwardKernel(gates: Tensor, cellPrevious: Tensor, cell: Tensor,
                                       hiddenGradient: Tensor, cellGradient: Tensor?,
                                       gatesGradient: Tensor, cellPreviousGradient: Tensor,
                                       batch b: Int, hiddenSize h: Int) throws {
        let op = "lstmCellBackward"
        // Without an incoming cell gradient the kernel reads none; `cell` stands in for the buffer.
        try launch2D(kernels.lstmCellBackward, columns: h, rows: b,
                   [.int(Int32(b)), .int(Int32(h))] + operand(gates, op) + operand(cellPrevious, op)
                   + operand(cell, op) + operand(hiddenGradient, op)
                   + [.int(cellGradient == nil ? 0 : 1)] + operand(cellGradient ?? cell, op)
                   + operand(gatesGradient, op) + operand(cellPreviousGradient, op))
    }
}
