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

    /// A device that declines an operation (`supports` false) skips its cases with the reason; the
    /// run still succeeds (`cltrain verify`'s exit status), and other operations still run.
    @Test func aDeclinedOperationIsSkippedNotFailed() throws {
        let device = RecordingKernelBackend(declining: [.gemm])
        let gemm = try #require(Self.suite.cases.first { $0.name == "gemm 7×33×129 NN" })
        let skipped = gemm.run(reference: CPUBackend(), device: device)
        #expect(skipped.skipped == "gemm: not supported by recording; run it on a backend that supports it", "\(skipped)")
        #expect(!skipped.failed && !skipped.passed)
        #expect(skipped.tableRow.last == "SKIP")
        #expect(skipped.description.hasSuffix("SKIP: gemm: not supported by recording; run it on a backend that supports it"))

        let fill = try #require(Self.suite.cases.first { $0.operation == "fill" })
        let ran = fill.run(reference: CPUBackend(), device: device)
        #expect(ran.passed && ran.skipped == nil, "\(ran)")

        let report = VerificationReport(devices: [], reference: "cpu", host: .current, results: [skipped, ran])
        #expect((report.passed, report.failed, report.skipped) == (1, 0, 1))
        #expect(report.succeeded)
        // A real failure beside the skip still fails the run.
        let wrong = gemm.run(reference: CPUBackend(), device: FaultyBackend(.perturbGemm))
        let failing = VerificationReport(devices: [], reference: "cpu", host: .current, results: [skipped, wrong])
        #expect(failing.failed == 1 && !failing.succeeded)
    }

    @Test func everyOperationIsCoveredWithAndWithoutViews() {
        let operations = ["gemm", "addBias", "broadcastRows", "sumRows", "softmax", "softmaxCrossEntropy", "softmaxStatistics",
                          "softmaxCrossEntropyGradient", "lstmCellForward",
                          "lstmCellBackward", "embeddingForward", "embeddingBackward", "sgdUpdate",
                          "adamUpdate", "sumOfSquares", "fill", "copy", "scale", "axpy", "multiply", "dropoutMask"]
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
final class FaultyBackend: ForwardingBackend {
    enum Fault {
        case perturbGemm, throwFromGemm
        /// lstmCellBackward throws from its `call`-th call on (1-based), as a device failing mid-step.
        case failLSTMBackward(call: Int)
        /// softmaxStatistics or softmaxCrossEntropyGradient throws from its `call`-th call on: a
        /// softmax shard's device failing in the forward or the backward half of a run.
        case failSoftmaxStatistics(call: Int), failSoftmaxGradient(call: Int)
    }
    let fault: Fault
    let base: Backend = CPUBackend()
    private var lstmBackwardCalls = 0, statisticsCalls = 0, gradientCalls = 0

    init(_ fault: Fault) { self.fault = fault }

    var name: String { "faulty cpu" }

    func gemm(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor,
              beta: Float, _ c: Tensor) throws {
        try base.gemm(transposeA: transposeA, transposeB: transposeB, alpha: alpha, a, b, beta: beta, c)
        switch fault {
        case .throwFromGemm:
            throw CLTrainError.invalidArgument("gemm: injected failure")
        case .perturbGemm:
            var values = try base.download(c)
            values[11] *= 1.01   // a 1% error in one element
            try base.upload(values, to: c)
        case .failLSTMBackward, .failSoftmaxStatistics, .failSoftmaxGradient:
            break
        }
    }

    func lstmCellBackward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hiddenGradient: Tensor,
                          cellGradient: Tensor?, gatesGradient: Tensor, cellPreviousGradient: Tensor) throws {
        lstmBackwardCalls += 1
        if case .failLSTMBackward(let call) = fault, lstmBackwardCalls >= call {
            throw OpenCLError(call: "clEnqueueNDRangeKernel(lstm_cell_backward)", code: -5)   // CL_OUT_OF_RESOURCES
        }
        try base.lstmCellBackward(gates: gates, cellPrevious: cellPrevious, cell: cell, hiddenGradient: hiddenGradient,
                                  cellGradient: cellGradient, gatesGradient: gatesGradient,
                                  cellPreviousGradient: cellPreviousGradient)
    }

    func softmaxStatistics(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor, targetLogits: Tensor) throws {
        statisticsCalls += 1
        if case .failSoftmaxStatistics(let call) = fault, statisticsCalls >= call {
            throw OpenCLError(call: "clEnqueueNDRangeKernel(softmax_statistics)", code: -5)   // CL_OUT_OF_RESOURCES
        }
        try base.softmaxStatistics(logits: logits, targets: targets, maxima: maxima, sumExp: sumExp, targetLogits: targetLogits)
    }

    func softmaxCrossEntropyGradient(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                     gradientScale: Float, gradient: Tensor) throws {
        gradientCalls += 1
        if case .failSoftmaxGradient(let call) = fault, gradientCalls >= call {
            throw OpenCLError(call: "clEnqueueNDRangeKernel(softmax_cross_entropy_gradient)", code: -5)
        }
        try base.softmaxCrossEntropyGradient(logits: logits, targets: targets, logNormalizers: logNormalizers,
                                             gradientScale: gradientScale, gradient: gradient)
    }
}
