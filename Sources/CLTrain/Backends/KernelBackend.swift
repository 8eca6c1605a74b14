/// A backend that computes: it implements these unchecked kernels, and its `Backend` operations
/// come from the one checked front in `KernelBackend+Checks`, which validates element types,
/// shapes, indices, ownership (`owns`) and `supports(_:)` once, for every backend alike, and
/// only then calls the kernel. Callers use the `Backend` operations, never the kernels.
///
/// Kernel `xKernel` takes the arguments of operation `x`, plus the sizes the checks derived
/// (M, N, K; rows and columns; batch and hidden size; embedding width; Adam's bias corrections
/// in place of its step), on operands that are known to be float32 (int32 for indices) tensors
/// of this backend with fitting shapes and in-range indices. It may still throw for what only
/// it knows: a size beyond its 32-bit index range, a failed device call.
///
/// `makeIndices`, `synchronize` and `name` have no checks and are implemented directly.
public protocol KernelBackend: Backend {
    /// Whether `tensor`'s storage is one this backend's kernels can address (the CPU backend: any
    /// host tensor; an OpenCL backend: any buffer of its context). Operands it does not own are
    /// refused with `CLTrainError.wrongDevice`.
    func owns(_ tensor: Tensor) -> Bool

    // MARK: Memory

    /// A new tensor of `elementCount` (checked: `shape`'s product, without overflow) elements.
    func makeTensorKernel(shape: [Int], elementType: ElementType, elementCount: Int) throws -> Tensor
    /// `values.count == tensor.count`, float32.
    func uploadKernel(_ values: [Float], to tensor: Tensor) throws
    /// `tensor` is float32.
    func downloadKernel(_ tensor: Tensor) throws -> [Float]
    /// `tensor` is float32 (default: `downloadKernel`, values read at once).
    func stageKernel(_ tensor: Tensor) throws -> HostStagedTensor
    /// `staged.count == tensor.count`, float32 (default: `uploadKernel` of the values).
    func uploadStagedKernel(_ staged: HostStagedTensor, to tensor: Tensor) throws
    /// Pageable memory unless the backend has better (default).
    func makeCollectiveBufferKernel(count: Int) throws -> CollectiveBuffer
    /// `tensor` is float32 and fits `destination` (default: `downloadKernel`, then a copy).
    func readKernel(_ tensor: Tensor, into destination: UnsafeMutableBufferPointer<Float>) throws
    /// `tensor` is float32 and `source` holds its count (default: `uploadKernel` of a copy). A
    /// backend whose write may outlive the call tracks it in `buffer`.
    func writeKernel(_ source: UnsafeMutableBufferPointer<Float>, of buffer: CollectiveBuffer, to tensor: Tensor) throws

    // MARK: Linear algebra

    func gemmKernel(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor,
                    beta: Float, _ c: Tensor, m: Int, n: Int, k: Int) throws
    func addBiasKernel(_ bias: Tensor, to x: Tensor, rows: Int, columns: Int) throws
    func broadcastRowsKernel(_ row: Tensor, into x: Tensor, rows: Int, columns: Int) throws
    func sumRowsKernel(_ x: Tensor, into out: Tensor, beta: Float, rows: Int, columns: Int) throws

    // MARK: Softmax and cross-entropy

    func softmaxKernel(_ x: Tensor, into y: Tensor, rows: Int, columns: Int) throws
    func softmaxCrossEntropyKernel(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32, losses: Tensor,
                                   gradient: Tensor?, gradientScale: Float, rows: Int, columns: Int) throws
    func softmaxStatisticsKernel(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor,
                                 targetLogits: Tensor, rows: Int, columns: Int) throws
    func softmaxCrossEntropyGradientKernel(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                           gradientScale: Float, gradient: Tensor, rows: Int, columns: Int) throws

    // MARK: LSTM cell

    func lstmCellForwardKernel(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor,
                               batch: Int, hiddenSize: Int) throws
    func lstmCellBackwardKernel(gates: Tensor, cellPrevious: Tensor, cell: Tensor,
                                hiddenGradient: Tensor, cellGradient: Tensor?,
                                gatesGradient: Tensor, cellPreviousGradient: Tensor,
                                batch: Int, hiddenSize: Int) throws

    // MARK: Embedding

    func embeddingForwardKernel(table: Tensor, indices: IndexTensor, output: Tensor, width: Int) throws
    func embeddingBackwardKernel(outputGradient: Tensor, indices: IndexTensor, tableGradient: Tensor, width: Int) throws

    // MARK: Optimizer and elementwise

    func sgdUpdateKernel(parameter: Tensor, gradient: Tensor, learningRate: Float) throws
    /// `biasCorrections` are 1 − β₁ᵗ and 1 − β₂ᵗ for the operation's step t ≥ 1.
    func adamUpdateKernel(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
                          learningRate: Float, beta1: Float, beta2: Float, epsilon: Float,
                          biasCorrections: (first: Float, second: Float)) throws
    func sumOfSquaresKernel(_ tensors: [Tensor]) throws -> Double
    func fillKernel(_ tensor: Tensor, with value: Float) throws
    /// Same element count and type.
    func copyKernel(_ source: Tensor, to destination: Tensor) throws
    func scaleKernel(_ tensor: Tensor, by factor: Float) throws
    func axpyKernel(alpha: Float, _ x: Tensor, _ y: Tensor) throws
    func multiplyKernel(_ x: Tensor, by y: Tensor) throws
    func dropoutMaskKernel(_ mask: Tensor, keepProbability: Float, scale: Float, generatorState: UInt64) throws
}

extension KernelBackend {
    /// Values read at once, for a backend without asynchronous reads.
    public func stageKernel(_ tensor: Tensor) throws -> HostStagedTensor { HostValues(try downloadKernel(tensor)) }
    /// An upload of the staged values, for a backend without asynchronous writes.
    public func uploadStagedKernel(_ staged: HostStagedTensor, to tensor: Tensor) throws {
        try uploadKernel(staged.values(), to: tensor)
    }
    /// Pageable memory, for a backend with nothing better.
    public func makeCollectiveBufferKernel(count: Int) throws -> CollectiveBuffer { CollectiveBuffer(count: count) }
    /// A download and a copy, for a backend without reads into host memory it is given.
    public func readKernel(_ tensor: Tensor, into destination: UnsafeMutableBufferPointer<Float>) throws {
        _ = destination.update(fromContentsOf: try downloadKernel(tensor))
    }
    /// An upload of a copy, for a backend without writes from host memory it is given.
    public func writeKernel(_ source: UnsafeMutableBufferPointer<Float>, of buffer: CollectiveBuffer, to tensor: Tensor) throws {
        try uploadKernel(Array(source), to: tensor)
    }
}
