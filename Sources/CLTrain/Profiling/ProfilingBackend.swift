import Foundation

/// Wraps a backend and measures the wall time of every operation, by operation name.
///
/// Each operation is followed by `synchronize()`, so on an asynchronous device the time is the
/// operation's own (and the device runs one thing at a time, which slows it down); on the CPU
/// backend, which is synchronous, the profile is faithful. Used by `cltrain train --profile` to
/// report, for instance, the share of a training step spent inside sgemm. A wrapper, not a
/// `KernelBackend`: each operation is `base`'s, checks included.
public final class ProfilingBackend: Backend {
    public let base: Backend
    public private(set) var profile = OperationProfile()

    public init(_ base: Backend) { self.base = base }

    public var name: String { base.name }
    public func supports(_ operation: BackendOperation) -> Bool { base.supports(operation) }

    private func timed<T>(_ operation: String, _ body: () throws -> T) throws -> T {
        let start = WallClock.now
        let result = try body()
        try base.synchronize()
        profile.add(operation, seconds: WallClock.seconds(since: start))
        return result
    }

    public func makeTensor(shape: [Int], elementType: ElementType) throws -> Tensor {
        try timed("makeTensor") { try base.makeTensor(shape: shape, elementType: elementType) }
    }
    public func upload(_ values: [Float], to tensor: Tensor) throws {
        try timed("upload") { try base.upload(values, to: tensor) }
    }
    public func download(_ tensor: Tensor) throws -> [Float] {
        try timed("download") { try base.download(tensor) }
    }
    public func makeCollectiveBuffer(count: Int) throws -> CollectiveBuffer { try base.makeCollectiveBuffer(count: count) }
    public func read(_ tensor: Tensor, into buffer: CollectiveBuffer, at offset: Int) throws {
        try timed("read") { try base.read(tensor, into: buffer, at: offset) }
    }
    public func write(_ buffer: CollectiveBuffer, at offset: Int, to tensor: Tensor) throws {
        try timed("write") { try base.write(buffer, at: offset, to: tensor) }
    }
    public func makeIndices(_ values: [Int32]) throws -> IndexTensor {
        try timed("makeIndices") { try base.makeIndices(values) }
    }
    public func uploadIndices(_ values: [Int32], into indices: IndexTensor) throws {
        try timed("uploadIndices") { try base.uploadIndices(values, into: indices) }
    }
    public func synchronize() throws { try base.synchronize() }
    public func gemm(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor, beta: Float, _ c: Tensor) throws {
        try timed("gemm") { try base.gemm(transposeA: transposeA, transposeB: transposeB, alpha: alpha, a, b, beta: beta, c) }
    }
    public func addBias(_ bias: Tensor, to x: Tensor) throws {
        try timed("addBias") { try base.addBias(bias, to: x) }
    }
    public func broadcastRows(_ row: Tensor, into x: Tensor) throws {
        try timed("broadcastRows") { try base.broadcastRows(row, into: x) }
    }
    public func sumRows(_ x: Tensor, into out: Tensor, beta: Float) throws {
        try timed("sumRows") { try base.sumRows(x, into: out, beta: beta) }
    }
    public func softmax(_ x: Tensor, into y: Tensor) throws {
        try timed("softmax") { try base.softmax(x, into: y) }
    }
    public func softmaxCrossEntropy(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32, losses: Tensor,
                                    gradient: Tensor?, gradientScale: Float) throws {
        try timed("softmaxCrossEntropy") {
            try base.softmaxCrossEntropy(logits: logits, targets: targets, ignoreIndex: ignoreIndex, losses: losses,
                                         gradient: gradient, gradientScale: gradientScale)
        }
    }
    public func softmaxStatistics(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor,
                                  targetLogits: Tensor) throws {
        try timed("softmaxStatistics") {
            try base.softmaxStatistics(logits: logits, targets: targets, maxima: maxima, sumExp: sumExp, targetLogits: targetLogits)
        }
    }
    public func softmaxCrossEntropyGradient(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                            gradientScale: Float, gradient: Tensor) throws {
        try timed("softmaxCrossEntropyGradient") {
            try base.softmaxCrossEntropyGradient(logits: logits, targets: targets, logNormalizers: logNormalizers,
                                                 gradientScale: gradientScale, gradient: gradient)
        }
    }
    public func lstmCellForward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor) throws {
        try timed("lstmCellForward") { try base.lstmCellForward(gates: gates, cellPrevious: cellPrevious, cell: cell, hidden: hidden) }
    }
    public func lstmCellBackward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hiddenGradient: Tensor, cellGradient: Tensor?,
                                 gatesGradient: Tensor, cellPreviousGradient: Tensor) throws {
        try timed("lstmCellBackward") {
            try base.lstmCellBackward(gates: gates, cellPrevious: cellPrevious, cell: cell, hiddenGradient: hiddenGradient,
                                      cellGradient: cellGradient, gatesGradient: gatesGradient,
                                      cellPreviousGradient: cellPreviousGradient)
        }
    }
    public func embeddingForward(table: Tensor, indices: IndexTensor, output: Tensor) throws {
        try timed("embeddingForward") { try base.embeddingForward(table: table, indices: indices, output: output) }
    }
    public func embeddingBackward(outputGradient: Tensor, indices: IndexTensor, tableGradient: Tensor) throws {
        try timed("embeddingBackward") { try base.embeddingBackward(outputGradient: outputGradient, indices: indices, tableGradient: tableGradient) }
    }
    public func sgdUpdate(parameter: Tensor, gradient: Tensor, learningRate: Float) throws {
        try timed("sgdUpdate") { try base.sgdUpdate(parameter: parameter, gradient: gradient, learningRate: learningRate) }
    }
    public func adamUpdate(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
                           learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, step: Int) throws {
        try timed("adamUpdate") {
            try base.adamUpdate(parameter: parameter, gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment,
                                learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, step: step)
        }
    }
    public func sumOfSquares(_ tensors: [Tensor]) throws -> Double {
        try timed("sumOfSquares") { try base.sumOfSquares(tensors) }
    }
    public func fill(_ tensor: Tensor, with value: Float) throws {
        try timed("fill") { try base.fill(tensor, with: value) }
    }
    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try timed("copy") { try base.copy(source, to: destination) }
    }
    public func scale(_ tensor: Tensor, by factor: Float) throws {
        try timed("scale") { try base.scale(tensor, by: factor) }
    }
    public func axpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws {
        try timed("axpy") { try base.axpy(alpha: alpha, x, y) }
    }
    public func multiply(_ x: Tensor, by y: Tensor) throws {
        try timed("multiply") { try base.multiply(x, by: y) }
    }

    public func dropoutMask(_ mask: Tensor, keepProbability: Float, scale: Float, generatorState: UInt64) throws {
        try timed("dropoutMask") {
            try base.dropoutMask(mask, keepProbability: keepProbability, scale: scale, generatorState: generatorState)
        }
    }
}

/// Accumulated time and call count per operation.
public struct OperationProfile: Sendable {
    public private(set) var seconds: [String: Double] = [:]
    public private(set) var calls: [String: Int] = [:]

    mutating func add(_ operation: String, seconds elapsed: Double) {
        seconds[operation, default: 0] += elapsed
        calls[operation, default: 0] += 1
    }

    public var totalSeconds: Double { seconds.values.reduce(0, +) }

    /// Operations by descending time: (name, seconds, share of the total, calls).
    public var ranked: [(operation: String, seconds: Double, share: Double, calls: Int)] {
        let total = max(totalSeconds, 1e-12)
        return seconds.sorted { $0.value > $1.value }.map { ($0.key, $0.value, $0.value / total, calls[$0.key] ?? 0) }
    }
}
