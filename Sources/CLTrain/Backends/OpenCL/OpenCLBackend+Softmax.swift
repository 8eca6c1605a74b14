extension OpenCLBackend {
    /// Every row is cut into chunks of this many elements, one work-group each (Kernels/softmax.cl):
    /// with 256 × 16, the 80 000-word rows give 20 groups each and 128 rows fill a GPU, while the
    /// partial (max, Σexp) pairs stay few. Rows shorter than one chunk take one group.
    private var softmaxChunk: Int { parameters.reductionGroupSize * parameters.softmaxItemsPerWorkItem }

    /// Pass 1 over `logits` (R×C): the per-chunk pairs, and with `targets` the target logits, in
    /// the scratch buffer. Returns the number of chunks per row and the buffer.
    private func softmaxPartials(_ logits: Tensor, rows: Int, columns: Int, targets: IndexTensor?,
                                 _ operation: String) throws -> (chunks: Int, partials: OpenCLBuffer) {
        let chunk = softmaxChunk
        let chunks = max(1, (columns + chunk - 1) / chunk)
        try OperationChecks.fitsKernelInt(rows * (2 * chunks + 1), operation: operation)
        let partials = try scratch(floats: rows * (2 * chunks + 1))
        let wgs = parameters.reductionGroupSize
        let targetOperand = try operand(targets?.tensor ?? logits, operation)   // unused without targets
        try launch(kernels.softmaxPartials, global: [chunks * wgs, rows], local: [wgs, 1],
                   [.int(Int32(columns))] + operand(logits, operation)
                   + [.int(targets == nil ? 0 : 1)] + targetOperand + [.buffer(partials)])
        return (chunks, partials)
    }

    public func softmaxKernel(_ x: Tensor, into y: Tensor, rows r: Int, columns c: Int) throws {
        let op = "softmax"
        let (chunks, partials) = try softmaxPartials(x, rows: r, columns: c, targets: nil, op)
        let wgs = parameters.reductionGroupSize
        try launch(kernels.softmaxWrite, global: [chunks * wgs, r], local: [wgs, 1],
                   [.int(Int32(c))] + operand(x, op) + operand(y, op) + [.buffer(partials)])
    }

    public func softmaxCrossEntropyKernel(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32, losses: Tensor,
                                          gradient: Tensor?, gradientScale: Float, rows r: Int, columns c: Int) throws {
        let op = "softmaxCrossEntropy"
        let (chunks, partials) = try softmaxPartials(logits, rows: r, columns: c, targets: targets, op)
        let wgs = parameters.reductionGroupSize
        // Without a gradient the kernel skips its writes; logits stands in for the unused buffer.
        let gradientOperand = try operand(gradient ?? logits, op)
        try launch(kernels.crossEntropyWrite, global: [chunks * wgs, r], local: [wgs, 1],
                   [.int(Int32(c))] + operand(logits, op) + operand(targets.tensor, op)
                   + [.int(ignoreIndex)] + operand(losses, op) + [.int(gradient == nil ? 0 : 1)] + gradientOperand
                   + [.float(gradientScale), .buffer(partials)])
    }

    public func softmaxStatisticsKernel(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor,
                                        targetLogits: Tensor, rows r: Int, columns c: Int) throws {
        let op = "softmaxStatistics"
        let (chunks, partials) = try softmaxPartials(logits, rows: r, columns: c, targets: targets, op)
        try launch1D(kernels.softmaxStatistics, count: r,
                     [.int(Int32(r)), .int(Int32(c)), .int(Int32(chunks))] + operand(targets.tensor, op)
                     + operand(maxima, op) + operand(sumExp, op) + operand(targetLogits, op) + [.buffer(partials)])
    }

    public func softmaxCrossEntropyGradientKernel(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                                  gradientScale: Float, gradient: Tensor, rows r: Int, columns c: Int) throws {
        let op = "softmaxCrossEntropyGradient"
        try launch2D(kernels.softmaxCrossEntropyGradient, columns: c, rows: r,
                   [.int(Int32(r)), .int(Int32(c))] + operand(logits, op) + operand(targets.tensor, op)
                   + operand(logNormalizers, op) + [.float(gradientScale)] + operand(gradient, op))
    }
}
