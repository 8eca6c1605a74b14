/// The checked front: every `Backend` operation of a `KernelBackend`, once for all backends.
/// Each one asks `supports(_:)`, validates its operands (`OperationChecks`: element types, shapes,
/// indices), refuses a tensor the backend does not own, and only then calls the kernel with the
/// sizes it derived. So bad input fails with the same error on every backend, and before any work
/// is enqueued or any output written.
extension KernelBackend {
    /// Throws `unsupportedOperation` unless this backend runs `operation`.
    func requireSupport(_ operation: BackendOperation) throws {
        guard supports(operation) else {
            throw CLTrainError.unsupportedOperation(operation: operation.rawValue, backend: name)
        }
    }

    /// Throws `wrongDevice` for the first operand this backend does not own (nil: an absent
    /// optional operand).
    func requireOwned(_ tensors: [Tensor?], _ operation: String) throws {
        for case let tensor? in tensors where !owns(tensor) {
            throw CLTrainError.wrongDevice(operation: operation, tensorLocation: tensor.location, backend: name)
        }
    }

    func requireOwned(_ tensors: [Tensor?], _ operation: BackendOperation) throws {
        try requireOwned(tensors, operation.rawValue)
    }

    // MARK: Memory

    public func makeTensor(shape: [Int], elementType: ElementType) throws -> Tensor {
        let count = try OperationChecks.elementCount(shape, "makeTensor")
        return try makeTensorKernel(shape: shape, elementType: elementType, elementCount: count)
    }

    public func upload(_ values: [Float], to tensor: Tensor) throws {
        try OperationChecks.upload(values.count, into: tensor)
        try requireOwned([tensor], "upload")
        try uploadKernel(values, to: tensor)
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        try OperationChecks.float32([tensor], "download")
        try requireOwned([tensor], "download")
        return try downloadKernel(tensor)
    }

    public func stage(_ tensor: Tensor) throws -> HostStagedTensor {
        try OperationChecks.float32([tensor], "stage")
        try requireOwned([tensor], "stage")
        return try stageKernel(tensor)
    }

    public func uploadStaged(_ staged: HostStagedTensor, to tensor: Tensor) throws {
        try OperationChecks.upload(staged.count, into: tensor)
        try requireOwned([tensor], "uploadStaged")
        try uploadStagedKernel(staged, to: tensor)
    }

    // MARK: Linear algebra

    public func gemm(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor,
                     beta: Float, _ c: Tensor) throws {
        try requireSupport(.gemm)
        let d = try OperationChecks.gemm(transposeA: transposeA, transposeB: transposeB, a, b, c)
        try requireOwned([a, b, c], .gemm)
        try gemmKernel(transposeA: transposeA, transposeB: transposeB, alpha: alpha, a, b, beta: beta, c,
                       m: d.m, n: d.n, k: d.k)
    }

    public func addBias(_ bias: Tensor, to x: Tensor) throws {
        try requireSupport(.addBias)
        let (r, c) = try OperationChecks.rowsAndVector(x, bias, ("x", "bias"), "addBias")
        try requireOwned([x, bias], .addBias)
        try addBiasKernel(bias, to: x, rows: r, columns: c)
    }

    public func broadcastRows(_ row: Tensor, into x: Tensor) throws {
        try requireSupport(.broadcastRows)
        let (r, c) = try OperationChecks.rowsAndVector(x, row, ("x", "row"), "broadcastRows")
        try requireOwned([x, row], .broadcastRows)
        try broadcastRowsKernel(row, into: x, rows: r, columns: c)
    }

    public func sumRows(_ x: Tensor, into out: Tensor, beta: Float) throws {
        try requireSupport(.sumRows)
        let (r, c) = try OperationChecks.rowsAndVector(x, out, ("x", "out"), "sumRows")
        try requireOwned([x, out], .sumRows)
        try sumRowsKernel(x, into: out, beta: beta, rows: r, columns: c)
    }

    // MARK: Softmax and cross-entropy

