import Testing
@testable import CLTrain

/// Storage that belongs to no backend, standing in for another device's buffer.
private final class ForeignStorage: TensorStorage {
    var elementCapacity: Int { 16 }
    var location: String { "elsewhere" }
}

/// A backend the error paths run on: the CPU reference, or OpenCL device `index`.
enum BackendUnderTest: Sendable, CustomTestStringConvertible {
    case cpu
    case openCL(Int)

    /// Every OpenCL device present; none without a platform.
    static var openCLDevices: [BackendUnderTest] { DeviceRegistry.shared.openCLDevices.map { .openCL($0.index) } }

    func make() throws -> Backend {
        switch self {
        case .cpu: CPUBackend()
        case .openCL(let index): try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: index))
        }
    }

    var testDescription: String {
        switch self {
        case .cpu: "cpu"
        case .openCL(let index): "opencl:\(index)"
        }
    }
}

/// The Backend contract's error paths, each a function of the backend, so that bad input is shown
/// to fail the same way — same error, before any output is written — on every backend.
@Suite("Every backend rejects bad input")
struct BackendErrorTests {
    @Test(arguments: BackendErrorPath.allCases)
    func onTheCPUBackend(_ path: BackendErrorPath) throws {
        try path.run(on: CPUBackend())
    }

    @Test(.enabled(if: !BackendUnderTest.openCLDevices.isEmpty,
                   "no OpenCL platform: the error paths ran on the CPU backend only"),
          arguments: BackendErrorPath.allCases, BackendUnderTest.openCLDevices)
    func onEveryOpenCLDevice(_ path: BackendErrorPath, _ device: BackendUnderTest) throws {
        try path.run(on: device.make())
    }
}

enum BackendErrorPath: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case gemmRejectsMismatchedShapes
    case crossEntropyRejectsTargetsOutOfRange
    case embeddingRejectsIndicesOutOfRange
    case failedOperationLeavesOutputsUntouched
    case uploadAndDownloadCheckCountAndType
    case elementwiseOperationsCheckCounts
    case shardSoftmaxLSTMAndEmbeddingCheckShapes
    case optimizerAndMaskArgumentsAreChecked
    case wrongElementTypeIsNamed
    case foreignTensorIsRejected
    case everyOperationRefusesAForeignTensor

    var testDescription: String { rawValue }

    func run(on backend: Backend) throws {
        let paths = ErrorPaths(backend: backend)
        switch self {
        case .gemmRejectsMismatchedShapes: try paths.gemmRejectsMismatchedShapes()
        case .crossEntropyRejectsTargetsOutOfRange: try paths.crossEntropyRejectsTargetsOutOfRange()
        case .embeddingRejectsIndicesOutOfRange: try paths.embeddingRejectsIndicesOutOfRange()
        case .failedOperationLeavesOutputsUntouched: try paths.failedOperationLeavesOutputsUntouched()
        case .uploadAndDownloadCheckCountAndType: try paths.uploadAndDownloadCheckCountAndType()
        case .elementwiseOperationsCheckCounts: try paths.elementwiseOperationsCheckCounts()
        case .shardSoftmaxLSTMAndEmbeddingCheckShapes: try paths.shardSoftmaxLSTMAndEmbeddingCheckShapes()
        case .optimizerAndMaskArgumentsAreChecked: try paths.optimizerAndMaskArgumentsAreChecked()
        case .wrongElementTypeIsNamed: try paths.wrongElementTypeIsNamed()
        case .foreignTensorIsRejected: try paths.foreignTensorIsRejected()
        case .everyOperationRefusesAForeignTensor: try paths.everyOperationRefusesAForeignTensor()
        }
    }
}

/// The bodies of `BackendErrorPath`, on one backend.
private struct ErrorPaths {
    let backend: Backend

    func zeros(_ shape: [Int]) throws -> Tensor {
        try makeTensor(backend, shape, Array(repeating: 0, count: shape.reduce(1, *)))
    }

    func foreign(_ shape: [Int], _ elementType: ElementType = .float32) -> Tensor {
        Tensor(shape: shape, elementType: elementType, storage: ForeignStorage())
    }

