import Testing
@testable import CLTrain

/// A new float32 tensor of `shape` holding `values`.
func makeTensor(_ backend: Backend, _ shape: [Int], _ values: [Float]) throws -> Tensor {
    let tensor = try backend.makeTensor(shape: shape, elementType: .float32)
    try backend.upload(values, to: tensor)
    return tensor
}

/// A new float32 tensor of `shape` with random values in [-scale, scale], and those values.
func makeRandomTensor(_ backend: Backend, _ shape: [Int], _ random: inout SplitMix64,
                      scale: Float = 1) throws -> (tensor: Tensor, values: [Float]) {
    let values = random.floats(shape.reduce(1, *), scale: scale)
    return (try makeTensor(backend, shape, values), values)
}

/// Checks `actual[i]` against `reference[i]` with the one rule |actual − reference| ≤ atol + rtol·|reference|,
/// skipping elements whose reference is not finite; reports how many differ and the first few.
func expectClose(_ actual: [Float], _ reference: [Double], atol: Double, rtol: Double,
                 _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    expectWithin(actual, reference, bounds: reference.map { atol + rtol * abs($0) }, what,
                 sourceLocation: sourceLocation)
}

/// Checks |actual[i] − reference[i]| ≤ bounds[i], skipping elements whose reference is not finite.
func expectWithin(_ actual: [Float], _ reference: [Double], bounds: [Double],
                  _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == reference.count, "\(what): \(actual.count) values, \(reference.count) expected",
            sourceLocation: sourceLocation)
    var failures: [String] = []
    for i in 0..<min(actual.count, reference.count) where reference[i].isFinite {
        if !(abs(Double(actual[i]) - reference[i]) <= bounds[i]) {
            failures.append("[\(i)] \(actual[i]) vs \(reference[i]) (bound \(bounds[i]))")
        }
    }
    #expect(failures.isEmpty,
            "\(what): \(failures.count) of \(actual.count) out of bounds: \(failures.prefix(5).joined(separator: ", "))",
            sourceLocation: sourceLocation)
}

/// Expects `body` to throw `CLTrainError.shapeMismatch` from `operation` (the detail text is not compared).
func expectShapeMismatch(in operation: String, sourceLocation: SourceLocation = #_sourceLocation,
                         _ body: () throws -> Void) {
    let error = #expect(throws: CLTrainError.self, sourceLocation: sourceLocation) { try body() }
    guard let error else { return }
    if case .shapeMismatch(operation, _) = error { return }
    Issue.record("expected shapeMismatch in \(operation), got \(error)", sourceLocation: sourceLocation)
}

/// A backend that hands every operation to `base`: test doubles conform and replace only the
/// operations they change (a fault, a counter).
protocol ForwardingBackend: Backend {
    var base: Backend { get }
}

