import Testing
@testable import CLTrain

/// A `KernelBackend` whose kernels are the CPU backend's, that declines the operations in
/// `declined` and records every computing kernel it runs: for testing the checked front itself.
final class RecordingKernelBackend: KernelBackend {
    let base = CPUBackend()
    let declined: Set<BackendOperation>
    private(set) var kernelCalls: [String] = []

    init(declining declined: Set<BackendOperation> = []) { self.declined = declined }

    var name: String { "recording" }
    func supports(_ operation: BackendOperation) -> Bool { !declined.contains(operation) }
    func owns(_ tensor: Tensor) -> Bool { base.owns(tensor) }
    func makeIndices(_ values: [Int32]) throws -> IndexTensor { try base.makeIndices(values) }
    func synchronize() throws {}

    func makeTensorKernel(shape: [Int], elementType: ElementType, elementCount: Int) throws -> Tensor {
        try base.makeTensorKernel(shape: shape, elementType: elementType, elementCount: elementCount)
    }
    func uploadKernel(_ values: [Float], to tensor: Tensor) throws { try base.uploadKernel(values, to: tensor) }
    func downloadKernel(_ tensor: Tensor) throws -> [Float] { try base.downloadKernel(tensor) }

    private func record(_ kernel: String = #function) { kernelCalls.append(kernel) }

    func gemmKernel(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor, beta: Float, _ c: Tensor,
                    m: Int, n: Int, k: Int) throws {
        record()
        try base.gemmKernel(transposeA: transposeA, transposeB: transposeB, alpha: alpha, a, b, beta: beta, c, m: m, n: n, k: k)
    }
    func addBiasKernel(_ bias: Tensor, to x: Tensor, rows: Int, columns: Int) throws {
        record(); try base.addBiasKernel(bias, to: x, rows: rows, columns: columns)
    }
    func broadcastRowsKernel(_ row: Tensor, into x: Tensor, rows: Int, columns: Int) throws {
        record(); try base.broadcastRowsKernel(row, into: x, rows: rows, columns: columns)
    }
    func sumRowsKernel(_ x: Tensor, into out: Tensor, beta: Float, rows: Int, columns: Int) throws {
        record(); try base.sumRowsKernel(x, into: out, beta: beta, rows: rows, columns: columns)
    }
    func softmaxKernel(_ x: Tensor, into y: Tensor, rows: Int, columns: Int) throws {
        record(); try base.softmaxKernel(x, into: y, rows: rows, columns: columns)
    }
    func softmaxCrossEntropyKernel(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32, losses: Tensor,
                                   gradient: Tensor?, gradientScale: Float, rows: Int, columns: Int) throws {
        record()
        try base.softmaxCrossEntropyKernel(logits: logits, targets: targets, ignoreIndex: ignoreIndex, losses: losses,
                                           gradient: gradient, gradientScale: gradientScale, rows: rows, columns: columns)
    }
    func softmaxStatisticsKernel(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor,
                                 targetLogits: Tensor, rows: Int, columns: Int) throws {
        record()
        try base.softmaxStatisticsKernel(logits: logits, targets: targets, maxima: maxima, sumExp: sumExp,
                                         targetLogits: targetLogits, rows: rows, columns: columns)
    }
    func softmaxCrossEntropyGradientKernel(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                           gradientScale: Float, gradient: Tensor, rows: Int, columns: Int) throws {
        record()
        try base.softmaxCrossEntropyGradientKernel(logits: logits, targets: targets, logNormalizers: logNormalizers,
                                                   gradientScale: gradientScale, gradient: gradient, rows: rows, columns: columns)
    }
    func lstmCellForwardKernel(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor,
                               batch: Int, hiddenSize: Int) throws {
        record()
        try base.lstmCellForwardKernel(gates: gates, cellPrevious: cellPrevious, cell: cell, hidden: hidden,
                                       batch: batch, hiddenSize: hiddenSize)
    }
    func lstmCellBackwardKernel(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hiddenGradient: Tensor,
                                cellGradient: Tensor?, gatesGradient: Tensor, cellPreviousGradient: Tensor,
                                batch: Int, hiddenSize: Int) throws {
        record()
        try base.lstmCellBackwardKernel(gates: gates, cellPrevious: cellPrevious, cell: cell, hiddenGradient: hiddenGradient,
                                        cellGradient: cellGradient, gatesGradient: gatesGradient,
                                        cellPreviousGradient: cellPreviousGradient, batch: batch, hiddenSize: hiddenSize)
    }
    func embeddingForwardKernel(table: Tensor, indices: IndexTensor, output: Tensor, width: Int) throws {
        record(); try base.embeddingForwardKernel(table: table, indices: indices, output: output, width: width)
    }
    func embeddingBackwardKernel(outputGradient: Tensor, indices: IndexTensor, tableGradient: Tensor, width: Int) throws {
        record()
        try base.embeddingBackwardKernel(outputGradient: outputGradient, indices: indices, tableGradient: tableGradient,
                                         width: width)
    }
    func sgdUpdateKernel(parameter: Tensor, gradient: Tensor, learningRate: Float) throws {
        record(); try base.sgdUpdateKernel(parameter: parameter, gradient: gradient, learningRate: learningRate)
    }
    func adamUpdateKernel(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
                          learningRate: Float, beta1: Float, beta2: Float, epsilon: Float,
                          biasCorrections: (first: Float, second: Float)) throws {
        record()
        try base.adamUpdateKernel(parameter: parameter, gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment,
                                  learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                  biasCorrections: biasCorrections)
    }
    func sumOfSquaresKernel(_ tensors: [Tensor]) throws -> Double { record(); return try base.sumOfSquaresKernel(tensors) }
    func fillKernel(_ tensor: Tensor, with value: Float) throws { record(); try base.fillKernel(tensor, with: value) }
    func copyKernel(_ source: Tensor, to destination: Tensor) throws { record(); try base.copyKernel(source, to: destination) }
    func scaleKernel(_ tensor: Tensor, by factor: Float) throws { record(); try base.scaleKernel(tensor, by: factor) }
    func axpyKernel(alpha: Float, _ x: Tensor, _ y: Tensor) throws { record(); try base.axpyKernel(alpha: alpha, x, y) }
    func multiplyKernel(_ x: Tensor, by y: Tensor) throws { record(); try base.multiplyKernel(x, by: y) }
    func dropoutMaskKernel(_ mask: Tensor, keepProbability: Float, scale: Float, generatorState: UInt64) throws {
        record(); try base.dropoutMaskKernel(mask, keepProbability: keepProbability, scale: scale, generatorState: generatorState)
    }
}

/// The checked front of `KernelBackend`: what it refuses never reaches a kernel, and an operation
/// a backend declines is refused by name.
@Suite("The checked front over the kernels")
struct KernelBackendTests {
    /// The shape, type, index and ownership error paths, on a backend whose kernels record each
    /// call: they fail as on the CPU backend, and no computing kernel runs.
    @Test(arguments: [BackendErrorPath.gemmRejectsMismatchedShapes, .crossEntropyRejectsTargetsOutOfRange,
                      .embeddingRejectsIndicesOutOfRange, .elementwiseOperationsCheckCounts,
                      .shardSoftmaxLSTMAndEmbeddingCheckShapes, .optimizerAndMaskArgumentsAreChecked,
                      .wrongElementTypeIsNamed, .everyOperationRefusesAForeignTensor])
    func badInputNeverReachesAKernel(_ path: BackendErrorPath) throws {
        let backend = RecordingKernelBackend()
        try path.run(on: backend)
        #expect(backend.kernelCalls.isEmpty, "\(path) reached \(backend.kernelCalls)")
    }

