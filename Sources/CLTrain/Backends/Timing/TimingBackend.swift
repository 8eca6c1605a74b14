/// A backend that computes nothing: each operation checks its operands as every backend does,
/// then takes its `TimingDevice` for what the device's cost table says (`TimingCosts`): compute
/// and copies are enqueued, as on an OpenCL device, while uploads, downloads, index uploads,
/// `sumOfSquares` and `synchronize` wait for the queue, as they do there.
///
/// Tensors have shapes and no data: a download returns zeros, `sumOfSquares` 0. So a model run
/// on timing devices takes the time its costs say, whatever it would compute; its losses are
/// meaningless (a split softmax's come out −∞), which is why `PlanValidation` runs the model's
/// step directly, never a `Trainer` (whose non-finite-loss guard would stop it).
/// Like any backend, one object is driven by one thread at a time.
public final class TimingBackend: Backend {
    public let device: TimingDevice
    public let name: String

    /// A backend (a queue) of `device`; several may share one device.
    public init(device: TimingDevice, queue: Int = 0) {
        self.device = device
        name = queue == 0 ? "timing:\(device.name)" : "timing:\(device.name)#\(queue)"
    }

    private var costs: TimingCosts { device.costs }

    private func owned(_ tensors: [Tensor], _ operation: String) throws {
        for tensor in tensors where (tensor.storage as? TimingStorage)?.device !== device {
            throw CLTrainError.wrongDevice(operation: operation, tensorLocation: tensor.location, backend: name)
        }
    }

    // MARK: Memory

    public func makeTensor(shape: [Int], elementType: ElementType) throws -> Tensor {
        let count = try OperationChecks.elementCount(shape, "makeTensor")
        return Tensor(shape: shape, elementType: elementType, storage: TimingStorage(elementCapacity: count, device: device))
    }

    public func upload(_ values: [Float], to tensor: Tensor) throws {
        try owned([tensor], "upload")
        try OperationChecks.upload(values.count, into: tensor)
        device.blocking(costs.hostTransfer(bytes: 4 * values.count))
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        try owned([tensor], "download")
        try OperationChecks.float32([tensor], "download")
        device.blocking(costs.hostTransfer(bytes: 4 * tensor.count))
        return [Float](repeating: 0, count: tensor.count)
    }

    public func makeIndices(_ values: [Int32]) throws -> IndexTensor {
        let tensor = try makeTensor(shape: [values.count], elementType: .int32)
        device.blocking(costs.hostTransfer(bytes: 4 * values.count))
        return IndexTensor(values: values, tensor: tensor)
    }

    public func synchronize() throws { device.wait() }

    // MARK: Linear algebra

    public func gemm(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor, beta: Float, _ c: Tensor) throws {
        try owned([a, b, c], "gemm")
        let d = try OperationChecks.gemm(transposeA: transposeA, transposeB: transposeB, a, b, c)
        device.enqueue(costs.gemm(transposeA: transposeA, transposeB: transposeB, m: d.m, n: d.n, k: d.k))
    }

    public func addBias(_ bias: Tensor, to x: Tensor) throws {
        try owned([bias, x], "addBias")
        _ = try OperationChecks.rowsAndVector(x, bias, ("x", "bias"), "addBias")
    }

    public func sumRows(_ x: Tensor, into out: Tensor, beta: Float) throws {
        try owned([x, out], "sumRows")
        _ = try OperationChecks.rowsAndVector(x, out, ("x", "out"), "sumRows")
    }

    // MARK: Softmax and cross-entropy

    public func softmax(_ x: Tensor, into y: Tensor) throws {
        try owned([x, y], "softmax")
        _ = try OperationChecks.softmax(x, y)
    }

    public func softmaxCrossEntropy(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32, losses: Tensor,
                                    gradient: Tensor?, gradientScale: Float) throws {
        try owned([logits, targets.tensor, losses] + (gradient.map { [$0] } ?? []), "softmaxCrossEntropy")
        _ = try OperationChecks.softmaxCrossEntropy(logits: logits, targets: targets, ignoreIndex: ignoreIndex, losses: losses,
                                                    gradient: gradient)
    }

    public func softmaxStatistics(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor,
                                  targetLogits: Tensor) throws {
        try owned([logits, targets.tensor, maxima, sumExp, targetLogits], "softmaxStatistics")
        _ = try OperationChecks.softmaxShard(logits: logits, targets: targets,
                                             rowVectors: [(maxima, "maxima"), (sumExp, "sumExp"), (targetLogits, "targetLogits")],
                                             gradient: nil, "softmaxStatistics")
    }

