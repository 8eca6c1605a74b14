import Foundation

/// The reference backend: plain loops on the host and one BLAS call (`gemm`, through OpenBLAS).
/// Every GPU result is checked against it, so it is written to be read first; the loops over exp,
/// σ and tanh (LSTM cell, softmax) take eight elements at a time with `VectorMath`, whose stated
/// ulp bounds are tested, because with libm's scalar calls they took longer than the gemms.
///
/// Work runs synchronously: `synchronize` has nothing to wait for. The LSTM cell's rows are split
/// over the cores (`RowParallel`) when large, with results bit for bit those of one thread.
/// Shapes are written beside each buffer with the letters of `Backend` (B, H, R, C, V, E, N).
/// The methods here are the unchecked kernels of `KernelBackend`: the operations' checks are the
/// one front every backend shares (`KernelBackend+Checks`).
/// Files: this one (memory, optimizer and elementwise), `+GEMM`, `+Softmax`, `+LSTM`, `+Embedding`,
/// and `VectorMath`.
public final class CPUBackend: KernelBackend {
    public init() {}

    public var name: String { "cpu" }

    // MARK: Memory

    /// Any CPU backend may use any CPU tensor: they all share host memory.
    public func owns(_ tensor: Tensor) -> Bool { tensor.storage is CPUStorage }

    public func makeTensorKernel(shape: [Int], elementType: ElementType, elementCount count: Int) throws -> Tensor {
        let storage = CPUStorage(elementCount: count, elementType: elementType)
        return Tensor(shape: shape, elementType: elementType, storage: storage)
    }

    public func uploadKernel(_ values: [Float], to tensor: Tensor) throws {
        let x = try floats(tensor, "upload")  // (count)
        for (i, value) in values.enumerated() { x[i] = value }
    }

    public func downloadKernel(_ tensor: Tensor) throws -> [Float] {
        let x = try floats(tensor, "download")  // (count)
        return Array(UnsafeBufferPointer(start: x, count: tensor.count))
    }

    /// Straight from this backend's memory into the collective's: one copy, no array between.
    public func readKernel(_ tensor: Tensor, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let x = try floats(tensor, "read")  // (count)
        destination.baseAddress?.update(from: x, count: tensor.count)
    }

    public func writeKernel(_ source: UnsafeMutableBufferPointer<Float>, of buffer: CollectiveBuffer, to tensor: Tensor) throws {
        let x = try floats(tensor, "write")  // (count)
        if let start = source.baseAddress { x.update(from: start, count: tensor.count) }
    }

    public func makeIndices(_ values: [Int32]) throws -> IndexTensor {
        let tensor = try makeTensor(shape: [values.count], elementType: .int32)
        let x = try storage(of: tensor, "makeIndices").int32s(at: tensor.offset)  // (N)
        for (n, value) in values.enumerated() { x[n] = value }
        return IndexTensor(values: values, tensor: tensor)
    }

    public func synchronize() throws {}

    // MARK: Optimizer and elementwise

    public func sgdUpdateKernel(parameter: Tensor, gradient: Tensor, learningRate: Float) throws {
        let op = "sgdUpdate"
        let p = try floats(parameter, op)  // (count)
        let g = try floats(gradient, op)   // (count)
        for i in 0..<parameter.count { p[i] -= learningRate * g[i] }
    }

    public func adamUpdateKernel(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
                                 learningRate: Float, beta1: Float, beta2: Float, epsilon: Float,
                                 biasCorrections: (first: Float, second: Float)) throws {
        let op = "adamUpdate"
        let (correction1, correction2) = biasCorrections
        let p = try floats(parameter, op)     // (count)
        let g = try floats(gradient, op)      // (count)
        let m = try floats(firstMoment, op)   // (count)
        let v = try floats(secondMoment, op)  // (count)
        for i in 0..<parameter.count {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
            p[i] -= learningRate * (m[i] / correction1) / ((v[i] / correction2).squareRoot() + epsilon)
        }
    }

    public func sumOfSquaresKernel(_ tensors: [Tensor]) throws -> Double {
        let op = "sumOfSquares"
        let pointers = try tensors.map { try floats($0, op) }
        var sum = 0.0
        for (tensor, x) in zip(tensors, pointers) {
            // In Double, eight partial sums at a time (a single running sum waits on each add's
            // latency); a fixed order, so the result is deterministic.
            var partials = SIMD8<Double>(repeating: 0)
            VectorMath.forEachVector(tensor.count) { i, n in
                let values = SIMD8<Double>(VectorMath.load(x, i, n))
                partials += values * values
            }
            sum += partials.sum()
        }
        return sum
    }

    public func fillKernel(_ tensor: Tensor, with value: Float) throws {
        let x = try floats(tensor, "fill")  // (count)
        for i in 0..<tensor.count { x[i] = value }
    }

    public func copyKernel(_ source: Tensor, to destination: Tensor) throws {
        let op = "copy"
        let from = try storage(of: source, op)
        let to = try storage(of: destination, op)
        // `update(from:count:)` is a memmove: overlapping views of one allocation are fine.
        switch source.elementType {
        case .float32:
            to.floats(at: destination.offset).update(from: from.floats(at: source.offset), count: source.count)
        case .int32:
            to.int32s(at: destination.offset).update(from: from.int32s(at: source.offset), count: source.count)
        }
    }

    public func scaleKernel(_ tensor: Tensor, by factor: Float) throws {
        let x = try floats(tensor, "scale")  // (count)
        for i in 0..<tensor.count { x[i] *= factor }
    }

    public func axpyKernel(alpha: Float, _ x: Tensor, _ y: Tensor) throws {
        let op = "axpy"
        let xs = try floats(x, op)  // (count)
        let ys = try floats(y, op)  // (count)
        for i in 0..<y.count { ys[i] += alpha * xs[i] }
    }

    public func multiplyKernel(_ x: Tensor, by y: Tensor) throws {
        let op = "multiply"
        let xs = try floats(x, op)  // (count)
        let ys = try floats(y, op)  // (count)
        for i in 0..<x.count { xs[i] *= ys[i] }
    }

    public func dropoutMaskKernel(_ mask: Tensor, keepProbability: Float, scale: Float, generatorState: UInt64) throws {
        let m = try floats(mask, "dropoutMask")  // (count)
        var generator = SplitMix64(seed: generatorState)
        for i in 0..<mask.count { m[i] = generator.unitFloat() < keepProbability ? scale : 0 }
    }

    // MARK: Resolving tensors to host memory
    // Internal rather than private: the `CPUBackend+…` files use them too.

    /// The host allocation behind `tensor`, or `wrongDevice` when another kind of backend owns it
    /// (which the checked front has already refused).
    func storage(of tensor: Tensor, _ operation: String) throws -> CPUStorage {
        guard let storage = tensor.storage as? CPUStorage else {
            throw CLTrainError.wrongDevice(operation: operation, tensorLocation: tensor.location, backend: name)
        }
        return storage
    }

    /// The elements of a float32 `tensor`, starting at its offset. For the kernels, which run
    /// after the checked front has rejected other element types. Kernels read indices from the
    /// validated host copy `IndexTensor.values`, which holds the same numbers as the tensor.
    func floats(_ tensor: Tensor, _ operation: String) throws -> UnsafeMutablePointer<Float> {
        try storage(of: tensor, operation).floats(at: tensor.offset)
    }
}
