import Testing
@testable import CLTrain

@Suite("Verification suite")
struct VerificationSuiteTests {
    static let suite = VerificationSuite.standard

    /// Both runs of a case draw the same inputs, so the CPU against itself agrees exactly; this also
    /// runs every case (views and in-place variants included) through the reference backend.
    @Test(arguments: suite.cases)
    func theCPUAgreesWithItself(verificationCase: VerificationCase) {
        let result = verificationCase.run(reference: CPUBackend(), device: CPUBackend())
        #expect(result.passed, "\(result)")
        #expect(result.maxAbsError == 0, "\(result)")
    }

    @Test func aWrongGemmElementFailsTheCase() throws {
        let gemm = try #require(Self.suite.cases.first { $0.name == "gemm 7×33×129 NN" })
        let result = gemm.run(reference: CPUBackend(), device: FaultyBackend(.perturbGemm))
        #expect(!result.passed)
        #expect(result.message?.hasPrefix("C: element 11 is") == true, "\(result)")
        #expect(result.device == "faulty cpu")
    }

    @Test func aThrowingDeviceIsAFailureWithTheMessage() throws {
        let gemm = try #require(Self.suite.cases.first { $0.name == "gemm 7×33×129 NN" })
        let result = gemm.run(reference: CPUBackend(), device: FaultyBackend(.throwFromGemm))
        #expect(!result.passed)
        #expect(result.message == "threw: gemm: injected failure")
        #expect(result.maxAbsError == nil)
    }

    @Test func everyOperationIsCoveredWithAndWithoutViews() {
        let operations = ["gemm", "addBias", "sumRows", "softmax", "softmaxCrossEntropy", "softmaxStatistics",
                          "softmaxCrossEntropyGradient", "lstmCellForward",
                          "lstmCellBackward", "embeddingForward", "embeddingBackward", "sgdUpdate",
                          "adamUpdate", "sumOfSquares", "fill", "copy", "scale", "axpy", "multiply"]
        #expect(Set(Self.suite.cases.map(\.operation)) == Set(operations))
        for operation in operations {
            #expect(Self.suite.cases.contains { $0.operation == operation && $0.usesViews }, "\(operation) has no view case")
        }
    }

    @Test func caseNamesAreUniqueSoEachHasItsOwnSeed() {
        let names = Self.suite.cases.map(\.name)
        #expect(Set(names).count == names.count)
    }

    @Test func theFilterMatchesSubstringsAndXForTimes() {
        let selected = Self.suite.filtered(by: "GEMM 128x4000x2000").cases.map(\.shape)
        #expect(selected == ["128×4000×2000 NN", "128×4000×2000 NT", "128×4000×2000 TN", "128×4000×2000 TT"])
        #expect(Self.suite.filtered(by: nil).cases.count == Self.suite.cases.count)
        #expect(Self.suite.filtered(by: "no such case").cases.isEmpty)
    }

    @Test func splitMix64MatchesTheReferenceSequence() {
        // The first outputs of Vigna's splitmix64.c seeded with 0. (Qualified: the test target's
        // TestSupport.swift has a copy of the same generator that shadows the library's.)
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xe220_a839_7b1d_cdaf)
        #expect(generator.next() == 0x6e78_9e6a_a1b9_65f4)
        let values = generator.floats(10_000)
        #expect(values.allSatisfy { $0 >= -1 && $0 < 1 })
        #expect(values.contains { $0 < -0.99 } && values.contains { $0 > 0.99 })
    }
}

/// The CPU backend with one fault injected: a test double showing that checks can fail.
final class FaultyBackend: Backend {
    enum Fault {
        case perturbGemm, throwFromGemm
        /// lstmCellBackward throws from its `call`-th call on (1-based), as a device failing mid-step.
        case failLSTMBackward(call: Int)
    }
    let fault: Fault
    let inner = CPUBackend()
    private var lstmBackwardCalls = 0

    init(_ fault: Fault) { self.fault = fault }

    var name: String { "faulty cpu" }

    func gemm(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor,
              beta: Float, _ c: Tensor) throws {
        switch fault {
        case .throwFromGemm: throw CLTrainError.invalidArgument("gemm: injected failure")
        case .failLSTMBackward: return try inner.gemm(transposeA: transposeA, transposeB: transposeB, alpha: alpha, a, b, beta: beta, c)
        case .perturbGemm: break
        }
        try inner.gemm(transposeA: transposeA, transposeB: transposeB, alpha: alpha, a, b, beta: beta, c)
        var values = try inner.download(c)
        values[11] *= 1.01   // a 1% error in one element
        try inner.upload(values, to: c)
    }