    public func softmaxCrossEntropyGradient(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                            gradientScale: Float, gradient: Tensor) throws {
        try owned([logits, targets.tensor, logNormalizers, gradient], "softmaxCrossEntropyGradient")
        _ = try OperationChecks.softmaxShard(logits: logits, targets: targets, rowVectors: [(logNormalizers, "logNormalizers")],
                                             gradient: gradient, "softmaxCrossEntropyGradient")
    }

    // MARK: LSTM cell

    public func lstmCellForward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor) throws {
        try owned([gates, cellPrevious, cell, hidden], "lstmCellForward")
        let (rows, _) = try OperationChecks.lstmCell(
            gates: gates, states: [(cellPrevious, "cellPrevious"), (cell, "cell"), (hidden, "hidden")], "lstmCellForward")
        device.enqueue(costs.cellForward(rows: rows))
    }

    public func lstmCellBackward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hiddenGradient: Tensor, cellGradient: Tensor?,
                                 gatesGradient: Tensor, cellPreviousGradient: Tensor) throws {
        try owned([gates, cellPrevious, cell, hiddenGradient, gatesGradient, cellPreviousGradient]
                  + (cellGradient.map { [$0] } ?? []), "lstmCellBackward")
        let (rows, _) = try OperationChecks.lstmCellBackward(
            gates: gates, cellPrevious: cellPrevious, cell: cell, hiddenGradient: hiddenGradient, cellGradient: cellGradient,
            gatesGradient: gatesGradient, cellPreviousGradient: cellPreviousGradient)
        device.enqueue(costs.cellBackward(rows: rows))
    }

    // MARK: Embedding

    public func embeddingForward(table: Tensor, indices: IndexTensor, output: Tensor) throws {
        try owned([table, indices.tensor, output], "embeddingForward")
        _ = try OperationChecks.embedding(table: table, indices: indices, rows: output, rowsName: "output", "embeddingForward")
    }

    public func embeddingBackward(outputGradient: Tensor, indices: IndexTensor, tableGradient: Tensor) throws {
        try owned([outputGradient, indices.tensor, tableGradient], "embeddingBackward")
        _ = try OperationChecks.embedding(table: tableGradient, indices: indices, rows: outputGradient,
                                          rowsName: "outputGradient", "embeddingBackward")
    }

    // MARK: Optimizer and elementwise

    public func sgdUpdate(parameter: Tensor, gradient: Tensor, learningRate: Float) throws {
        try owned([parameter, gradient], "sgdUpdate")
    }

    public func adamUpdate(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor, learningRate: Float,
                           beta1: Float, beta2: Float, epsilon: Float, step: Int) throws {
        try owned([parameter, gradient, firstMoment, secondMoment], "adamUpdate")
    }

    public func sumOfSquares(_ tensors: [Tensor]) throws -> Double {
        try owned(tensors, "sumOfSquares")
        device.wait()
        return 0
    }

    public func fill(_ tensor: Tensor, with value: Float) throws { try owned([tensor], "fill") }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try owned([source, destination], "copy")
        try OperationChecks.copy(source, destination)
        device.enqueue(costs.copy(bytes: 4 * source.count))
    }

    public func scale(_ tensor: Tensor, by factor: Float) throws { try owned([tensor], "scale") }

    public func axpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws {
        try owned([x, y], "axpy")
        try OperationChecks.sameCount(x, y, ("x", "y"), "axpy")
    }

    public func multiply(_ x: Tensor, by y: Tensor) throws {
        try owned([x, y], "multiply")
        try OperationChecks.sameShape([(x, "x"), (y, "y")], "multiply")
    }

    public func dropoutMask(_ mask: Tensor, keepProbability: Float, scale: Float, generatorState: UInt64) throws {
        try owned([mask], "dropoutMask")
        try OperationChecks.dropoutMask(mask, keepProbability: keepProbability, scale: scale)
    }
}

/// A timing tensor's storage: a size and an owner, no data.
final class TimingStorage: TensorStorage {
    let elementCapacity: Int
    let device: TimingDevice

    init(elementCapacity: Int, device: TimingDevice) {
        self.elementCapacity = elementCapacity
        self.device = device
    }

    var location: String { "timing device \(device.name)" }
}