    public func softmax(_ x: Tensor, into y: Tensor) throws {
        try requireSupport(.softmax)
        let (r, c) = try OperationChecks.softmax(x, y)
        try requireOwned([x, y], .softmax)
        try softmaxKernel(x, into: y, rows: r, columns: c)
    }

    public func softmaxCrossEntropy(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32,
                                    losses: Tensor, gradient: Tensor?, gradientScale: Float) throws {
        try requireSupport(.softmaxCrossEntropy)
        let (r, c) = try OperationChecks.softmaxCrossEntropy(logits: logits, targets: targets, ignoreIndex: ignoreIndex,
                                                            losses: losses, gradient: gradient)
        try requireOwned([logits, losses, gradient, targets.tensor], .softmaxCrossEntropy)
        try softmaxCrossEntropyKernel(logits: logits, targets: targets, ignoreIndex: ignoreIndex, losses: losses,
                                      gradient: gradient, gradientScale: gradientScale, rows: r, columns: c)
    }

    public func softmaxStatistics(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor,
                                  targetLogits: Tensor) throws {
        try requireSupport(.softmaxStatistics)
        let (r, c) = try OperationChecks.softmaxShard(logits: logits, targets: targets,
            rowVectors: [(maxima, "maxima"), (sumExp, "sumExp"), (targetLogits, "targetLogits")], gradient: nil,
            "softmaxStatistics")
        try requireOwned([logits, maxima, sumExp, targetLogits, targets.tensor], .softmaxStatistics)
        try softmaxStatisticsKernel(logits: logits, targets: targets, maxima: maxima, sumExp: sumExp,
                                    targetLogits: targetLogits, rows: r, columns: c)
    }

    public func softmaxCrossEntropyGradient(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                            gradientScale: Float, gradient: Tensor) throws {
        try requireSupport(.softmaxCrossEntropyGradient)
        let (r, c) = try OperationChecks.softmaxShard(logits: logits, targets: targets,
            rowVectors: [(logNormalizers, "logNormalizers")], gradient: gradient, "softmaxCrossEntropyGradient")
        try requireOwned([logits, logNormalizers, gradient, targets.tensor], .softmaxCrossEntropyGradient)
        try softmaxCrossEntropyGradientKernel(logits: logits, targets: targets, logNormalizers: logNormalizers,
                                              gradientScale: gradientScale, gradient: gradient, rows: r, columns: c)
    }

    // MARK: LSTM cell