    func makeTensor(shape: [Int], elementType: ElementType) throws -> Tensor {
        try inner.makeTensor(shape: shape, elementType: elementType)
    }
    func upload(_ values: [Float], to tensor: Tensor) throws { try inner.upload(values, to: tensor) }
    func download(_ tensor: Tensor) throws -> [Float] { try inner.download(tensor) }
    func makeIndices(_ values: [Int32]) throws -> IndexTensor { try inner.makeIndices(values) }
    func synchronize() throws { try inner.synchronize() }
    func addBias(_ bias: Tensor, to x: Tensor) throws { try inner.addBias(bias, to: x) }
    func sumRows(_ x: Tensor, into out: Tensor, beta: Float) throws { try inner.sumRows(x, into: out, beta: beta) }
    func softmax(_ x: Tensor, into y: Tensor) throws { try inner.softmax(x, into: y) }
    func softmaxCrossEntropy(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32, losses: Tensor,
                             gradient: Tensor?, gradientScale: Float) throws {
        try inner.softmaxCrossEntropy(logits: logits, targets: targets, ignoreIndex: ignoreIndex, losses: losses,
                                      gradient: gradient, gradientScale: gradientScale)
    }
    func softmaxStatistics(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor, targetLogits: Tensor) throws {
        try inner.softmaxStatistics(logits: logits, targets: targets, maxima: maxima, sumExp: sumExp, targetLogits: targetLogits)
    }
    func softmaxCrossEntropyGradient(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                     gradientScale: Float, gradient: Tensor) throws {
        try inner.softmaxCrossEntropyGradient(logits: logits, targets: targets, logNormalizers: logNormalizers,
                                              gradientScale: gradientScale, gradient: gradient)
    }
    func lstmCellForward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor) throws {
        try inner.lstmCellForward(gates: gates, cellPrevious: cellPrevious, cell: cell, hidden: hidden)
    }
    func lstmCellBackward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hiddenGradient: Tensor,
                          cellGradient: Tensor?, gatesGradient: Tensor, cellPreviousGradient: Tensor) throws {
        lstmBackwardCalls += 1
        if case .failLSTMBackward(let call) = fault, lstmBackwardCalls >= call {
            throw OpenCLError(call: "clEnqueueNDRangeKernel(lstm_cell_backward)", code: -5)   // CL_OUT_OF_RESOURCES
        }
        try inner.lstmCellBackward(gates: gates, cellPrevious: cellPrevious, cell: cell,
                                   hiddenGradient: hiddenGradient, cellGradient: cellGradient,
                                   gatesGradient: gatesGradient, cellPreviousGradient: cellPreviousGradient)
    }
    func embeddingForward(table: Tensor, indices: IndexTensor, output: Tensor) throws {
        try inner.embeddingForward(table: table, indices: indices, output: output)
    }
    func embeddingBackward(outputGradient: Tensor, indices: IndexTensor, tableGradient: Tensor) throws {
        try inner.embeddingBackward(outputGradient: outputGradient, indices: indices, tableGradient: tableGradient)
    }
    func sgdUpdate(parameter: Tensor, gradient: Tensor, learningRate: Float) throws {
        try inner.sgdUpdate(parameter: parameter, gradient: gradient, learningRate: learningRate)
    }
    func adamUpdate(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
                    learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, step: Int) throws {
        try inner.adamUpdate(parameter: parameter, gradient: gradient, firstMoment: firstMoment,
                             secondMoment: secondMoment, learningRate: learningRate, beta1: beta1,
                             beta2: beta2, epsilon: epsilon, step: step)
    }
    func sumOfSquares(_ tensors: [Tensor]) throws -> Double { try inner.sumOfSquares(tensors) }
    func fill(_ tensor: Tensor, with value: Float) throws { try inner.fill(tensor, with: value) }
    func copy(_ source: Tensor, to destination: Tensor) throws { try inner.copy(source, to: destination) }
    func scale(_ tensor: Tensor, by factor: Float) throws { try inner.scale(tensor, by: factor) }
    func axpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws { try inner.axpy(alpha: alpha, x, y) }
    func multiply(_ x: Tensor, by y: Tensor) throws { try inner.multiply(x, by: y) }
}
