import Testing
@testable import CLTrain

/// Storage that belongs to no CPU backend, standing in for another device's buffer.
private final class ForeignStorage: TensorStorage {
    var elementCapacity: Int { 16 }
    var location: String { "elsewhere" }
}

@Suite("CPU reference rejects bad input")
struct CPUReferenceErrorTests {
    let backend = CPUBackend()

    func zeros(_ shape: [Int]) throws -> Tensor {
        try makeTensor(backend, shape, Array(repeating: 0, count: shape.reduce(1, *)))
    }

    @Test func gemmRejectsMismatchedShapes() throws {
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

    @Test func crossEntropyRejectsTargetsOutOfRange() throws {
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

    @Test func embeddingRejectsIndicesOutOfRange() throws {
        let table = try zeros([4, 3])
        let indices = try backend.makeIndices([1, 4])
        #expect(throws: CLTrainError.indexOutOfRange(operation: "embeddingForward", index: 4, position: 1, bound: 4)) {
            try backend.embeddingForward(table: table, indices: indices, output: try zeros([2, 3]))
        }
        #expect(throws: CLTrainError.indexOutOfRange(operation: "embeddingBackward", index: 4, position: 1, bound: 4)) {
            try backend.embeddingBackward(outputGradient: try zeros([2, 3]), indices: indices, tableGradient: table)
        }
    }

    @Test func failedOperationLeavesOutputsUntouched() throws {
        // The bad index comes last: the checks must run before any row is accumulated.
        let tableGradient = try makeTensor(backend, [4, 2], [1, 2, 3, 4, 5, 6, 7, 8])
        let outputGradient = try makeTensor(backend, [3, 2], [1, 1, 1, 1, 1, 1])
        #expect(throws: CLTrainError.self) {
            try backend.embeddingBackward(outputGradient: outputGradient, indices: try backend.makeIndices([0, 1, 9]),
                                          tableGradient: tableGradient)
        }
        #expect(try backend.download(tableGradient) == [1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test func uploadAndDownloadCheckCountAndType() throws {
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
    }

    @Test func elementwiseOperationsCheckCounts() throws {
        let (x, y) = (try zeros([2, 3]), try zeros([7]))
        expectShapeMismatch(in: "axpy") { try backend.axpy(alpha: 1, x, y) }
        expectShapeMismatch(in: "sgdUpdate") { try backend.sgdUpdate(parameter: x, gradient: y, learningRate: 1) }
        expectShapeMismatch(in: "copy") { try backend.copy(x, to: y) }
        expectShapeMismatch(in: "addBias") { try backend.addBias(y, to: x) }
        expectShapeMismatch(in: "lstmCellForward") {
            try backend.lstmCellForward(gates: try zeros([2, 6]), cellPrevious: try zeros([2, 2]),
                                        cell: try zeros([2, 2]), hidden: try zeros([2, 2]))
        }
    }

    @Test func foreignTensorIsRejected() throws {
        let foreign = Tensor(shape: [2, 3], elementType: .float32, storage: ForeignStorage())
        #expect(throws: CLTrainError.wrongDevice(operation: "scale", tensorLocation: "elsewhere", backend: "cpu")) {
            try backend.scale(foreign, by: 2)
        }
        #expect(throws: CLTrainError.wrongDevice(operation: "copy", tensorLocation: "elsewhere", backend: "cpu")) {
            try backend.copy(try zeros([6]), to: foreign)
        }
    }
}