    public func lstmCellForward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor) throws {
        try requireSupport(.lstmCellForward)
        let (b, h) = try OperationChecks.lstmCell(
            gates: gates, states: [(cellPrevious, "cellPrevious"), (cell, "cell"), (hidden, "hidden")], "lstmCellForward")
        try requireOwned([gates, cellPrevious, cell, hidden], .lstmCellForward)
        try lstmCellForwardKernel(gates: gates, cellPrevious: cellPrevious, cell: cell, hidden: hidden,
                                  batch: b, hiddenSize: h)
    }

    public func lstmCellBackward(gates: Tensor, cellPrevious: Tensor, cell: Tensor,
                                 hiddenGradient: Tensor, cellGradient: Tensor?,
                                 gatesGradient: Tensor, cellPreviousGradient: Tensor) throws {
        try requireSupport(.lstmCellBackward)
        let (b, h) = try OperationChecks.lstmCellBackward(
            gates: gates, cellPrevious: cellPrevious, cell: cell, hiddenGradient: hiddenGradient,
            cellGradient: cellGradient, gatesGradient: gatesGradient, cellPreviousGradient: cellPreviousGradient)
        try requireOwned([gates, cellPrevious, cell, hiddenGradient, cellGradient, gatesGradient,
                                      cellPreviousGradient], .lstmCellBackward)
        try lstmCellBackwardKernel(gates: gates, cellPrevious: cellPrevious, cell: cell, hiddenGradient: hiddenGradient,
                                   cellGradient: cellGradient, gatesGradient: gatesGradient,
                                   cellPreviousGradient: cellPreviousGradient, batch: b, hiddenSize: h)
    }

    // MARK: Embedding

    public func embeddingForward(table: Tensor, indices: IndexTensor, output: Tensor) throws {
        try requireSupport(.embeddingForward)
        let (_, e) = try OperationChecks.embedding(table: table, indices: indices, rows: output, rowsName: "output",
                                                   "embeddingForward")
        try requireOwned([table, output, indices.tensor], .embeddingForward)
        try embeddingForwardKernel(table: table, indices: indices, output: output, width: e)
    }

    public func embeddingBackward(outputGradient: Tensor, indices: IndexTensor, tableGradient: Tensor) throws {
        try requireSupport(.embeddingBackward)
        let (_, e) = try OperationChecks.embedding(table: tableGradient, indices: indices, rows: outputGradient,
                                                   rowsName: "outputGradient", "embeddingBackward")
        try requireOwned([outputGradient, tableGradient, indices.tensor], .embeddingBackward)
        try embeddingBackwardKernel(outputGradient: outputGradient, indices: indices, tableGradient: tableGradient, width: e)
    }

    // MARK: Optimizer and elementwise

    public func sgdUpdate(parameter: Tensor, gradient: Tensor, learningRate: Float) throws {
        try requireSupport(.sgdUpdate)
        try OperationChecks.float32([parameter, gradient], "sgdUpdate")
        try OperationChecks.sameCount(parameter, gradient, ("parameter", "gradient"), "sgdUpdate")
        try requireOwned([parameter, gradient], .sgdUpdate)
        try sgdUpdateKernel(parameter: parameter, gradient: gradient, learningRate: learningRate)
    }

    public func adamUpdate(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
                           learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, step: Int) throws {
        try requireSupport(.adamUpdate)
        let corrections = try OperationChecks.adam(
            [(parameter, "parameter"), (gradient, "gradient"), (firstMoment, "firstMoment"), (secondMoment, "secondMoment")],
            beta1: beta1, beta2: beta2, step: step)
        try requireOwned([parameter, gradient, firstMoment, secondMoment], .adamUpdate)
        try adamUpdateKernel(parameter: parameter, gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment,
                             learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                             biasCorrections: (first: corrections.0, second: corrections.1))
    }

    public func sumOfSquares(_ tensors: [Tensor]) throws -> Double {
        try requireSupport(.sumOfSquares)
        try OperationChecks.float32(tensors, "sumOfSquares")
        try requireOwned(tensors, .sumOfSquares)
        return try sumOfSquaresKernel(tensors)
    }

    public func fill(_ tensor: Tensor, with value: Float) throws {
        try requireSupport(.fill)
        try OperationChecks.float32([tensor], "fill")
        try requireOwned([tensor], .fill)
        try fillKernel(tensor, with: value)
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try requireSupport(.copy)
        try OperationChecks.copy(source, destination)
        try requireOwned([source, destination], .copy)
        try copyKernel(source, to: destination)
    }

    public func scale(_ tensor: Tensor, by factor: Float) throws {
        try requireSupport(.scale)
        try OperationChecks.float32([tensor], "scale")
        try requireOwned([tensor], .scale)
        try scaleKernel(tensor, by: factor)
    }

    public func axpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws {
        try requireSupport(.axpy)
        try OperationChecks.float32([x, y], "axpy")
        try OperationChecks.sameCount(x, y, ("x", "y"), "axpy")
        try requireOwned([x, y], .axpy)
        try axpyKernel(alpha: alpha, x, y)
    }

    public func multiply(_ x: Tensor, by y: Tensor) throws {
        try requireSupport(.multiply)
        try OperationChecks.sameShape([(x, "x"), (y, "y")], "multiply")
        try requireOwned([x, y], .multiply)
        try multiplyKernel(x, by: y)
    }

    public func dropoutMask(_ mask: Tensor, keepProbability: Float, scale: Float, generatorState: UInt64) throws {
        try requireSupport(.dropoutMask)
        try OperationChecks.dropoutMask(mask, keepProbability: keepProbability, scale: scale)
        try requireOwned([mask], .dropoutMask)
        try dropoutMaskKernel(mask, keepProbability: keepProbability, scale: scale, generatorState: generatorState)
    }
}
