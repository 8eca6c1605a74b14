extension OpenCLBackend {
    public func softmax(_ x: Tensor, into y: Tensor) throws {
        let (r, c) = try OperationChecks.softmax(x, y)
        let wgs = parameters.reductionGroupSize
        // One work-group per row.
        try launch(kernels.softmaxRows, global: [r * wgs], local: [wgs],
                   [.int(Int32(c))] + operand(x, "softmax") + operand(y, "softmax"))
    }

    public func softmaxCrossEntropy(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32,
                                    losses: Tensor, gradient: Tensor?, gradientScale: Float) throws {
        let op = "softmaxCrossEntropy"
        let (r, c) = try OperationChecks.softmaxCrossEntropy(logits: logits, targets: targets, ignoreIndex: ignoreIndex,
                                                             losses: losses, gradient: gradient)
        let wgs = parameters.reductionGroupSize
        // Without a gradient the kernel skips its writes; logits stands in for the unused buffer.
        let gradientOperand = try operand(gradient ?? logits, op)
        try launch(kernels.softmaxCrossEntropy, global: [r * wgs], local: [wgs],
                   [.int(Int32(c))] + operand(logits, op) + operand(targets.tensor, op) + [.int(ignoreIndex)]
                   + operand(losses, op) + [.int(gradient == nil ? 0 : 1)] + gradientOperand + [.float(gradientScale)])
    }

    public func softmaxStatistics(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor,
                                  targetLogits: Tensor) throws {
        let op = "softmaxStatistics"
        let (r, c) = try OperationChecks.softmaxShard(logits: logits, targets: targets,
            rowVectors: [(maxima, "maxima"), (sumExp, "sumExp"), (targetLogits, "targetLogits")], gradient: nil, op)
        let wgs = parameters.reductionGroupSize
        try launch(kernels.softmaxStatistics, global: [r * wgs], local: [wgs],
                   [.int(Int32(c))] + operand(logits, op) + operand(targets.tensor, op)
                   + operand(maxima, op) + operand(sumExp, op) + operand(targetLogits, op))
    }

    public func softmaxCrossEntropyGradient(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                            gradientScale: Float, gradient: Tensor) throws {
        let op = "softmaxCrossEntropyGradient"
        let (r, c) = try OperationChecks.softmaxShard(logits: logits, targets: targets,
            rowVectors: [(logNormalizers, "logNormalizers")], gradient: gradient, op)
        try launch(kernels.softmaxCrossEntropyGradient, global: [c, r], local: nil,
                   [.int(Int32(r)), .int(Int32(c))] + operand(logits, op) + operand(targets.tensor, op)
                   + operand(logNormalizers, op) + [.float(gradientScale)] + operand(gradient, op))
    }
}
