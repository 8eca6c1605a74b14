import Foundation

/// Operand checks of the checked front (`KernelBackend+Checks`), the same for every backend, so
/// that bad input fails the same way everywhere and before any work is enqueued. Each returns the
/// dimensions the kernels need. (Ownership and `supports` are the front's own checks.)
enum OperationChecks {
    struct GemmDimensions: Equatable { let m, n, k: Int }

    static func float32(_ tensors: [Tensor], _ operation: String) throws {
        for t in tensors where t.elementType != .float32 {
            throw CLTrainError.wrongElementType(operation: operation, expected: .float32, got: t.elementType)
        }
    }

    static func matrix(_ t: Tensor, _ name: String, _ operation: String) throws -> (rows: Int, columns: Int) {
        guard t.rank == 2 else {
            throw CLTrainError.shapeMismatch(operation: operation, detail: "\(name) must be a matrix, got shape \(t.shape.shapeString)")
        }
        return (t.shape[0], t.shape[1])
    }

    static func sameCount(_ a: Tensor, _ b: Tensor, _ names: (String, String), _ operation: String) throws {
        guard a.count == b.count else {
            throw CLTrainError.shapeMismatch(operation: operation,
                detail: "\(names.0) \(a.shape.shapeString) and \(names.1) \(b.shape.shapeString) differ in element count")
        }
    }

    static func shape(_ t: Tensor, is expected: [Int], _ name: String, _ operation: String) throws {
        guard t.shape == expected else {
            throw CLTrainError.shapeMismatch(operation: operation,
                detail: "\(name) must be \(expected.shapeString), got \(t.shape.shapeString)")
        }
    }

    static func gemm(transposeA: Bool, transposeB: Bool, _ a: Tensor, _ b: Tensor, _ c: Tensor) throws -> GemmDimensions {
        let op = "gemm"
        try float32([a, b, c], op)
        let (ar, ac) = try matrix(a, "A", op)
        let (br, bc) = try matrix(b, "B", op)
        let (cr, cc) = try matrix(c, "C", op)
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (kb, n) = transposeB ? (bc, br) : (br, bc)
        guard k == kb else {
            throw CLTrainError.shapeMismatch(operation: op,
                detail: "op(A) is \(m)×\(k) but op(B) is \(kb)×\(n) (transposeA: \(transposeA), transposeB: \(transposeB))")
        }
        guard cr == m, cc == n else {
            throw CLTrainError.shapeMismatch(operation: op, detail: "C must be \(m)×\(n), got \(cr)×\(cc)")
        }
        return GemmDimensions(m: m, n: n, k: k)
    }

    /// x (R×C) and a vector (C): returns (R, C).
    static func rowsAndVector(_ x: Tensor, _ vector: Tensor, _ names: (String, String), _ operation: String) throws -> (rows: Int, columns: Int) {
        try float32([x, vector], operation)
        let (r, c) = try matrix(x, names.0, operation)
        try shape(vector, is: [c], names.1, operation)
        return (r, c)
    }

    static func softmax(_ x: Tensor, _ y: Tensor) throws -> (rows: Int, columns: Int) {
        try float32([x, y], "softmax")
        let (r, c) = try matrix(x, "x", "softmax")
        try shape(y, is: x.shape, "y", "softmax")
        return (r, c)
    }

    static func softmaxCrossEntropy(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32,
                                    losses: Tensor, gradient: Tensor?) throws -> (rows: Int, columns: Int) {
        let op = "softmaxCrossEntropy"
        let (r, c) = try softmaxShard(logits: logits, targets: targets, rowVectors: [(losses, "losses")], gradient: gradient, op)
        try indices(targets.values, below: c, except: ignoreIndex, op)
        return (r, c)
    }

    /// Shard logits (R×C), targets (R) and per-row vectors (R): returns (R, C). Targets may lie
    /// anywhere: outside 0..<C they belong to another shard.
    static func softmaxShard(logits: Tensor, targets: IndexTensor, rowVectors: [(Tensor, String)],
                             gradient: Tensor?, _ operation: String) throws -> (rows: Int, columns: Int) {
        try float32([logits] + rowVectors.map(\.0) + (gradient.map { [$0] } ?? []), operation)
        let (r, c) = try matrix(logits, "logits", operation)
        guard targets.count == r else {
            throw CLTrainError.shapeMismatch(operation: operation, detail: "\(targets.count) targets for \(r) rows of logits")
        }
        for (t, name) in rowVectors { try shape(t, is: [r], name, operation) }
        if let gradient { try shape(gradient, is: logits.shape, "gradient", operation) }
        return (r, c)
    }