    func gemmRejectsMismatchedShapes() throws {
        let (a, b, c) = (try zeros([3, 4]), try zeros([4, 2]), try zeros([3, 2]))
        // Inner dimensions 4 and 5.
        expectShapeMismatch(in: "gemm") {
            try backend.gemm(transposeA: false, transposeB: false, alpha: 1, a, try zeros([5, 2]), beta: 0, c)
        }
        // Transposing A makes the inner dimension 3.
        expectShapeMismatch(in: "gemm") {
            try backend.gemm(transposeA: true, transposeB: false, alpha: 1, a, b, beta: 0, c)
        }
        // C must be 3×2.
        expectShapeMismatch(in: "gemm") {
            try backend.gemm(transposeA: false, transposeB: false, alpha: 1, a, b, beta: 0, try zeros([2, 3]))
        }
        // A must be a matrix.
        expectShapeMismatch(in: "gemm") {
            try backend.gemm(transposeA: false, transposeB: false, alpha: 1, try zeros([12]), b, beta: 0, c)
        }
        // A 3-d C has the right element count but is not a matrix.
        expectShapeMismatch(in: "gemm") {
            try backend.gemm(transposeA: false, transposeB: false, alpha: 1, a, b, beta: 0, try zeros([3, 2, 1]))
        }
    }