    @Test func goodInputReachesItsKernelOnceWithTheCheckedSizes() throws {
        let backend = RecordingKernelBackend()
        let a = try makeTensor(backend, [2, 3], [1, 2, 3, 4, 5, 6])
        let b = try makeTensor(backend, [2, 4], [Float](repeating: 1, count: 8))
        let c = try makeTensor(backend, [3, 4], [Float](repeating: 0, count: 12))
        try backend.gemm(transposeA: true, transposeB: false, alpha: 1, a, b, beta: 0, c)
        #expect(backend.kernelCalls == ["gemmKernel(transposeA:transposeB:alpha:_:_:beta:_:m:n:k:)"])
        #expect(try backend.download(c) == [5, 5, 5, 5, 7, 7, 7, 7, 9, 9, 9, 9])
    }

    @Test func aDeclinedOperationIsRefusedNamingItAndTheBackend() throws {
        let backend = RecordingKernelBackend(declining: [.gemm, .softmax])
        let x = try makeTensor(backend, [2, 2], [1, 2, 3, 4])
        let error = #expect(throws: CLTrainError.unsupportedOperation(operation: "gemm", backend: "recording")) {
            try backend.gemm(transposeA: false, transposeB: false, alpha: 1, x, x, beta: 0, x)
        }
        #expect(error?.description == "gemm: not supported by recording; run it on a backend that supports it")
        #expect(throws: CLTrainError.unsupportedOperation(operation: "softmax", backend: "recording")) {
            try backend.softmax(x, into: x)
        }
        // The others still run.
        try backend.scale(x, by: 2)
        #expect(try backend.download(x) == [2, 4, 6, 8])
        #expect(backend.kernelCalls == ["scaleKernel(_:by:)"])
    }

    @Test func theProfilingWrapperForwardsSupportAndRefusals() throws {
        let profiled = ProfilingBackend(RecordingKernelBackend(declining: [.fill]))
        #expect(!profiled.supports(.fill) && profiled.supports(.gemm))
        let x = try profiled.makeTensor(shape: [3], elementType: .float32)
        #expect(throws: CLTrainError.unsupportedOperation(operation: "fill", backend: "recording")) {
            try profiled.fill(x, with: 1)
        }
        #expect(CPUBackend().supports(.gemm) && BackendOperation.allCases.allSatisfy(CPUBackend().supports))
    }
}
