/// What a verification case's body works with: the backend it runs on, inputs drawn from the
/// case's own seeded generator, and the outputs it records for comparison.
///
/// A case body runs twice, once on the reference and once on the device, each time with a fresh
/// context seeded from the case's name, so both runs draw identical inputs in the same order.
///
/// In view mode every tensor the context makes is a view two rows into a larger allocation whose
/// other rows hold random values, so kernels see non-zero element offsets. Recording a view as an
/// output downloads the whole allocation, which also catches writes outside the view.
public final class VerificationContext {
    public let backend: Backend
    public let usesViews: Bool
    private var generator: SplitMix64
    private var views: [(view: Tensor, allocation: Tensor)] = []
    private(set) var outputs: [VerificationOutput] = []

    /// Rows of padding before a view (a non-zero offset) and after it (catches overruns).
    private static let rowsBefore = 2, rowsAfter = 1

    init(backend: Backend, seed: String, usesViews: Bool) {
        self.backend = backend
        self.usesViews = usesViews
        generator = SplitMix64(seed: seed)
    }

    // MARK: Inputs

    /// A float32 tensor of `shape` holding `values` (row-major).
    public func tensor(_ shape: [Int], _ values: [Float]) throws -> Tensor {
        guard usesViews, let rows = shape.first else {
            let tensor = try backend.makeTensor(shape: shape, elementType: .float32)
            try backend.upload(values, to: tensor)
            return tensor
        }
        let rowSize = shape.dropFirst().reduce(1, *)
        let allocation = try backend.makeTensor(
            shape: [Self.rowsBefore + rows + Self.rowsAfter] + shape.dropFirst(), elementType: .float32)
        let padded = generator.floats(Self.rowsBefore * rowSize) + values
            + generator.floats(Self.rowsAfter * rowSize)
        try backend.upload(padded, to: allocation)
        let view = try allocation.rows(Self.rowsBefore..<Self.rowsBefore + rows)
        views.append((view, allocation))
        return view
    }

    /// A tensor of values uniform in [−scale, scale).
    public func random(_ shape: [Int], scale: Float = 1) throws -> Tensor {
        try tensor(shape, randomValues(count: shape.reduce(1, *), scale: scale))
    }

    /// A tensor with every element `value` (e.g. NaN, to show an output is not read).
    public func filled(_ shape: [Int], with value: Float) throws -> Tensor {
        try tensor(shape, Array(repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor for an output the operation only writes: all NaN, so an element it fails to write,
    /// or reads before writing, fails the comparison.
    public func writeOnly(_ shape: [Int]) throws -> Tensor {
        try filled(shape, with: .nan)
    }

    /// Host values uniform in [−scale, scale), from the case's generator.
    public func randomValues(count: Int, scale: Float = 1) -> [Float] {
        generator.floats(count, scale: scale)
    }

    /// Host indices uniform in 0..<bound, from the case's generator.
    public func randomIndices(count: Int, below bound: Int) -> [Int32] {
        (0..<count).map { _ in Int32(generator.next() % UInt64(bound)) }
    }

    /// An index tensor holding `values`; in view mode a view into a larger index tensor.
    public func indices(_ values: [Int32]) throws -> IndexTensor {
        guard usesViews else { return try backend.makeIndices(values) }
        let padded = try backend.makeIndices(Array(repeating: 0, count: Self.rowsBefore) + values
                                             + Array(repeating: 0, count: Self.rowsAfter))
        let view = try padded.tensor.rows(Self.rowsBefore..<Self.rowsBefore + values.count)
        return IndexTensor(values: values, tensor: view)
    }

    // MARK: Outputs

    /// Downloads `tensor` (for a view, its whole allocation) to compare it with the reference.
    /// - Parameters:
    ///   - name: names the output in failure messages, e.g. "C" or "cellPreviousGradient".
    ///   - reductionLength: n in the tolerance rule (see `Tolerance`).
    public func output(_ name: String, _ tensor: Tensor, reductionLength: Int) throws {
        let allocation = views.first { $0.view === tensor }?.allocation ?? tensor
        outputs.append(VerificationOutput(name: name, values: try backend.download(allocation),
                                          reductionLength: reductionLength))
    }

    /// Records a host value an operation returned (e.g. the sum of squares).
    public func output(_ name: String, value: Double, reductionLength: Int) {
        outputs.append(VerificationOutput(name: name, values: [Float(value)], reductionLength: reductionLength))
    }
}

/// One recorded output of a case run.
struct VerificationOutput {
    let name: String
    let values: [Float]
    let reductionLength: Int
}