    func crossEntropyRejectsTargetsOutOfRange() throws {
        let logits = try zeros([3, 5])
        let losses = try zeros([3])
        #expect(throws: CLTrainError.indexOutOfRange(operation: "softmaxCrossEntropy", index: 5, position: 2, bound: 5)) {
            try backend.softmaxCrossEntropy(logits: logits, targets: try backend.makeIndices([0, 4, 5]), ignoreIndex: -100,
                                            losses: losses, gradient: nil, gradientScale: 1)
        }
        // Negative but not the ignore index.
        #expect(throws: CLTrainError.indexOutOfRange(operation: "softmaxCrossEntropy", index: -1, position: 1, bound: 5)) {
            try backend.softmaxCrossEntropy(logits: logits, targets: try backend.makeIndices([-100, -1, 0]), ignoreIndex: -100,
                                            losses: losses, gradient: nil, gradientScale: 1)
        }
        expectShapeMismatch(in: "softmaxCrossEntropy") {
            try backend.softmaxCrossEntropy(logits: logits, targets: try backend.makeIndices([0, 1]), ignoreIndex: -100,
                                            losses: losses, gradient: nil, gradientScale: 1)
        }
    }

    func embeddingRejectsIndicesOutOfRange() throws {
        let table = try zeros([4, 3])
        let indices = try backend.makeIndices([1, 4])
        #expect(throws: CLTrainError.indexOutOfRange(operation: "embeddingForward", index: 4, position: 1, bound: 4)) {
            try backend.embeddingForward(table: table, indices: indices, output: try zeros([2, 3]))
        }
        #expect(throws: CLTrainError.indexOutOfRange(operation: "embeddingBackward", index: 4, position: 1, bound: 4)) {
            try backend.embeddingBackward(outputGradient: try zeros([2, 3]), indices: indices, tableGradient: table)
        }
    }

    func failedOperationLeavesOutputsUntouched() throws {
        // The bad index comes last: the checks must run before any row is accumulated.
        let tableGradient = try makeTensor(backend, [4, 2], [1, 2, 3, 4, 5, 6, 7, 8])
        let outputGradient = try makeTensor(backend, [3, 2], [1, 1, 1, 1, 1, 1])
        #expect(throws: CLTrainError.self) {
            try backend.embeddingBackward(outputGradient: outputGradient, indices: try backend.makeIndices([0, 1, 9]),
                                          tableGradient: tableGradient)
        }
        #expect(try backend.download(tableGradient) == [1, 2, 3, 4, 5, 6, 7, 8])
        // Losses and gradient keep their values when the last target is out of range.
        let logits = try makeTensor(backend, [2, 2], [1, 2, 3, 4])
        let losses = try makeTensor(backend, [2], [7, 7])
        #expect(throws: CLTrainError.self) {
            try backend.softmaxCrossEntropy(logits: logits, targets: try backend.makeIndices([0, 2]), ignoreIndex: -100,
                                            losses: losses, gradient: logits, gradientScale: 1)
        }
        #expect(try backend.download(losses) == [7, 7])
        #expect(try backend.download(logits) == [1, 2, 3, 4])
    }

    func uploadAndDownloadCheckCountAndType() throws {
        let x = try zeros([2, 3])
        expectShapeMismatch(in: "upload") { try backend.upload([1, 2, 3, 4, 5], to: x) }
        expectShapeMismatch(in: "upload") { try backend.upload([1, 2, 3, 4, 5, 6, 7], to: x) }
        let ints = try backend.makeTensor(shape: [6], elementType: .int32)
        #expect(throws: CLTrainError.wrongElementType(operation: "upload", expected: .float32, got: .int32)) {
            try backend.upload([1, 2, 3, 4, 5, 6], to: ints)
        }
        #expect(throws: CLTrainError.wrongElementType(operation: "download", expected: .float32, got: .int32)) {
            _ = try backend.download(ints)
        }
        #expect(throws: CLTrainError.self) { _ = try backend.makeTensor(shape: [2, -1], elementType: .float32) }
        #expect(throws: CLTrainError.self) { _ = try backend.makeTensor(shape: [Int.max, 2], elementType: .float32) }
    }

    func elementwiseOperationsCheckCounts() throws {
        let (x, y) = (try zeros([2, 3]), try zeros([7]))
        expectShapeMismatch(in: "axpy") { try backend.axpy(alpha: 1, x, y) }
        expectShapeMismatch(in: "sgdUpdate") { try backend.sgdUpdate(parameter: x, gradient: y, learningRate: 1) }
        expectShapeMismatch(in: "copy") { try backend.copy(x, to: y) }
        expectShapeMismatch(in: "addBias") { try backend.addBias(y, to: x) }
        expectShapeMismatch(in: "broadcastRows") { try backend.broadcastRows(y, into: x) }
        // multiply wants one shape, not only one count.
        expectShapeMismatch(in: "multiply") { try backend.multiply(x, by: try zeros([3, 2])) }
        expectShapeMismatch(in: "lstmCellForward") {
            try backend.lstmCellForward(gates: try zeros([2, 6]), cellPrevious: try zeros([2, 2]),
                                        cell: try zeros([2, 2]), hidden: try zeros([2, 2]))
        }
    }

    func shardSoftmaxLSTMAndEmbeddingCheckShapes() throws {
        let logits = try zeros([2, 3])
        let targets = try backend.makeIndices([0, 7])   // 7: another shard's target, allowed here
        expectShapeMismatch(in: "softmaxStatistics") {
            try backend.softmaxStatistics(logits: logits, targets: targets, maxima: try zeros([3]), sumExp: try zeros([2]),
                                          targetLogits: try zeros([2]))
        }
        expectShapeMismatch(in: "softmaxCrossEntropyGradient") {
            try backend.softmaxCrossEntropyGradient(logits: logits, targets: targets, logNormalizers: try zeros([2]),
                                                    gradientScale: 1, gradient: try zeros([3, 2]))
        }
        expectShapeMismatch(in: "softmaxCrossEntropyGradient") {
            try backend.softmaxCrossEntropyGradient(logits: logits, targets: try backend.makeIndices([0, 1, 2]),
                                                    logNormalizers: try zeros([2]), gradientScale: 1, gradient: logits)
        }
        expectShapeMismatch(in: "softmax") { try backend.softmax(logits, into: try zeros([3, 2])) }
        expectShapeMismatch(in: "sumRows") { try backend.sumRows(logits, into: try zeros([2]), beta: 0) }
        let (gates, state) = (try zeros([1, 8]), try zeros([1, 2]))
        expectShapeMismatch(in: "lstmCellBackward") {
            try backend.lstmCellBackward(gates: gates, cellPrevious: state, cell: state, hiddenGradient: state,
                                         cellGradient: nil, gatesGradient: try zeros([1, 4]), cellPreviousGradient: state)
        }
        expectShapeMismatch(in: "lstmCellBackward") {
            try backend.lstmCellBackward(gates: gates, cellPrevious: state, cell: state, hiddenGradient: state,
                                         cellGradient: try zeros([2, 2]), gatesGradient: gates, cellPreviousGradient: state)
        }
        expectShapeMismatch(in: "embeddingForward") {
            try backend.embeddingForward(table: try zeros([4, 2]), indices: try backend.makeIndices([0, 1]),
                                         output: try zeros([3, 2]))
        }
    }

    func optimizerAndMaskArgumentsAreChecked() throws {
        let parameter = try makeTensor(backend, [2], [1, 2])
        let (gradient, m, v) = (try zeros([2]), try zeros([2]), try zeros([2]))
        #expect(throws: CLTrainError.invalidArgument("adamUpdate: step must be at least 1, got 0")) {
            try backend.adamUpdate(parameter: parameter, gradient: gradient, firstMoment: m, secondMoment: v,
                                   learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 0)
        }
        expectShapeMismatch(in: "adamUpdate") {
            try backend.adamUpdate(parameter: parameter, gradient: gradient, firstMoment: m, secondMoment: try zeros([1, 2]),
                                   learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 1)
        }
        #expect(try backend.download(parameter) == [1, 2])
        for (keep, scale) in [(Float(0), Float(1)), (1.5, 1), (0.5, .infinity), (.nan, 2)] {
            let error = #expect(throws: CLTrainError.self) {
                try backend.dropoutMask(parameter, keepProbability: keep, scale: scale, generatorState: 1)
            }
            #expect(error.map { "\($0)" }?.hasPrefix("dropoutMask: keep probability must be in (0, 1]") == true)
        }
        #expect(try backend.download(parameter) == [1, 2])
    }

    func wrongElementTypeIsNamed() throws {
        let ints = try backend.makeTensor(shape: [2, 2], elementType: .int32)
        let floats = try zeros([2, 2])
        #expect(throws: CLTrainError.wrongElementType(operation: "gemm", expected: .float32, got: .int32)) {
            try backend.gemm(transposeA: false, transposeB: false, alpha: 1, floats, ints, beta: 0, floats)
        }
        #expect(throws: CLTrainError.wrongElementType(operation: "fill", expected: .float32, got: .int32)) {
            try backend.fill(ints, with: 1)
        }
        #expect(throws: CLTrainError.wrongElementType(operation: "sumOfSquares", expected: .float32, got: .int32)) {
            _ = try backend.sumOfSquares([floats, ints])
        }
        #expect(throws: CLTrainError.wrongElementType(operation: "copy", expected: .float32, got: .int32)) {
            try backend.copy(floats, to: ints)
        }
    }

    func foreignTensorIsRejected() throws {
        let stranger = foreign([2, 3])
        #expect(throws: CLTrainError.wrongDevice(operation: "scale", tensorLocation: "elsewhere", backend: backend.name)) {
            try backend.scale(stranger, by: 2)
        }
        #expect(throws: CLTrainError.wrongDevice(operation: "copy", tensorLocation: "elsewhere", backend: backend.name)) {
            try backend.copy(try zeros([6]), to: stranger)
        }
        #expect(throws: CLTrainError.wrongDevice(operation: "upload", tensorLocation: "elsewhere", backend: backend.name)) {
            try backend.upload([1, 2, 3, 4, 5, 6], to: stranger)
        }
        #expect(throws: CLTrainError.wrongDevice(operation: "download", tensorLocation: "elsewhere", backend: backend.name)) {
            _ = try backend.download(stranger)
        }
        // Indices of another backend, too.
        let strangerIndices = IndexTensor(values: [0, 1], tensor: foreign([2], .int32))
        #expect(throws: CLTrainError.wrongDevice(operation: "embeddingForward", tensorLocation: "elsewhere",
                                                  backend: backend.name)) {
            try backend.embeddingForward(table: try zeros([2, 2]), indices: strangerIndices, output: try zeros([2, 2]))
        }
        // A real tensor of the other kind of backend: an OpenCL one on the CPU, a CPU one on OpenCL.
        let other: Backend? = backend is CPUBackend ? try BackendUnderTest.openCLDevices.first?.make() : CPUBackend()
        if let other {
            let theirs = try other.makeTensor(shape: [2, 2], elementType: .float32)
            #expect(throws: CLTrainError.wrongDevice(operation: "gemm", tensorLocation: theirs.location, backend: backend.name)) {
                try backend.gemm(transposeA: false, transposeB: false, alpha: 1, try zeros([2, 2]), theirs, beta: 0,
                                 try zeros([2, 2]))
            }
        }
    }

    /// Each operation with well-shaped operands of which exactly one is foreign: every one refuses
    /// it, naming itself, the tensor's place and the backend.
    func everyOperationRefusesAForeignTensor() throws {
        let indices = try backend.makeIndices([0, 1])
        func matrix() throws -> Tensor { try zeros([2, 2]) }
        func vector() throws -> Tensor { try zeros([2]) }
        func state() throws -> Tensor { try zeros([1, 2]) }
        for operation in BackendOperation.allCases {
            let call: () throws -> Void
            switch operation {
            case .gemm:
                call = { try backend.gemm(transposeA: false, transposeB: true, alpha: 1, try matrix(), foreign([2, 2]),
                                          beta: 1, try matrix()) }
            case .addBias: call = { try backend.addBias(foreign([2]), to: try matrix()) }
            case .broadcastRows: call = { try backend.broadcastRows(try vector(), into: foreign([2, 2])) }
            case .sumRows: call = { try backend.sumRows(try matrix(), into: foreign([2]), beta: 0) }
            case .softmax: call = { try backend.softmax(try matrix(), into: foreign([2, 2])) }
            case .softmaxCrossEntropy:
                call = { try backend.softmaxCrossEntropy(logits: try matrix(), targets: indices, ignoreIndex: -100,
                                                         losses: try vector(), gradient: foreign([2, 2]), gradientScale: 1) }
            case .softmaxStatistics:
                call = { try backend.softmaxStatistics(logits: try matrix(), targets: indices, maxima: try vector(),
                                                       sumExp: foreign([2]), targetLogits: try vector()) }
            case .softmaxCrossEntropyGradient:
                call = { try backend.softmaxCrossEntropyGradient(logits: foreign([2, 2]), targets: indices,
                                                                 logNormalizers: try vector(), gradientScale: 1,
                                                                 gradient: try matrix()) }
            case .lstmCellForward:
                call = { try backend.lstmCellForward(gates: try zeros([1, 8]), cellPrevious: try state(), cell: try state(),
                                                     hidden: foreign([1, 2])) }
            case .lstmCellBackward:
                call = { try backend.lstmCellBackward(gates: try zeros([1, 8]), cellPrevious: try state(), cell: try state(),
                                                      hiddenGradient: try state(), cellGradient: foreign([1, 2]),
                                                      gatesGradient: try zeros([1, 8]), cellPreviousGradient: try state()) }
            case .embeddingForward:
                call = { try backend.embeddingForward(table: foreign([2, 2]), indices: indices, output: try matrix()) }
            case .embeddingBackward:
                call = { try backend.embeddingBackward(outputGradient: try matrix(), indices: indices,
                                                       tableGradient: foreign([2, 2])) }
            case .sgdUpdate: call = { try backend.sgdUpdate(parameter: try vector(), gradient: foreign([2]), learningRate: 1) }
            case .adamUpdate:
                call = { try backend.adamUpdate(parameter: try vector(), gradient: try vector(), firstMoment: try vector(),
                                                secondMoment: foreign([2]), learningRate: 0.1, beta1: 0.9, beta2: 0.999,
                                                epsilon: 1e-8, step: 1) }
            case .sumOfSquares: call = { _ = try backend.sumOfSquares([try vector(), foreign([2])]) }
            case .fill: call = { try backend.fill(foreign([2]), with: 1) }
            case .copy: call = { try backend.copy(foreign([2]), to: try vector()) }
            case .scale: call = { try backend.scale(foreign([2]), by: 2) }
            case .axpy: call = { try backend.axpy(alpha: 1, try vector(), foreign([2])) }
            case .multiply: call = { try backend.multiply(try vector(), by: foreign([2])) }
            case .dropoutMask: call = { try backend.dropoutMask(foreign([2]), keepProbability: 0.5, scale: 2, generatorState: 1) }
            }
            #expect(throws: CLTrainError.wrongDevice(operation: operation.rawValue, tensorLocation: "elsewhere",
                                                      backend: backend.name), "\(operation)") { try call() }
        }
    }
}