    /// gates (B×4H) and the B×H state tensors: returns (B, H).
    static func lstmCell(gates: Tensor, states: [(Tensor, String)], _ operation: String) throws -> (batch: Int, hidden: Int) {
        try float32([gates] + states.map(\.0), operation)
        let (b, fourH) = try matrix(gates, "gates", operation)
        guard fourH % 4 == 0 else {
            throw CLTrainError.shapeMismatch(operation: operation, detail: "gates must be B×4H, got \(gates.shape.shapeString)")
        }
        for (t, name) in states { try shape(t, is: [b, fourH / 4], name, operation) }
        return (b, fourH / 4)
    }

    static func embedding(table: Tensor, indices: IndexTensor, rows: Tensor, rowsName: String, _ operation: String) throws -> (vocabulary: Int, width: Int) {
        try float32([table, rows], operation)
        let (v, e) = try matrix(table, "table", operation)
        try shape(rows, is: [indices.count, e], rowsName, operation)
        try self.indices(indices.values, below: v, except: nil, operation)
        return (v, e)
    }

    static func indices(_ values: [Int32], below bound: Int, except ignore: Int32?, _ operation: String) throws {
        for (position, value) in values.enumerated() where value != ignore && !(0..<bound).contains(Int(value)) {
            throw CLTrainError.indexOutOfRange(operation: operation, index: Int(value), position: position, bound: bound)
        }
    }

    /// An upload of `count` values into a float32 tensor.
    static func upload(_ count: Int, into tensor: Tensor) throws {
        try float32([tensor], "upload")
        guard count == tensor.count else {
            throw CLTrainError.shapeMismatch(operation: "upload",
                detail: "\(count) values for a tensor of shape \(tensor.shape.shapeString) (\(tensor.count) elements)")
        }
    }

    static func copy(_ source: Tensor, _ destination: Tensor) throws {
        try sameCount(source, destination, ("source", "destination"), "copy")
        guard destination.elementType == source.elementType else {
            throw CLTrainError.wrongElementType(operation: "copy", expected: source.elementType, got: destination.elementType)
        }
    }

    /// lstmCellBackward's operands: returns (B, H).
    static func lstmCellBackward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hiddenGradient: Tensor,
                                 cellGradient: Tensor?, gatesGradient: Tensor,
                                 cellPreviousGradient: Tensor) throws -> (batch: Int, hidden: Int) {
        let op = "lstmCellBackward"
        var states = [(cellPrevious, "cellPrevious"), (cell, "cell"), (hiddenGradient, "hiddenGradient"),
                      (cellPreviousGradient, "cellPreviousGradient")]
        if let cellGradient { states.append((cellGradient, "cellGradient")) }
        let dimensions = try lstmCell(gates: gates, states: states, op)
        try float32([gatesGradient], op)
        try shape(gatesGradient, is: gates.shape, "gatesGradient", op)
        return dimensions
    }

    /// Elementwise operands of one shape (multiply, adamUpdate).
    static func sameShape(_ tensors: [(Tensor, String)], _ operation: String) throws {
        try float32(tensors.map(\.0), operation)
        guard let (first, firstName) = tensors.first else { return }
        for (t, name) in tensors.dropFirst() where t.shape != first.shape {
            throw CLTrainError.shapeMismatch(operation: operation,
                detail: "\(name) is \(t.shape.shapeString) but \(firstName) is \(first.shape.shapeString)")
        }
    }

    /// The element count of `shape`, refusing negative dimensions and counts that overflow.
    static func elementCount(_ shape: [Int], _ operation: String) throws -> Int {
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow else {
                throw CLTrainError.invalidArgument("\(operation): no tensor can have shape \(shape)")
            }
            count = product
        }
        return count
    }

    /// Adam's operands (one shape) and step (≥ 1): returns the bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ.
    static func adam(_ tensors: [(Tensor, String)], beta1: Float, beta2: Float, step: Int) throws -> (Float, Float) {
        try sameShape(tensors, "adamUpdate")
        guard step >= 1 else { throw CLTrainError.invalidArgument("adamUpdate: step must be at least 1, got \(step)") }
        return (1 - pow(beta1, Float(step)), 1 - pow(beta2, Float(step)))
    }

    /// A mask (float32) and its keep probability in (0, 1] with a finite scale.
    static func dropoutMask(_ mask: Tensor, keepProbability: Float, scale: Float) throws {
        try float32([mask], "dropoutMask")
        guard keepProbability > 0, keepProbability <= 1, scale.isFinite else {
            throw CLTrainError.invalidArgument(
                "dropoutMask: keep probability must be in (0, 1] and the scale finite, got \(keepProbability) and \(scale)")
        }
    }

    /// Sizes passed to kernels as 32-bit ints must fit.
    static func fitsKernelInt(_ values: Int..., operation: String) throws {
        for v in values where v > Int(Int32.max) {
            throw CLTrainError.invalidArgument("\(operation): size \(v) exceeds the 32-bit range kernels index with")
        }
    }
}