extension ForwardingBackend {
    func makeTensor(shape: [Int], elementType: ElementType) throws -> Tensor { try base.makeTensor(shape: shape, elementType: elementType) }
    func upload(_ values: [Float], to tensor: Tensor) throws { try base.upload(values, to: tensor) }
    func download(_ tensor: Tensor) throws -> [Float] { try base.download(tensor) }
    func makeIndices(_ values: [Int32]) throws -> IndexTensor { try base.makeIndices(values) }
    func uploadIndices(_ values: [Int32], into indices: IndexTensor) throws { try base.uploadIndices(values, into: indices) }
    func synchronize() throws { try base.synchronize() }
    func stage(_ tensor: Tensor) throws -> HostStagedTensor { try base.stage(tensor) }
    func uploadStaged(_ staged: HostStagedTensor, to tensor: Tensor) throws { try base.uploadStaged(staged, to: tensor) }
    func makeCollectiveBuffer(count: Int) throws -> CollectiveBuffer { try base.makeCollectiveBuffer(count: count) }
    func read(_ tensor: Tensor, into buffer: CollectiveBuffer, at offset: Int) throws { try base.read(tensor, into: buffer, at: offset) }
    func write(_ buffer: CollectiveBuffer, at offset: Int, to tensor: Tensor) throws { try base.write(buffer, at: offset, to: tensor) }
    func gemm(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor, beta: Float, _ c: Tensor) throws {
        try base.gemm(transposeA: transposeA, transposeB: transposeB, alpha: alpha, a, b, beta: beta, c)
    }
    func addBias(_ bias: Tensor, to x: Tensor) throws { try base.addBias(bias, to: x) }
    func broadcastRows(_ row: Tensor, into x: Tensor) throws { try base.broadcastRows(row, into: x) }
    func sumRows(_ x: Tensor, into out: Tensor, beta: Float) throws { try base.sumRows(x, into: out, beta: beta) }
    func softmax(_ x: Tensor, into y: Tensor) throws { try base.softmax(x, into: y) }
    func softmaxCrossEntropy(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32, losses: Tensor,
                             gradient: Tensor?, gradientScale: Float) throws {
        try base.softmaxCrossEntropy(logits: logits, targets: targets, ignoreIndex: ignoreIndex, losses: losses,
                                     gradient: gradient, gradientScale: gradientScale)
    }
    func softmaxStatistics(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor, targetLogits: Tensor) throws {
        try base.softmaxStatistics(logits: logits, targets: targets, maxima: maxima, sumExp: sumExp, targetLogits: targetLogits)
    }
    func softmaxCrossEntropyGradient(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                     gradientScale: Float, gradient: Tensor) throws {
        try base.softmaxCrossEntropyGradient(logits: logits, targets: targets, logNormalizers: logNormalizers,
                                             gradientScale: gradientScale, gradient: gradient)
    }
    func lstmCellForward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor) throws {
        try base.lstmCellForward(gates: gates, cellPrevious: cellPrevious, cell: cell, hidden: hidden)
    }
    func lstmCellBackward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hiddenGradient: Tensor, cellGradient: Tensor?,
                          gatesGradient: Tensor, cellPreviousGradient: Tensor) throws {
        try base.lstmCellBackward(gates: gates, cellPrevious: cellPrevious, cell: cell, hiddenGradient: hiddenGradient,
                                  cellGradient: cellGradient, gatesGradient: gatesGradient, cellPreviousGradient: cellPreviousGradient)
    }
    func embeddingForward(table: Tensor, indices: IndexTensor, output: Tensor) throws {
        try base.embeddingForward(table: table, indices: indices, output: output)
    }
    func embeddingBackward(outputGradient: Tensor, indices: IndexTensor, tableGradient: Tensor) throws {
        try base.embeddingBackward(outputGradient: outputGradient, indices: indices, tableGradient: tableGradient)
    }
    func sgdUpdate(parameter: Tensor, gradient: Tensor, learningRate: Float) throws {
        try base.sgdUpdate(parameter: parameter, gradient: gradient, learningRate: learningRate)
    }
    func adamUpdate(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
                    learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, step: Int) throws {
        try base.adamUpdate(parameter: parameter, gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment,
                            learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, step: step)
    }
    func sumOfSquares(_ tensors: [Tensor]) throws -> Double { try base.sumOfSquares(tensors) }
    func fill(_ tensor: Tensor, with value: Float) throws { try base.fill(tensor, with: value) }
    func copy(_ source: Tensor, to destination: Tensor) throws { try base.copy(source, to: destination) }
    func scale(_ tensor: Tensor, by factor: Float) throws { try base.scale(tensor, by: factor) }
    func axpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws { try base.axpy(alpha: alpha, x, y) }
    func multiply(_ x: Tensor, by y: Tensor) throws { try base.multiply(x, by: y) }
    func dropoutMask(_ mask: Tensor, keepProbability: Float, scale: Float, generatorState: UInt64) throws {
        try base.dropoutMask(mask, keepProbability: keepProbability, scale: scale, generatorState: generatorState)
    }
}
