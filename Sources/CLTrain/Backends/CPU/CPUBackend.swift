// Placeholder so the package builds while this backend is written.
public final class CPUBackend: Backend {
    public init() {}
    public var name: String { "cpu" }
    public func makeTensor(shape: [Int], elementType: ElementType) throws -> Tensor { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func upload(_ values: [Float], to tensor: Tensor) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func download(_ tensor: Tensor) throws -> [Float] { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func makeIndices(_ values: [Int32]) throws -> IndexTensor { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func synchronize() throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func gemm(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor,
              beta: Float, _ c: Tensor) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func addBias(_ bias: Tensor, to x: Tensor) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func sumRows(_ x: Tensor, into out: Tensor, beta: Float) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func softmax(_ x: Tensor, into y: Tensor) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func softmaxCrossEntropy(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32,
                             losses: Tensor, gradient: Tensor?, gradientScale: Float) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func lstmCellForward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func lstmCellBackward(gates: Tensor, cellPrevious: Tensor, cell: Tensor,
                          hiddenGradient: Tensor, cellGradient: Tensor?,
                          gatesGradient: Tensor, cellPreviousGradient: Tensor) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func embeddingForward(table: Tensor, indices: IndexTensor, output: Tensor) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func embeddingBackward(outputGradient: Tensor, indices: IndexTensor, tableGradient: Tensor) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func sgdUpdate(parameter: Tensor, gradient: Tensor, learningRate: Float) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func sumOfSquares(_ tensors: [Tensor]) throws -> Double { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func fill(_ tensor: Tensor, with value: Float) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func copy(_ source: Tensor, to destination: Tensor) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func scale(_ tensor: Tensor, by factor: Float) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
    public func axpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws { throw CLTrainError.invalidArgument("CPUBackend: not implemented yet") }
}
